//! Each device's newest reading: for the metrics, for `counters` and the
//! dashboard (kept in the counter), and for the log line when a device goes
//! quiet for `alert.quiet_after`, and when it is back.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use time::OffsetDateTime;
use tokio::time::Instant;

struct Device {
    /// When its last reading arrived here.
    arrived: Instant,
    /// When its newest reading was taken.
    taken: OffsetDateTime,
    quiet: bool,
    readings: Counter,
    last_reading: Gauge<f64, AtomicU64>,
}

pub struct Devices {
    seen: HashMap<String, Device>,
    quiet_after: Duration,
    /// Changed since [`Devices::take_changed`].
    changed: bool,
}

impl Devices {
    pub fn new(quiet_after: Duration) -> Devices {
        Devices {
            seen: HashMap::new(),
            quiet_after,
            changed: false,
        }
    }

    pub fn saw(&mut self, device_id: &str, taken: OffsetDateTime) {
        self.changed = true;
        let device = match self.seen.get_mut(device_id) {
            Some(device) => device,
            None => {
                let metrics = &crate::metrics::get().landing;
                let labels = vec![("device".to_string(), device_id.to_string())];
                self.seen.entry(device_id.to_string()).or_insert(Device {
                    arrived: Instant::now(),
                    taken: OffsetDateTime::UNIX_EPOCH,
                    quiet: false,
                    readings: metrics.device_readings.get_or_create_owned(&labels),
                    last_reading: metrics.device_last_reading.get_or_create_owned(&labels),
                })
            }
        };
        device.arrived = Instant::now();
        device.readings.inc();
        if taken > device.taken {
            device.taken = taken;
            device
                .last_reading
                .set(taken.unix_timestamp_nanos() as f64 / 1e9);
        }
        if device.quiet {
            device.quiet = false;
            crate::metrics::get().landing.quiet_devices.dec();
            tracing::warn!("device {device_id} is sending again");
        }
    }

    /// Logs, once each, the devices that went quiet.
    pub fn check(&mut self) {
        for (id, device) in &mut self.seen {
            let silent = device.arrived.elapsed();
            if !device.quiet && silent >= self.quiet_after {
                device.quiet = true;
                crate::metrics::get().landing.quiet_devices.inc();
                tracing::warn!(
                    "device {id} has sent nothing for {} (its newest reading was taken at {}; \
                     alert.quiet_after is {})",
                    humantime::format_duration(Duration::from_secs(silent.as_secs())),
                    crate::payload::format_ts(device.taken),
                    humantime::format_duration(self.quiet_after)
                );
            }
        }
    }

    /// Each device's newest reading time, if any arrived since the last call.
    pub fn take_changed(&mut self) -> Option<BTreeMap<String, String>> {
        if !std::mem::take(&mut self.changed) {
            return None;
        }
        Some(
            self.seen
                .iter()
                .map(|(id, device)| (id.clone(), crate::payload::format_ts(device.taken)))
                .collect(),
        )
    }
}
