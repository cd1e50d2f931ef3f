//! Flags and value parsers shared by several commands.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{ArgAction, Args};

use crate::config::Override;

/// Flags that name the broker and how to reach it, shared with `tail mqtt`.
#[derive(Debug, Clone, Args)]
pub struct BrokerArgs {
    /// Broker host (config mqtt.host)
    #[arg(short = 'h', long, value_name = "HOST")]
    pub host: Option<String>,

    /// Broker port (config mqtt.port)
    #[arg(short = 'p', long, value_name = "PORT")]
    pub port: Option<u16>,

    /// Client id (config mqtt.client_id) [default: iotpipe-<command>-<device_id>-<random>]
    #[arg(short = 'i', long, value_name = "ID")]
    pub client_id: Option<String>,

    /// Username (config mqtt.username)
    #[arg(short = 'u', long, value_name = "USER")]
    pub username: Option<String>,

    /// Password (config mqtt.password; prefer IOTPIPE_MQTT_PASSWORD, which ps cannot see)
    #[arg(short = 'P', long, value_name = "PASSWORD")]
    pub password: Option<String>,

    /// CA certificates (PEM) that signed the broker's certificate; turns TLS on
    #[arg(long, value_name = "FILE")]
    pub cafile: Option<PathBuf>,

    /// Client certificate (PEM), e.g. the IoT Core device certificate
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,

    /// Private key (PEM) of the client certificate
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,

    /// TLS with ALPN x-amzn-mqtt-ca, for AWS IoT Core on port 443
    #[arg(long)]
    pub alpn: bool,

    /// TLS even without certificate flags (verified against the system's CAs)
    #[arg(long)]
    pub tls: bool,

    /// Enforce AWS IoT Core's limits [default: when the host ends in .amazonaws.com]
    #[arg(long)]
    pub iot_core: bool,

    /// Print help
    #[arg(long, action = ArgAction::Help)]
    pub help: Option<bool>,
}

impl BrokerArgs {
    pub fn overrides(&self) -> Vec<Override> {
        let mut o = Vec::new();
        let mut string = |key, flag, value: &Option<String>| {
            if let Some(v) = value {
                o.push(Override::new(key, flag, v.as_str()));
            }
        };
        string("mqtt.host", "--host", &self.host);
        string("mqtt.client_id", "--client-id", &self.client_id);
        string("mqtt.username", "--username", &self.username);
        string("mqtt.password", "--password", &self.password);
        for (key, flag, path) in [
            ("mqtt.cafile", "--cafile", &self.cafile),
            ("mqtt.cert", "--cert", &self.cert),
            ("mqtt.key", "--key", &self.key),
        ] {
            if let Some(path) = path {
                o.push(Override::new(key, flag, path.display().to_string()));
            }
        }
        if let Some(port) = self.port {
            o.push(Override::new("mqtt.port", "--port", i64::from(port)));
        }
        for (key, flag, on) in [
            ("mqtt.alpn", "--alpn", self.alpn),
            ("mqtt.tls", "--tls", self.tls),
            ("mqtt.iot_core", "--iot-core", self.iot_core),
        ] {
            if on {
                o.push(Override::new(key, flag, true));
            }
        }
        o
    }
}

/// The override for `--data-dir`, if given.
pub fn data_dir_override(dir: Option<&Path>) -> Vec<Override> {
    dir.map(|dir| Override::new("data_dir", "--data-dir", dir.display().to_string()))
        .into_iter()
        .collect()
}

pub fn parse_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err("expected a number of messages per second greater than 0".into()),
    }
}

/// A positive duration: `1s`, `500ms`, `5m`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text) {
        Ok(d) if d.is_zero() => Err("must be longer than zero".into()),
        Ok(d) => Ok(d),
        Err(e) => Err(format!("{e} (examples: 1s, 500ms, 5m)")),
    }
}

/// Seconds (`10`, `2.5`) or a duration (`500ms`, `2m`), as mosquitto_sub's `-W`.
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    let parsed = match text.parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs > 0.0 => Ok(Duration::from_secs_f64(secs)),
        Ok(_) => Err("must be greater than 0".to_string()),
        Err(_) => humantime::parse_duration(text).map_err(|e| e.to_string()),
    };
    parsed.map_err(|e| format!("{e} (examples: 10, 2.5, 500ms, 2m)"))
}
