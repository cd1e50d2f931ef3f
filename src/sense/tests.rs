//! The drivers against a fake register bus whose maps follow the datasheets;
//! every expected value is computed here from the datasheet formula.

use crate::error::Diagnose;
use std::io;
use std::time::Duration;

use super::bus::FakeBus;
use super::chips::{HTS221, LPS25H, LSM9DS1_AG, LSM9DS1_M};
use super::hat::{CpuHeat, HatOptions, SenseHat, probe};
use super::{SenseError, Source};

fn le(v: i16) -> [u8; 2] {
    v.to_le_bytes()
}

/// A full Sense HAT: HTS221 with calibration whose T0/T1 use the msb bits in 0x35.
pub(crate) fn board() -> FakeBus {
    let mut bus = FakeBus::default();
    bus.set(HTS221.address, 0x0F, &[0xBC]);
    let mut cal = [0u8; 16];
    cal[0x00] = 40; // H0_rH_x2: 20 %rH
    cal[0x01] = 140; // H1_rH_x2: 70 %rH
    cal[0x02] = 0x00; // T0_degC_x8 lsb
    cal[0x03] = 0x80; // T1_degC_x8 lsb
    cal[0x05] = 0b0101; // T1 msb = 01, T0 msb = 01: T0_x8 = 256, T1_x8 = 384
    cal[0x06..0x08].copy_from_slice(&le(-2000)); // H0_T0_OUT
    cal[0x0A..0x0C].copy_from_slice(&le(6000)); // H1_T0_OUT
    cal[0x0C..0x0E].copy_from_slice(&le(300)); // T0_OUT
    cal[0x0E..0x10].copy_from_slice(&le(1900)); // T1_OUT
    bus.set(HTS221.address, 0x30, &cal);
    let mut out = Vec::new();
    out.extend(le(2000)); // HUMIDITY_OUT
    out.extend(le(1100)); // TEMP_OUT
    bus.set(HTS221.address, 0x28, &out);

    bus.set(LPS25H.address, 0x0F, &[0xBD]);
    bus.set(LPS25H.address, 0x28, &[0x00, 0x80, 0x3F]); // PRESS_OUT = 0x3F8000
    bus.set(LPS25H.address, 0x2B, &le(-4800)); // TEMP_OUT

    bus.set(LSM9DS1_AG.address, 0x0F, &[0x68]);
    let axes = |x: i16, y: i16, z: i16| [le(x), le(y), le(z)].concat();
    bus.set(LSM9DS1_AG.address, 0x18, &axes(100, 200, 300)); // gyro
    bus.set(LSM9DS1_AG.address, 0x28, &axes(1000, -2000, 4096)); // accel
    bus.set(LSM9DS1_M.address, 0x0F, &[0x3D]);
    bus.set(LSM9DS1_M.address, 0x28, &axes(1000, 2000, -3000));
    bus
}

fn open(bus: FakeBus) -> Result<SenseHat, SenseError> {
    open_with(bus, None)
}

fn open_with(bus: FakeBus, cpu_heat: Option<CpuHeat>) -> Result<SenseHat, SenseError> {
    SenseHat::open(
        Box::new(bus),
        HatOptions {
            device_id: "pi".into(),
            cpu_heat,
            reboot_wait: Duration::ZERO,
        },
    )
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 0.011
}

#[test]
fn converts_every_sensor_by_the_datasheet_formulas() {
    let reading = open(board()).unwrap().next_reading().unwrap();
    // HTS221: linear interpolation between the calibration points.
    let (h0, h1, h0_out, h1_out) = (20.0, 70.0, -2000.0, 6000.0);
    let humidity: f64 = h0 + (2000.0 - h0_out) * (h1 - h0) / (h1_out - h0_out);
    let (t0, t1) = (f64::from(1 << 8) / 8.0, f64::from((1 << 8) | 0x80) / 8.0);
    let temperature = t0 + (1100.0 - 300.0) * (t1 - t0) / (1900.0 - 300.0);
    assert!(
        close(reading.humidity_pct.unwrap(), humidity),
        "{reading:?}"
    );
    assert!(
        close(reading.temperature_c.unwrap(), temperature),
        "{reading:?}"
    );
    assert_eq!((temperature, humidity), (40.0, 45.0));
    // LPS25H: pressure /4096, temperature 42.5 + raw/480.
    assert!(close(
        reading.pressure_hpa.unwrap(),
        f64::from(0x3F8000) / 4096.0
    ));
    assert!(close(
        reading.temperature_from_pressure_c.unwrap(),
        42.5 + (-4800.0) / 480.0
    ));
    // LSM9DS1: scales, and X/Y accel, Z gyro, X/Z mag negated.
    assert!(close(reading.accel_x_g.unwrap(), -1000.0 * 0.000244));
    assert!(close(reading.accel_y_g.unwrap(), 2000.0 * 0.000244));
    assert!(close(reading.accel_z_g.unwrap(), 4096.0 * 0.000244));
    assert!(close(reading.gyro_x_dps.unwrap(), 100.0 * 0.0175));
    assert!(close(reading.gyro_z_dps.unwrap(), -300.0 * 0.0175));
    assert!(close(reading.mag_x_ut.unwrap(), -1000.0 * 0.014));
    assert!(close(reading.mag_y_ut.unwrap(), 2000.0 * 0.014));
    assert!(close(reading.mag_z_ut.unwrap(), 3000.0 * 0.014));
    assert!(reading.pitch_deg.is_some() && reading.yaw_deg.is_some());
    reading.validate().unwrap();
}

#[test]
fn init_sequences_are_written() {
    let mut recorder = board();
    super::chips::hts221_init(&mut recorder).unwrap();
    super::chips::lps25h_init(&mut recorder).unwrap();
    assert_eq!(
        recorder.writes,
        [
            (0x5F, 0x20, 0x87),
            (0x5F, 0x10, 0x1B),
            (0x5C, 0x20, 0xC4),
            (0x5C, 0x10, 0x05),
            (0x5C, 0x2E, 0xC0),
            (0x5C, 0x21, 0x40)
        ]
    );
}

#[test]
fn humidity_is_clamped() {
    let mut bus = board();
    bus.set(HTS221.address, 0x28, &le(30_000));
    assert_eq!(
        open(bus).unwrap().next_reading().unwrap().humidity_pct,
        Some(100.0)
    );
}

#[test]
fn absent_sensors_are_left_out() {
    let mut bus = FakeBus::default();
    let full = board();
    for ((address, register), value) in &full.registers {
        if *address == HTS221.address {
            bus.registers.insert((*address, *register), *value);
        }
    }
    let reading = open(bus).unwrap().next_reading().unwrap();
    let json = reading.to_json();
    assert!(
        json.contains("humidity_pct") && !json.contains("pressure") && !json.contains("accel"),
        "{json}"
    );
}

#[test]
fn an_lps22hb_is_reported_not_misread() {
    let mut bus = board();
    bus.set(LPS25H.address, 0x0F, &[0xB1]);
    let rows = probe(&mut bus.clone());
    assert!(rows[1].status.contains("LPS22HB"), "{rows:?}");
    assert_eq!(rows[1].actual, "0xB1");
    let reading = open(bus).unwrap().next_reading().unwrap();
    assert!(reading.pressure_hpa.is_none() && reading.humidity_pct.is_some());
}

#[test]
fn each_error_path_says_what_is_wrong() {
    let mut busy = board();
    busy.failing
        .insert(HTS221.address, io::ErrorKind::ResourceBusy);
    let err = open(busy).err().unwrap();
    assert!(err.to_string().contains("HTS221 at 0x5F is busy"), "{err}");
    assert!(
        err.hint().unwrap_or_default().contains("6781")
            && err.hint().unwrap_or_default().contains("iio"),
        "{}",
        err.hint().unwrap_or_default()
    );

    let mut wrong = board();
    wrong.set(HTS221.address, 0x0F, &[0x33]);
    let err = open(wrong).err().unwrap();
    assert!(
        err.to_string()
            .contains("0x5F answered WHO_AM_I 0x33, not the HTS221's 0xBC"),
        "{err}"
    );

    let err = open(FakeBus::default()).err().unwrap();
    assert!(matches!(err, SenseError::NoSensors), "{err}");

    let denied = super::open_error(
        "/dev/i2c-1".into(),
        io::Error::from(io::ErrorKind::PermissionDenied),
    );
    assert!(
        denied.hint().unwrap_or_default().contains("group i2c"),
        "{}",
        denied.hint().unwrap_or_default()
    );
    let missing = super::open_bus(250).err().unwrap();
    assert!(
        missing.to_string().contains("/dev/i2c-250 does not exist"),
        "{missing}"
    );
    assert!(
        missing.hint().unwrap_or_default().contains("raspi-config")
            && missing.hint().unwrap_or_default().contains("--sim")
    );
}

#[test]
fn io_errors_mid_read_are_retried_once_then_reported() {
    // One glitch on the pressure registers: retried, and the reading is whole.
    let mut once = board();
    once.flaky_reads.insert((LPS25H.address, 0x28), 1);
    let reading = open(once).unwrap().next_reading().unwrap();
    assert!(reading.pressure_hpa.is_some());
    // Two in a row: reported, naming the chip.
    let mut twice = board();
    twice.flaky_reads.insert((LPS25H.address, 0x28), 2);
    let err = open(twice).unwrap().next_reading().unwrap_err();
    assert!(
        matches!(err, SenseError::Io { chip: "LPS25H", .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("failed twice")
            && err.hint().unwrap_or_default().contains("GPIO header"),
        "{err}"
    );
}

#[test]
fn cpu_heat_correction_is_opt_in_and_keeps_the_raw_value() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("temp");
    std::fs::write(&path, "60000\n").unwrap();
    let heat = CpuHeat { factor: 2.0, path };
    let reading = open_with(board(), Some(heat))
        .unwrap()
        .next_reading()
        .unwrap();
    // 40 - (60 - 40) / 2
    assert_eq!(reading.temperature_c, Some(30.0));
    assert_eq!(reading.temperature_raw_c, Some(40.0));
    assert_eq!(
        open(board())
            .unwrap()
            .next_reading()
            .unwrap()
            .temperature_raw_c,
        None
    );
}
