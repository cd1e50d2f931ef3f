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

    /// Client id (config mqtt.client_id) [default: derived from the command and
    /// device_id: a random suffix for publish and tail, one kept per data dir for sink]
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

    /// MQTT protocol version, as mosquitto's -V: iotpipe speaks 3.1.1 (mqttv311)
    #[arg(short = 'V', long, value_name = "VERSION", value_parser = parse_protocol_version)]
    pub protocol_version: Option<ProtocolVersion>,

    /// Print help
    #[arg(long, action = ArgAction::Help)]
    pub help: Option<bool>,

    /// Print version
    #[arg(long, action = ArgAction::Version)]
    pub version: Option<bool>,
}

/// The MQTT protocol version a client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolVersion {
    V311,
}

/// mosquitto's `-V` values; only 3.1.1 is spoken (rumqttc's MQTT 5 client is
/// a separate code path iotpipe does not take).
pub fn parse_protocol_version(text: &str) -> Result<ProtocolVersion, String> {
    match text {
        "mqttv311" | "311" | "3.1.1" => Ok(ProtocolVersion::V311),
        "mqttv5" | "5" | "mqttv31" | "31" => Err(format!(
            "iotpipe speaks MQTT 3.1.1 only, not {text}; leave out -V, or give -V mqttv311 \
             (--version prints iotpipe's version)"
        )),
        _ => Err("expected mqttv311 (MQTT 3.1.1), as mosquitto_pub -V takes it".into()),
    }
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
        Ok(rate) if (MIN_RATE..=MAX_RATE).contains(&rate) => Ok(rate),
        _ => Err("expected a number per second from 0.0000116 (one a day) to 1000000".into()),
    }
}

/// The slowest rate: one a day (slower ones are a schedule, not a rate).
pub const MIN_RATE: f64 = 1.0 / 86_400.0;
/// The fastest: a million a second, beyond any broker here.
pub const MAX_RATE: f64 = 1_000_000.0;

/// A positive duration: `1s`, `500ms`, `5m`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text) {
        Ok(d) if d.is_zero() => Err("must be longer than zero".into()),
        Ok(d) => at_most_a_century(d),
        Err(e) => Err(format!("{e} (examples: 1s, 500ms, 5m)")),
    }
}

fn at_most_a_century(duration: Duration) -> Result<Duration, String> {
    if duration > crate::config::LONGEST_DURATION {
        return Err("must be at most 100 years".into());
    }
    Ok(duration)
}

/// Seconds (`10`, `2.5`) or a duration (`500ms`, `2m`), as mosquitto_sub's `-W`.
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    let parsed = match text.parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs > 0.0 => Duration::try_from_secs_f64(secs)
            .map_err(|_| "must be at most 100 years".to_string())
            .and_then(at_most_a_century),
        Ok(_) => Err("must be greater than 0".to_string()),
        Err(_) => humantime::parse_duration(text)
            .map_err(|e| e.to_string())
            .and_then(at_most_a_century),
    };
    parsed.map_err(|e| format!("{e} (examples: 10, 2.5, 500ms, 2m)"))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Whatever a user types, the parsers answer with a value in range
        /// or an error, never a panic.
        #[test]
        fn rates_durations_and_timeouts_never_panic(text in ".{0,40}") {
            if let Ok(rate) = parse_rate(&text) {
                prop_assert!((MIN_RATE..=MAX_RATE).contains(&rate));
            }
            if let Ok(duration) = parse_duration(&text) {
                prop_assert!(!duration.is_zero() && duration <= crate::config::LONGEST_DURATION);
            }
            if let Ok(timeout) = parse_timeout(&text) {
                prop_assert!(timeout <= crate::config::LONGEST_DURATION);
            }
            let _ = parse_protocol_version(&text);
        }

        #[test]
        fn numbers_of_any_size_are_rates_or_errors(number in proptest::num::f64::ANY) {
            let text = number.to_string();
            prop_assert_eq!(parse_rate(&text).is_ok(), (MIN_RATE..=MAX_RATE).contains(&number));
            let timeout = parse_timeout(&text);
            if number.is_finite() && number > 0.0 && number < 3.0e9 {
                prop_assert!(timeout.is_ok(), "{} seconds: {:?}", number, timeout);
            }
        }

        #[test]
        fn durations_in_any_unit_are_bounded(amount in any::<u64>(), unit in "(ns|ms|s|m|h|d|w|y)") {
            let text = format!("{amount}{unit}");
            if let Ok(duration) = parse_duration(&text) {
                prop_assert!(duration <= crate::config::LONGEST_DURATION);
            }
        }
    }
}

/// `--http ADDR`, on the long-running commands.
#[derive(Debug, Clone, Args)]
pub struct HttpArgs {
    /// Serve /metrics (OpenMetrics) and /healthz on ADDR:PORT, port 0 for any
    /// free one (config http.listen)
    #[arg(long, value_name = "ADDR")]
    pub http: Option<String>,
}

impl HttpArgs {
    pub fn overrides(&self) -> Vec<Override> {
        self.http
            .iter()
            .map(|listen| Override::new("http.listen", "--http", listen.clone()))
            .collect()
    }
}

/// The socket `http.listen` names (ADDR:PORT, port 0: any free one), bound
/// so that the caller can say where before anything runs. `off_allowed`:
/// `off` is a value too (`up`, which serves by default), giving None.
pub fn bind_http(listen: &str, off_allowed: bool) -> anyhow::Result<Option<std::net::TcpListener>> {
    if off_allowed && listen == "off" {
        return Ok(None);
    }
    let addr: std::net::SocketAddr = listen.parse().map_err(|_| {
        crate::error::Hinted::new(
            crate::error::Exit::Usage,
            format!(
                "http.listen {listen:?} is not ADDR:PORT{}",
                if off_allowed { " or off" } else { "" }
            ),
            "for example --http 127.0.0.1:9464 (0.0.0.0:9464 for Prometheus elsewhere; port \
             0: any free one)",
        )
    })?;
    Ok(Some(crate::http::bind(addr)?))
}

/// Starts the HTTP endpoint on `listen` (within a runtime) and says where;
/// nothing without an address.
pub fn serve_http(
    listen: Option<&str>,
    endpoints: crate::http::Endpoints,
    quiet: bool,
    command: &str,
) -> anyhow::Result<Option<std::net::SocketAddr>> {
    let Some(listener) = listen
        .map(|listen| bind_http(listen, false))
        .transpose()?
        .flatten()
    else {
        return Ok(None);
    };
    let bound = listener.local_addr()?;
    tokio::spawn(crate::http::serve(listener, endpoints));
    if !quiet {
        crate::note!("{command}: metrics on http://{bound}/metrics, health on /healthz");
    }
    Ok(Some(bound))
}

/// `--sigv4`: AWS IoT Core over WebSockets (port 443 unless `-p`), each
/// connection signed with the AWS credentials instead of a device certificate.
#[cfg(feature = "pipeline")]
pub fn sign_with_aws(
    settings: &mut crate::mqtt::Settings,
    config: &crate::config::Config,
    port: Option<u16>,
) -> anyhow::Result<()> {
    let sigv4 = super::runtime()?
        .block_on(crate::aws::iot_ws::SigV4::from_config(&config.aws))
        .map_err(|reason| {
            crate::error::Hinted::new(
                crate::error::Exit::Failure,
                format!("--sigv4: {reason}"),
                "configure AWS credentials (`aws configure`, `aws sso login`, or AWS_PROFILE) and \
                 the endpoint's region (--region or aws.region)",
            )
        })?;
    settings.sigv4 = Some(sigv4);
    settings.port = port.unwrap_or(443);
    settings.iot_core = true;
    Ok(())
}
