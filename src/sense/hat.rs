//! The Sense HAT as a [`Source`]: probes each chip by WHO_AM_I, initializes
//! those found, and turns their registers into schema-v1 readings. Absent
//! sensors are left out of readings, never written as zeros.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use time::OffsetDateTime;

use super::bus::RegisterBus;
use super::chips::{self, Chip, Hts221Calibration};
use super::{SenseError, Source, round};
use crate::payload::{self, Reading};

/// One row of `iotpipe sense --probe`.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeRow {
    pub address: String,
    pub chip: &'static str,
    pub expected: String,
    pub actual: String,
    pub status: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    Yes,
    Absent,
    /// An LPS22HB where an LPS25H belongs: another register map, not read.
    Lps22hb,
}

/// Asks each chip for its id. `Err` only for what makes the bus unusable (busy).
fn identify(bus: &mut dyn RegisterBus, chip: Chip) -> Result<(Found, Option<u8>), SenseError> {
    match chips::who_am_i(bus, chip) {
        Ok(id) if id == chip.expected_id => Ok((Found::Yes, Some(id))),
        Ok(id) if chip == chips::LPS25H && id == chips::LPS22HB_ID => {
            Ok((Found::Lps22hb, Some(id)))
        }
        Ok(id) => Err(SenseError::WhoAmI {
            chip: chip.name,
            address: chip.address,
            expected: chip.expected_id,
            actual: id,
        }),
        Err(e) if e.kind() == io::ErrorKind::ResourceBusy => Err(SenseError::Busy {
            chip: chip.name,
            address: chip.address,
        }),
        // No acknowledgement: nothing at that address.
        Err(_) => Ok((Found::Absent, None)),
    }
}

/// The probe table: one row per chip, never failing.
pub fn probe(bus: &mut dyn RegisterBus) -> Vec<ProbeRow> {
    chips::ALL
        .iter()
        .map(|chip| {
            let (status, actual) = match identify(bus, *chip) {
                Ok((Found::Yes, id)) => ("found".to_string(), id),
                Ok((Found::Lps22hb, id)) => (
                    "LPS22HB found: not supported yet, pressure left out".to_string(),
                    id,
                ),
                Ok((Found::Absent, _)) => ("absent".to_string(), None),
                Err(SenseError::WhoAmI { actual, .. }) => {
                    ("unexpected id: another chip".to_string(), Some(actual))
                }
                Err(e) => (e.to_string(), None),
            };
            ProbeRow {
                address: format!("0x{:02X}", chip.address),
                chip: chip.name,
                expected: format!("0x{:02X}", chip.expected_id),
                actual: actual.map_or_else(|| "-".into(), |id| format!("0x{id:02X}")),
                status,
            }
        })
        .collect()
}

/// Opt-in CPU-heat correction: `t - (t_cpu - t) / factor`.
#[derive(Debug, Clone)]
pub struct CpuHeat {
    pub factor: f64,
    /// Millidegrees Celsius, as `/sys/class/thermal/thermal_zone0/temp` gives them.
    pub path: PathBuf,
}

impl CpuHeat {
    pub fn new(factor: f64) -> CpuHeat {
        CpuHeat {
            factor,
            path: PathBuf::from("/sys/class/thermal/thermal_zone0/temp"),
        }
    }

    fn correct(&self, t: f64) -> Result<f64, SenseError> {
        let text =
            std::fs::read_to_string(&self.path).map_err(|source| SenseError::CpuTemperature {
                path: self.path.clone(),
                reason: source.to_string(),
            })?;
        let milli: f64 = text
            .trim()
            .parse()
            .map_err(|_| SenseError::CpuTemperature {
                path: self.path.clone(),
                reason: format!("{:?} is not a number", text.trim()),
            })?;
        Ok(t - (milli / 1000.0 - t) / self.factor)
    }
}

/// Registers and calibration behind the last reading (`sense --raw`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct RawSample {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hts221: Option<RawHts221>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lps25h: Option<RawLps25h>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lsm9ds1: Option<RawLsm9ds1>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_temperature_c: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RawHts221 {
    pub humidity_out: i16,
    pub temp_out: i16,
    pub calibration: Hts221Calibration,
}

#[derive(Debug, Clone, Serialize)]
pub struct RawLps25h {
    pub press_out: u32,
    pub temp_out: i16,
}

#[derive(Debug, Clone, Serialize)]
pub struct RawLsm9ds1 {
    pub accel: [i16; 3],
    pub gyro: [i16; 3],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mag: Option<[i16; 3]>,
}

pub struct SenseHat {
    bus: Box<dyn RegisterBus>,
    hts221: Option<Hts221Calibration>,
    lps25h: bool,
    accel_gyro: bool,
    magnetometer: bool,
    cpu_heat: Option<CpuHeat>,
    device_id: String,
    run_id: String,
    seq: u64,
    pub last_raw: RawSample,
}

/// Options of [`SenseHat::open`].
pub struct HatOptions {
    pub device_id: String,
    pub cpu_heat: Option<CpuHeat>,
    /// The LSM9DS1 needs 100 ms after its reboot; tests pass zero.
    pub reboot_wait: Duration,
}

impl HatOptions {
    pub fn from_config(config: &crate::config::Config) -> HatOptions {
        HatOptions {
            device_id: config.device_id.clone(),
            cpu_heat: config.sense.cpu_heat_factor.map(CpuHeat::new),
            reboot_wait: Duration::from_millis(100),
        }
    }
}

/// Runs `op`, once more after an I/O error (a glitch on the bus), then reports.
fn retry<T>(chip: &'static str, mut op: impl FnMut() -> io::Result<T>) -> Result<T, SenseError> {
    op().or_else(|_| op())
        .map_err(|source| SenseError::Io { chip, source })
}

impl SenseHat {
    /// Probes, then initializes every chip found. Fails when none is.
    pub fn open(
        mut bus: Box<dyn RegisterBus>,
        options: HatOptions,
    ) -> Result<SenseHat, SenseError> {
        let mut found = Vec::new();
        for chip in chips::ALL {
            let (state, _) = identify(&mut *bus, chip)?;
            if state == Found::Lps22hb {
                tracing::warn!(
                    "0x5C holds an LPS22HB, not an LPS25H: pressure is left out (not supported yet)"
                );
            }
            found.push(state == Found::Yes);
        }
        if !found.iter().any(|f| *f) {
            return Err(SenseError::NoSensors);
        }
        let hts221 = if found[0] {
            Some(retry(chips::HTS221.name, || chips::hts221_init(&mut *bus))?)
        } else {
            None
        };
        if found[1] {
            retry(chips::LPS25H.name, || chips::lps25h_init(&mut *bus))?;
        }
        if found[2] {
            retry(chips::LSM9DS1_AG.name, || {
                chips::lsm9ds1_init(&mut *bus, options.reboot_wait)
            })?;
        }
        Ok(SenseHat {
            bus,
            hts221,
            lps25h: found[1],
            accel_gyro: found[2],
            magnetometer: found[3] && found[2],
            cpu_heat: options.cpu_heat,
            device_id: options.device_id,
            run_id: payload::new_run_id(),
            seq: 0,
            last_raw: RawSample::default(),
        })
    }
}

impl Source for SenseHat {
    fn next_reading(&mut self) -> Result<Reading, SenseError> {
        let bus = &mut *self.bus;
        let mut raw = RawSample::default();
        let mut reading = Reading::empty(
            &self.device_id,
            &self.run_id,
            self.seq,
            OffsetDateTime::now_utc(),
        );
        if let Some(calibration) = self.hts221 {
            let (h_out, t_out) = retry(chips::HTS221.name, || chips::hts221_read(bus))?;
            let (humidity, temperature) = calibration.convert(h_out, t_out);
            reading.humidity_pct = Some(round(humidity, 2));
            match &self.cpu_heat {
                Some(heat) => {
                    reading.temperature_raw_c = Some(round(temperature, 2));
                    reading.temperature_c = Some(round(heat.correct(temperature)?, 2));
                    raw.cpu_temperature_c = std::fs::read_to_string(&heat.path)
                        .ok()
                        .and_then(|t| t.trim().parse::<f64>().ok())
                        .map(|m| m / 1000.0);
                }
                None => reading.temperature_c = Some(round(temperature, 2)),
            }
            raw.hts221 = Some(RawHts221 {
                humidity_out: h_out,
                temp_out: t_out,
                calibration,
            });
        }
        if self.lps25h {
            let (p_out, t_out) = retry(chips::LPS25H.name, || chips::lps25h_read(bus))?;
            let (pressure, temperature) = chips::lps25h_convert(p_out, t_out);
            reading.pressure_hpa = Some(round(pressure, 2));
            reading.temperature_from_pressure_c = Some(round(temperature, 2));
            raw.lps25h = Some(RawLps25h {
                press_out: p_out,
                temp_out: t_out,
            });
        }
        if self.accel_gyro {
            let (accel_raw, gyro_raw) =
                retry(chips::LSM9DS1_AG.name, || chips::lsm9ds1_read_ag(bus))?;
            let mag_raw = if self.magnetometer {
                Some(retry(chips::LSM9DS1_M.name, || {
                    chips::lsm9ds1_read_mag(bus)
                })?)
            } else {
                None
            };
            let (accel, gyro, mag) = chips::lsm9ds1_convert(accel_raw, gyro_raw, mag_raw);
            super::fill_imu(&mut reading, accel, gyro, mag);
            raw.lsm9ds1 = Some(RawLsm9ds1 {
                accel: accel_raw,
                gyro: gyro_raw,
                mag: mag_raw,
            });
        }
        self.last_raw = raw;
        self.seq += 1;
        Ok(reading)
    }
}
