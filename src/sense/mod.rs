//! Sensor sources: where readings come from.
//!
//! A [`Source`] yields schema-v1 [`Reading`]s. Backends: the Sense HAT on I2C
//! ([`hat`], drivers in [`chips`] over a [`bus::RegisterBus`]), the simulator
//! ([`sim`]) and recorded JSON lines ([`replay`]).

pub mod bus;
pub mod chips;
pub mod hat;
pub mod orientation;
pub mod replay;
pub mod sim;

use std::io;
use std::path::PathBuf;

use crate::payload::Reading;

/// Something that produces readings, one per call.
pub trait Source: Send {
    fn next_reading(&mut self) -> Result<Reading, SenseError>;
}

#[derive(Debug, thiserror::Error)]
pub enum SenseError {
    #[error("no Sense HAT: {} does not exist (I2C is not enabled, or this is not a Raspberry Pi)", .path.display())]
    NoBus { path: PathBuf },
    #[error("permission denied opening {}", .path.display())]
    Permission { path: PathBuf },
    #[error("{chip} at 0x{address:02X} is busy: a kernel driver has bound it")]
    Busy { chip: &'static str, address: u8 },
    #[error("0x{address:02X} answered WHO_AM_I 0x{actual:02X}, not the {chip}'s 0x{expected:02X}")]
    WhoAmI {
        chip: &'static str,
        address: u8,
        expected: u8,
        actual: u8,
    },
    #[error("I/O error reading the {chip} (failed twice): {source}")]
    Io {
        chip: &'static str,
        source: io::Error,
    },
    #[error("no Sense HAT chip answered on the I2C bus")]
    NoSensors,
    #[error("cannot read the CPU temperature from {}: {reason}", .path.display())]
    CpuTemperature { path: PathBuf, reason: String },
    #[error("cannot open {}: {source}", .path.display())]
    Open { path: PathBuf, source: io::Error },
    #[error("{}:{line}: {reason}", .path.display())]
    Replay {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("reading {seq} would be dated after 9999-12-31, the last time a reading can carry")]
    ClockOverflow { seq: u64 },
}

impl crate::error::Diagnose for SenseError {
    fn hint(&self) -> Option<String> {
        Some(match self {
            SenseError::NoBus { .. } => "on a Pi, enable I2C with `sudo raspi-config nonint do_i2c 0` (or add \
                `dtparam=i2c_arm=on` to /boot/firmware/config.txt) and reboot; elsewhere, use --sim for \
                simulated readings"
                .into(),
            SenseError::Permission { .. } => {
                "add the user to group i2c (`sudo usermod -aG i2c $USER`) and log in again".into()
            }
            SenseError::Busy { .. } => "recent kernels bind their own HTS221/LPS25H drivers to the Sense HAT \
                (raspberrypi/linux issue 6781); unbind them with `printf 'blacklist hts221_i2c\\nblacklist \
                st_pressure_i2c\\n' | sudo tee /etc/modprobe.d/iotpipe-sense.conf` and reboot, or read the \
                kernel's values from /sys/bus/iio/devices/iio:device*/ instead"
                .into(),
            SenseError::WhoAmI { .. } => "this board carries another chip there (a clone or a newer revision); \
                `iotpipe sense --probe` shows what answered at each address"
                .into(),
            SenseError::Io { .. } => "check that the HAT sits firmly on the GPIO header; `iotpipe sense --probe` \
                shows which chips answer"
                .into(),
            SenseError::NoSensors => "is the HAT fitted? `iotpipe sense --probe` shows each address; without \
                hardware use --sim"
                .into(),
            SenseError::CpuTemperature { .. } => {
                "unset sense.cpu_heat_factor (or --cpu-heat-factor) to read without the correction".into()
            }
            SenseError::Open { .. } => "check the path given to --replay".into(),
            SenseError::Replay { .. } => "--replay takes JSON lines of schema v1 (docs/payload.md), as \
                `iotpipe sense --sim -o jsonl` writes them"
                .into(),
            SenseError::ClockOverflow { .. } => {
                "give --start an earlier time, or fewer readings (--count)".into()
            }
        })
    }
}

/// Rounds to the sensors' resolution, which keeps payloads short.
pub fn round(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

/// Fills the IMU fields (accel in g, gyro in dps, magnetometer in µT), and
/// the orientation when the magnetometer is there.
pub fn fill_imu(reading: &mut Reading, accel: [f64; 3], gyro: [f64; 3], mag: Option<[f64; 3]>) {
    [reading.accel_x_g, reading.accel_y_g, reading.accel_z_g] = accel.map(|v| Some(round(v, 4)));
    [reading.gyro_x_dps, reading.gyro_y_dps, reading.gyro_z_dps] = gyro.map(|v| Some(round(v, 3)));
    if let Some(mag) = mag {
        [reading.mag_x_ut, reading.mag_y_ut, reading.mag_z_ut] = mag.map(|v| Some(round(v, 2)));
        let o = orientation::from_accel_mag(accel, mag);
        reading.pitch_deg = Some(round(o.pitch_deg, 2));
        reading.roll_deg = Some(round(o.roll_deg, 2));
        reading.yaw_deg = Some(round(o.yaw_deg, 2));
    }
}

/// The I2C device node for a bus number.
pub fn bus_path(bus: u8) -> PathBuf {
    PathBuf::from(format!("/dev/i2c-{bus}"))
}

/// Opens the I2C bus, explaining why it cannot be used.
pub fn open_bus(bus: u8) -> Result<bus::I2cBus, SenseError> {
    let path = bus_path(bus);
    if !path.exists() {
        return Err(SenseError::NoBus { path });
    }
    bus::I2cBus::open(bus).map_err(|e| open_error(path, e))
}

fn open_error(path: PathBuf, e: io::Error) -> SenseError {
    match e.kind() {
        io::ErrorKind::NotFound => SenseError::NoBus { path },
        io::ErrorKind::PermissionDenied => SenseError::Permission { path },
        _ => SenseError::Open { path, source: e },
    }
}

/// Opens the Sense HAT on `bus`.
pub fn open_hardware(bus: u8, options: hat::HatOptions) -> Result<hat::SenseHat, SenseError> {
    hat::SenseHat::open(Box::new(open_bus(bus)?), options)
}

#[cfg(test)]
pub(crate) mod tests;
