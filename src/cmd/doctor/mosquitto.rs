//! A mosquitto on this machine: the settings with which it drops readings it
//! acknowledged, for a sink that is away or slow (its persistent session's
//! queue is full), or loses them at a restart.

use std::path::{Path, PathBuf};

use super::Report;

/// Where Debian's mosquitto package keeps its configuration.
pub const DEFAULT_CONF: &str = "/etc/mosquitto/mosquitto.conf";

/// What a sink needs of mosquitto, as lines to put in its configuration.
const FIX: &str = "in the mosquitto configuration: `max_queued_messages 0` (no limit per \
     client; mosquitto's default keeps 1000 for a sink that is away and drops the rest after \
     acknowledging them), `max_queued_bytes 0`, `persistence true` and `persistence_location \
     /var/lib/mosquitto/`; then `sudo systemctl restart mosquitto`";

pub(super) fn check(report: &mut Report, host: &str, port: u16, conf: &Path) {
    let check = "mosquitto queues for the sink";
    let local = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !local {
        return report.skip(
            "mqtt",
            check,
            format!("the broker is on {host}: if it is mosquitto, there it needs {FIX}"),
        );
    }
    let settings = match read(conf) {
        Ok(settings) => settings,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return report.skip(
                "mqtt",
                check,
                format!(
                    "no mosquitto configuration at {} (--mosquitto-conf names another)",
                    conf.display()
                ),
            );
        }
        Err(e) => {
            return report.skip(
                "mqtt",
                check,
                format!(
                    "cannot read {}: {e} (run doctor as a user who can)",
                    conf.display()
                ),
            );
        }
    };
    // The mosquitto this file configures must be the broker on mqtt.port.
    let ports: Vec<u16> = settings
        .iter()
        .filter(|(key, _)| key == "listener" || key == "port")
        .filter_map(|(_, value)| value.split_whitespace().next()?.parse().ok())
        .collect();
    let listens = if ports.is_empty() { vec![1883] } else { ports };
    if !listens.contains(&port) {
        return report.skip(
            "mqtt",
            check,
            format!(
                "the mosquitto of {} listens on {listens:?}, not on mqtt.port {port}                  (--mosquitto-conf names the configuration of the broker on {port})",
                conf.display()
            ),
        );
    }
    let value = |key: &str| {
        settings
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let mut wrong = Vec::new();
    match value("max_queued_messages") {
        Some("0") => {}
        Some(n) => wrong.push(format!("max_queued_messages {n}")),
        None => wrong.push("max_queued_messages unset (1000)".into()),
    }
    if let Some(n) = value("max_queued_bytes").filter(|n| *n != "0") {
        wrong.push(format!("max_queued_bytes {n}"));
    }
    if value("persistence") != Some("true") {
        wrong.push("persistence off (a restart loses what is queued)".into());
    }
    if wrong.is_empty() {
        report.ok(
            "mqtt",
            check,
            format!("{}: no queue limit, persistence on", conf.display()),
        );
    } else {
        report.fail(
            "mqtt",
            check,
            format!("{}: {}", conf.display(), wrong.join(", ")),
            FIX,
        );
    }
}

/// The `key value` lines of `conf` and of the files its `include_dir`s name.
fn read(conf: &Path) -> std::io::Result<Vec<(String, String)>> {
    let mut settings = Vec::new();
    for line in std::fs::read_to_string(conf)?.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once(char::is_whitespace) else {
            continue;
        };
        let value = value.trim().to_string();
        if key == "include_dir" {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&value)
                .map(|entries| {
                    entries
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
                        .collect()
                })
                .unwrap_or_default();
            files.sort();
            for file in files {
                settings.extend(read(&file)?);
            }
        } else {
            settings.push((key.to_string(), value));
        }
    }
    Ok(settings)
}
