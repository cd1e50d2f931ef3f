//! Sensor sources: where readings come from.
//!
//! A [`Source`] yields schema-v1 [`Reading`]s. Backends: the simulator
//! ([`sim`]) and the Sense HAT on I2C (its driver arrives with the hardware
//! issue; until then [`open_hardware`] explains what is missing).

pub mod orientation;
pub mod sim;

use std::path::{Path, PathBuf};

use crate::error::{Exit, Hinted};
use crate::payload::Reading;

/// Something that produces readings, one per call.
pub trait Source {
    fn next_reading(&mut self) -> Result<Reading, SenseError>;
}

#[derive(Debug, thiserror::Error)]
pub enum SenseError {
    #[error(transparent)]
    Hardware(#[from] Hinted),
}

/// The I2C device node for a bus number.
pub fn bus_path(bus: u8) -> PathBuf {
    PathBuf::from(format!("/dev/i2c-{bus}"))
}

/// Opens the Sense HAT on `bus`, or explains why it cannot be used.
pub fn open_hardware(bus: u8) -> Result<Box<dyn Source>, SenseError> {
    let path = bus_path(bus);
    Err(hardware_unavailable(&path, path.exists()).into())
}

fn hardware_unavailable(path: &Path, bus_exists: bool) -> Hinted {
    if bus_exists {
        Hinted::new(
            Exit::Failure,
            format!("{} is present, but this build of iotpipe has no Sense HAT driver yet", path.display()),
            "use --sim for simulated readings until the Sense HAT driver lands",
        )
    } else {
        Hinted::new(
            Exit::Failure,
            format!("no Sense HAT: {} does not exist (I2C is not enabled, or this is not a Raspberry Pi)", path.display()),
            "on a Pi, enable I2C with `sudo raspi-config nonint do_i2c 0` (or add `dtparam=i2c_arm=on` \
             to /boot/firmware/config.txt) and reboot; elsewhere, use --sim for simulated readings",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_bus_says_how_to_enable_i2c_and_offers_sim() {
        let err = hardware_unavailable(Path::new("/dev/i2c-1"), false);
        assert!(err.message.contains("/dev/i2c-1 does not exist"), "{}", err.message);
        assert!(err.hint.contains("raspi-config") && err.hint.contains("--sim"), "{}", err.hint);
        assert_eq!(err.exit, Exit::Failure);
    }
}
