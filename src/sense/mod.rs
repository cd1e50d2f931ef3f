//! Sensor sources: where readings come from.
//!
//! A [`Source`] yields schema-v1 [`Reading`]s. Backends: the simulator
//! ([`sim`]) and the Sense HAT on I2C (its driver arrives with the hardware
//! issue; until then [`open_hardware`] explains what is missing).

pub mod orientation;
pub mod sim;

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
    #[error("{} is present, but this build of iotpipe has no Sense HAT driver yet", .path.display())]
    NoDriver { path: PathBuf },
}

impl SenseError {
    pub fn hint(&self) -> String {
        match self {
            SenseError::NoBus { .. } => "on a Pi, enable I2C with `sudo raspi-config nonint do_i2c 0` (or add \
                `dtparam=i2c_arm=on` to /boot/firmware/config.txt) and reboot; elsewhere, use --sim for \
                simulated readings"
                .into(),
            SenseError::NoDriver { .. } => {
                "use --sim for simulated readings until the Sense HAT driver lands".into()
            }
        }
    }
}

/// The I2C device node for a bus number.
pub fn bus_path(bus: u8) -> PathBuf {
    PathBuf::from(format!("/dev/i2c-{bus}"))
}

/// Opens the Sense HAT on `bus`, or explains why it cannot be used.
pub fn open_hardware(bus: u8) -> Result<Box<dyn Source>, SenseError> {
    let path = bus_path(bus);
    Err(if path.exists() {
        SenseError::NoDriver { path }
    } else {
        SenseError::NoBus { path }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_bus_says_how_to_enable_i2c_and_offers_sim() {
        let err = open_hardware(250).err().unwrap();
        assert!(
            err.to_string().contains("/dev/i2c-250 does not exist"),
            "{err}"
        );
        let hint = err.hint();
        assert!(
            hint.contains("raspi-config") && hint.contains("--sim"),
            "{hint}"
        );
    }
}
