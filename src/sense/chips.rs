//! The Sense HAT's chips: HTS221 (humidity, temperature), LPS25H (pressure,
//! temperature) and LSM9DS1 (accelerometer, gyroscope, magnetometer). Register
//! facts: docs/raspberry-pi.md and the ST datasheets.

use std::time::Duration;

use serde::Serialize;

use super::bus::RegisterBus;

/// Auto-increment flag for multi-byte reads (HTS221, LPS25H, LSM9DS1 magnetometer).
const AUTO_INCREMENT: u8 = 0x80;
const WHO_AM_I: u8 = 0x0F;

/// One chip the HAT may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Chip {
    pub name: &'static str,
    pub address: u8,
    pub expected_id: u8,
}

pub const HTS221: Chip = Chip {
    name: "HTS221",
    address: 0x5F,
    expected_id: 0xBC,
};
pub const LPS25H: Chip = Chip {
    name: "LPS25H",
    address: 0x5C,
    expected_id: 0xBD,
};
pub const LSM9DS1_AG: Chip = Chip {
    name: "LSM9DS1 accel/gyro",
    address: 0x6A,
    expected_id: 0x68,
};
pub const LSM9DS1_M: Chip = Chip {
    name: "LSM9DS1 magnetometer",
    address: 0x1C,
    expected_id: 0x3D,
};
pub const ALL: [Chip; 4] = [HTS221, LPS25H, LSM9DS1_AG, LSM9DS1_M];
/// What an LPS22HB (v2 boards, clones) answers at 0x5C: another register map.
pub const LPS22HB_ID: u8 = 0xB1;

fn i16_le(bytes: &[u8]) -> i16 {
    i16::from_le_bytes([bytes[0], bytes[1]])
}

pub fn who_am_i(bus: &mut dyn RegisterBus, chip: Chip) -> std::io::Result<u8> {
    let mut id = [0u8];
    bus.read(chip.address, WHO_AM_I, &mut id)?;
    Ok(id[0])
}

/// HTS221 calibration, decoded from registers 0x30..0x3F.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Hts221Calibration {
    pub h0_rh: f64,
    pub h1_rh: f64,
    pub t0_degc: f64,
    pub t1_degc: f64,
    pub h0_t0_out: i16,
    pub h1_t0_out: i16,
    pub t0_out: i16,
    pub t1_out: i16,
}

impl Hts221Calibration {
    pub fn decode(c: &[u8; 16]) -> Hts221Calibration {
        // T0/T1 are 10-bit: the two msb of each sit in 0x35.
        let t0_x8 = (u16::from(c[0x05] & 0x03) << 8) | u16::from(c[0x02]);
        let t1_x8 = (u16::from(c[0x05] & 0x0C) << 6) | u16::from(c[0x03]);
        Hts221Calibration {
            h0_rh: f64::from(c[0x00]) / 2.0,
            h1_rh: f64::from(c[0x01]) / 2.0,
            t0_degc: f64::from(t0_x8) / 8.0,
            t1_degc: f64::from(t1_x8) / 8.0,
            h0_t0_out: i16_le(&c[0x06..]),
            h1_t0_out: i16_le(&c[0x0A..]),
            t0_out: i16_le(&c[0x0C..]),
            t1_out: i16_le(&c[0x0E..]),
        }
    }

    /// Linear interpolation between the two calibration points, humidity clamped.
    pub fn convert(&self, h_out: i16, t_out: i16) -> (f64, f64) {
        let lerp = |out: i16, x0: i16, x1: i16, y0: f64, y1: f64| {
            let span = f64::from(x1) - f64::from(x0);
            if span == 0.0 {
                y0
            } else {
                y0 + (f64::from(out) - f64::from(x0)) * (y1 - y0) / span
            }
        };
        let humidity = lerp(
            h_out,
            self.h0_t0_out,
            self.h1_t0_out,
            self.h0_rh,
            self.h1_rh,
        )
        .clamp(0.0, 100.0);
        let temperature = lerp(t_out, self.t0_out, self.t1_out, self.t0_degc, self.t1_degc);
        (humidity, temperature)
    }
}

pub fn hts221_init(bus: &mut dyn RegisterBus) -> std::io::Result<Hts221Calibration> {
    bus.write(HTS221.address, 0x20, 0x87)?; // power on, BDU, 12.5 Hz
    bus.write(HTS221.address, 0x10, 0x1B)?; // averaging
    let mut calibration = [0u8; 16];
    bus.read(HTS221.address, 0x30 | AUTO_INCREMENT, &mut calibration)?;
    Ok(Hts221Calibration::decode(&calibration))
}

/// Raw HUMIDITY_OUT and TEMP_OUT.
pub fn hts221_read(bus: &mut dyn RegisterBus) -> std::io::Result<(i16, i16)> {
    let mut out = [0u8; 4];
    bus.read(HTS221.address, 0x28 | AUTO_INCREMENT, &mut out)?;
    Ok((i16_le(&out[0..]), i16_le(&out[2..])))
}

pub fn lps25h_init(bus: &mut dyn RegisterBus) -> std::io::Result<()> {
    bus.write(LPS25H.address, 0x20, 0xC4)?; // power on, 25 Hz, BDU
    bus.write(LPS25H.address, 0x10, 0x05)?; // resolution
    bus.write(LPS25H.address, 0x2E, 0xC0)?; // FIFO mean mode
    bus.write(LPS25H.address, 0x21, 0x40) // FIFO enable
}

/// Raw 24-bit pressure and 16-bit temperature.
pub fn lps25h_read(bus: &mut dyn RegisterBus) -> std::io::Result<(u32, i16)> {
    let mut out = [0u8; 5];
    bus.read(LPS25H.address, 0x28 | AUTO_INCREMENT, &mut out)?;
    let pressure = u32::from(out[0]) | u32::from(out[1]) << 8 | u32::from(out[2]) << 16;
    Ok((pressure, i16_le(&out[3..])))
}

pub fn lps25h_convert(pressure_raw: u32, temperature_raw: i16) -> (f64, f64) {
    (
        f64::from(pressure_raw) / 4096.0,
        42.5 + f64::from(temperature_raw) / 480.0,
    )
}

pub fn lsm9ds1_init(bus: &mut dyn RegisterBus, reboot_wait: Duration) -> std::io::Result<()> {
    bus.write(LSM9DS1_AG.address, 0x22, 0x80)?; // reboot
    std::thread::sleep(reboot_wait);
    bus.write(LSM9DS1_AG.address, 0x10, 0x69)?; // gyro 119 Hz, 500 dps
    bus.write(LSM9DS1_AG.address, 0x12, 0x44)?;
    bus.write(LSM9DS1_AG.address, 0x20, 0x7B)?; // accel 119 Hz, ±8 g
    bus.write(LSM9DS1_AG.address, 0x21, 0x00)?;
    // CTRL_REG8 is back to its default after the reboot: IF_ADD_INC on.
    bus.write(LSM9DS1_M.address, 0x20, 0x14)?;
    bus.write(LSM9DS1_M.address, 0x21, 0x00)?; // ±4 gauss
    bus.write(LSM9DS1_M.address, 0x22, 0x00) // continuous
}

/// Raw accelerometer and gyroscope axes (x, y, z).
pub fn lsm9ds1_read_ag(bus: &mut dyn RegisterBus) -> std::io::Result<([i16; 3], [i16; 3])> {
    let (mut gyro, mut accel) = ([0u8; 6], [0u8; 6]);
    bus.read(LSM9DS1_AG.address, 0x18, &mut gyro)?;
    bus.read(LSM9DS1_AG.address, 0x28, &mut accel)?;
    let axes = |b: &[u8; 6]| [i16_le(&b[0..]), i16_le(&b[2..]), i16_le(&b[4..])];
    Ok((axes(&accel), axes(&gyro)))
}

pub fn lsm9ds1_read_mag(bus: &mut dyn RegisterBus) -> std::io::Result<[i16; 3]> {
    let mut mag = [0u8; 6];
    bus.read(LSM9DS1_M.address, 0x28 | AUTO_INCREMENT, &mut mag)?;
    Ok([i16_le(&mag[0..]), i16_le(&mag[2..]), i16_le(&mag[4..])])
}

/// Scales and axis conventions of RTIMULib on the Sense HAT: accel ±8 g at
/// 0.244 mg/LSB with X and Y negated; gyro ±500 dps at 17.5 mdps/LSB with Z
/// negated; magnetometer ±4 gauss at 0.14 mgauss/LSB (0.014 µT) with X and Z negated.
pub fn lsm9ds1_convert(
    accel: [i16; 3],
    gyro: [i16; 3],
    mag: Option<[i16; 3]>,
) -> ([f64; 3], [f64; 3], Option<[f64; 3]>) {
    let a = |v: i16| f64::from(v) * 0.000_244;
    let g = |v: i16| f64::from(v) * 0.0175;
    let m = |v: i16| f64::from(v) * 0.014;
    (
        [-a(accel[0]), -a(accel[1]), a(accel[2])],
        [g(gyro[0]), g(gyro[1]), -g(gyro[2])],
        mag.map(|mag| [-m(mag[0]), m(mag[1]), -m(mag[2])]),
    )
}
