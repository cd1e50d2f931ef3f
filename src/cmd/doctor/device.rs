//! The Sense HAT: the I2C bus, permission to use it, the three chips.

use super::Report;
use crate::config::Config;
use crate::error::Diagnose;

pub(super) fn check(report: &mut Report, config: &Config) {
    use crate::sense::SenseError;
    let bus = config.sense.bus;
    let path = format!("/dev/i2c-{bus}");
    match crate::sense::open_bus(bus) {
        Ok(mut opened) => {
            report.ok("device", format!("I2C bus {path}"), "present");
            report.ok("device", "permission to use the bus", "opened read/write");
            let rows = crate::sense::hat::probe(&mut opened);
            let found: Vec<&str> = rows
                .iter()
                .filter(|r| r.status == "found")
                .map(|r| r.chip)
                .collect();
            if found.len() == rows.len() {
                report.ok("device", "Sense HAT chips", found.join(", "));
            } else {
                let problems: Vec<String> = rows
                    .iter()
                    .filter(|r| r.status != "found")
                    .map(|r| format!("{} at {}: {}", r.chip, r.address, r.status))
                    .collect();
                report.fail(
                    "device",
                    "Sense HAT chips",
                    problems.join("; "),
                    "seat the Sense HAT firmly on all 40 pins; `iotpipe sense --probe` shows each \
                     chip; a chip held by a kernel driver needs the driver blacklisted \
                     (docs/raspberry-pi.md)",
                );
            }
        }
        Err(error) => {
            let bus_check = format!("I2C bus {path}");
            let why = if matches!(error, SenseError::Permission { .. }) {
                report.ok("device", bus_check, "present");
                report.fail(
                    "device",
                    "permission to use the bus",
                    error.to_string(),
                    error.hint().unwrap_or_default(),
                );
                "cannot open the bus"
            } else {
                report.fail(
                    "device",
                    bus_check,
                    error.to_string(),
                    error.hint().unwrap_or_default(),
                );
                report.skip("device", "permission to use the bus", "no usable bus");
                "no usable bus"
            };
            report.skip("device", "Sense HAT chips", why);
        }
    }
}
