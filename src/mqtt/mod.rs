//! MQTT transport: connection settings (plain or TLS, mosquitto or AWS IoT Core),
//! the limits checked before anything is sent, and the connection loop shared by
//! `publish`, `tail mqtt` and the sink.
//!
//! Every connection gets a fresh rumqttc client and event loop: rumqttc's own
//! reconnect keeps unsent requests in a queue that a clean session discards, so
//! iotpipe tracks what is unacknowledged itself and re-sends it (see [`publish`]).

#[cfg(feature = "pipeline")]
pub mod broker;
pub mod connection;
pub mod feed;
pub mod publish;
pub mod subscribe;
mod tls;
pub mod topic;
#[cfg(feature = "pipeline")]
mod websocket;

pub use tls::{Tls, Validity, keys_match, read_certs};

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rumqttc::{MqttOptions, QoS, TlsConfiguration, Transport};

use crate::config;
use crate::error::{Diagnose, Exit};

/// AWS IoT Core's limits (see the IoT Core quotas page).
pub const IOT_MAX_PAYLOAD: usize = 128 * 1024;
pub const IOT_MAX_TOPIC: usize = 256;
pub const IOT_MAX_SLASHES: usize = 7;
pub const IOT_MAX_CLIENT_ID: usize = 128;
/// The MQTT 3.1.1 ceiling: the largest "remaining length" of a packet.
pub const MQTT_MAX_PACKET: usize = 268_435_455;
/// ALPN protocol for MQTT with client certificates on port 443 (IoT Core).
pub const IOT_ALPN: &[u8] = b"x-amzn-mqtt-ca";

#[derive(Debug, thiserror::Error)]
pub enum MqttError {
    #[error("{0}")]
    Limit(String),
    #[error("cannot use {what} {}: {reason}", .path.display())]
    TlsFile {
        what: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error("{0}")]
    TlsSetup(String),
    #[error("cannot connect to {endpoint}: {reason}")]
    Connect {
        endpoint: String,
        reason: String,
        kind: ConnectFailure,
    },
    #[error("{unacked} of {total} messages were not acknowledged by {endpoint}{}", .cause.as_ref().map(|c| format!(" (last error: {c})")).unwrap_or_default())]
    Unacknowledged {
        unacked: u64,
        total: u64,
        endpoint: String,
        cause: Option<String>,
        outbox: Option<PathBuf>,
    },
    #[error(
        "{dropped} of {total} readings were dropped at the outbox cap of {max_bytes} bytes (the oldest first), the rest acknowledged"
    )]
    Dropped {
        dropped: u64,
        total: u64,
        max_bytes: u64,
    },
    #[error(transparent)]
    Outbox(#[from] crate::journal::JournalError),
}

/// Why a connection failed, which decides whether retrying can help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectFailure {
    /// Refused, reset, timed out, unreachable: the broker may come back.
    Transient,
    /// Bad credentials or not authorized: retrying cannot help.
    Auth,
    /// Certificate problems: retrying cannot help.
    Tls,
}

impl Diagnose for MqttError {
    fn exit(&self) -> Exit {
        if self.is_usage() {
            Exit::Usage
        } else if self.is_partial() {
            Exit::Partial
        } else {
            Exit::Failure
        }
    }

    fn hint(&self) -> Option<String> {
        Some(match self {
            MqttError::Limit(_) => "AWS IoT Core limits: payload 128 KiB, topic 256 bytes and 7 slashes, \
                client id 128 bytes, QoS 0 or 1"
                .into(),
            MqttError::TlsFile { .. } => {
                "--cafile, --cert and --key take PEM files (IoT Core: AmazonRootCA1.pem, the device \
                 certificate and its private key)"
                    .into()
            }
            MqttError::TlsSetup(_) => "check --cafile, --cert and --key".into(),
            MqttError::Connect { kind: ConnectFailure::Transient, .. } => {
                "is a broker listening there? check --host/--port (or mqtt.host/mqtt.port); \
                 `iotpipe doctor` checks reachability"
                    .into()
            }
            MqttError::Connect { kind: ConnectFailure::Auth, .. } => {
                "check -u/-P (mqtt.username/mqtt.password), or for IoT Core the policy attached to \
                 the certificate (iot:Connect on this client id, iot:Publish on the topic)"
                    .into()
            }
            MqttError::Connect { kind: ConnectFailure::Tls, .. } => {
                "--cafile must hold the CA that signed the broker's certificate, and --host must \
                 match a name in it"
                    .into()
            }
            MqttError::Unacknowledged { outbox: Some(dir), .. } => format!(
                "nothing is lost: they stay in the outbox {} and are sent first on the next run",
                dir.display()
            ),
            MqttError::Dropped { .. } => {
                "the broker was away longer than the outbox could hold: raise outbox.max_bytes, \
                 or bring the broker back sooner (`iotpipe doctor` checks it)"
                    .into()
            }
            MqttError::Outbox(_) => {
                "check free space and permissions there, or choose another place with --outbox DIR".into()
            }
            MqttError::Unacknowledged { outbox: None, .. } => {
                "those messages may not have been delivered; rerun them, or use --outbox DIR to \
                 keep unacknowledged messages across runs"
                    .into()
            }
        })
    }
}

impl MqttError {
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            MqttError::Limit(_) | MqttError::TlsFile { .. } | MqttError::TlsSetup(_)
        ) || matches!(
            self,
            MqttError::Connect {
                kind: ConnectFailure::Auth,
                ..
            }
        )
    }

    pub fn is_partial(&self) -> bool {
        matches!(
            self,
            MqttError::Unacknowledged { .. } | MqttError::Dropped { .. }
        )
    }
}

/// How a client keeps its session with the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Session {
    /// A fresh session per connection (publish, tail).
    Clean,
    /// The broker keeps the subscription and unacknowledged messages across
    /// disconnects, and messages are acknowledged by hand once they are safe (sink).
    Persistent,
}

/// Where and how to connect, resolved from config and flags.
#[derive(Debug, Clone)]
pub struct Settings {
    pub host: String,
    pub port: u16,
    pub client_id: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub tls: Option<Tls>,
    pub keep_alive: Duration,
    pub max_inflight: u16,
    /// Apply AWS IoT Core's limits (auto: the host is `*.amazonaws.com`).
    pub iot_core: bool,
    /// The device's status topic: a last will, and a birth message on connect.
    pub status: Option<Status>,
    /// Connect over WebSockets signed with SigV4 (IoT Core without a certificate).
    #[cfg(feature = "pipeline")]
    pub sigv4: Option<crate::aws::iot_ws::SigV4>,
}

/// An online/offline status: the will the broker publishes when the client
/// vanishes, and what the client publishes there itself on each connection.
#[derive(Debug, Clone)]
pub struct Status {
    pub topic: String,
    pub will: Vec<u8>,
    pub birth: Option<Vec<u8>>,
    pub qos: QoS,
    pub retain: bool,
}

/// Which iotpipe client connects. Each role derives a client id of its own
/// from `mqtt.client_id` (on AWS IoT Core, from the thing name when none is
/// set), so that no two iotpipe clients share one: a broker keeps one
/// connection per id, and a clean-session client with a persistent client's
/// id wipes that session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientRole {
    /// `publish`: the device itself, exactly `mqtt.client_id` (an IoT Core thing name).
    Publish,
    /// `sink`: `<id>-sink`, a persistent session.
    Sink,
    /// `up`'s sink: `<id>-up-sink`, a persistent session.
    UpSink,
    /// `up`'s simulated device N (from 1): `<id>-dev-N`.
    Device(u32),
    /// `tail mqtt`: `<id>-tail-<random>`.
    Tail,
    /// `doctor`: `<id>-doctor-<random>`.
    Doctor,
}

impl ClientRole {
    /// The client id of this role: derived from the configured id, or from
    /// `device_id` when none is configured.
    pub fn client_id(self, configured: Option<&str>, device_id: &str) -> String {
        match (configured, self) {
            (Some(id), ClientRole::Publish) => id.to_string(),
            (Some(id), ClientRole::Sink) => format!("{id}-sink"),
            (Some(id), ClientRole::UpSink) => format!("{id}-up-sink"),
            (Some(id), ClientRole::Device(n)) => format!("{id}-dev-{n}"),
            (Some(id), ClientRole::Tail) => format!("{id}-tail-{}", random_suffix()),
            (Some(id), ClientRole::Doctor) => format!("{id}-doctor-{}", random_suffix()),
            (None, ClientRole::Publish) => {
                format!("iotpipe-publish-{device_id}-{}", random_suffix())
            }
            (None, ClientRole::Sink) => format!("iotpipe-sink-{device_id}"),
            (None, ClientRole::UpSink) => format!("iotpipe-up-sink-{device_id}"),
            (None, ClientRole::Device(n)) => format!("iotpipe-up-sim-{n}"),
            (None, ClientRole::Tail) => format!("iotpipe-tail-{device_id}-{}", random_suffix()),
            (None, ClientRole::Doctor) => format!("iotpipe-doctor-{}", random_suffix()),
        }
    }
}

/// `mqtt.iot_core`, or a broker host of AWS IoT Core when it is not set.
pub fn is_iot_core(mqtt: &config::MqttConfig) -> bool {
    mqtt.iot_core
        .unwrap_or_else(|| mqtt.host.ends_with(".amazonaws.com"))
}

/// The id the roles derive theirs from: `mqtt.client_id`, else on IoT Core the
/// thing name (`device_id`): the device policy lets a certificate attached to
/// the thing connect as the thing name (`publish`) and as `<thing>-*` (the
/// other clients: `<thing>-doctor-…`, `<thing>-tail-…`), never as another
/// thing.
pub fn base_client_id<'c>(mqtt: &'c config::MqttConfig, device_id: &'c str) -> Option<&'c str> {
    mqtt.client_id
        .as_deref()
        .or_else(|| is_iot_core(mqtt).then_some(device_id))
}

impl Settings {
    /// Settings of `role` from the `[mqtt]` config. `exact_id`: the client id
    /// was given for this very command (`--client-id`) and is used as it is.
    pub fn for_role(
        config: &config::Config,
        role: ClientRole,
        exact_id: bool,
    ) -> Result<Settings, MqttError> {
        let configured = base_client_id(&config.mqtt, &config.device_id);
        let client_id = match (exact_id, configured) {
            (true, Some(id)) => id.to_string(),
            _ => role.client_id(configured, &config.device_id),
        };
        let mut mqtt = config.mqtt.clone();
        mqtt.client_id = Some(client_id);
        let mut settings = Settings::from_config(&mqtt, String::new())?;
        // The will is the device's: other clients vanishing says nothing of it.
        if role == ClientRole::Publish
            && let Some(topic) = &mqtt.will_topic
        {
            settings.check_topic(topic)?;
            settings.status = Some(Status {
                topic: topic.clone(),
                will: mqtt.will_payload.clone().into_bytes(),
                birth: mqtt.birth_payload.clone().map(String::into_bytes),
                qos: if mqtt.will_qos == 0 {
                    QoS::AtMostOnce
                } else {
                    QoS::AtLeastOnce
                },
                retain: mqtt.will_retain,
            });
        }
        Ok(settings)
    }

    /// Settings from the `[mqtt]` config; `client_id` is used when the config sets none.
    pub fn from_config(
        mqtt: &config::MqttConfig,
        client_id: String,
    ) -> Result<Settings, MqttError> {
        let tls_wanted = mqtt.tls.unwrap_or(false)
            || mqtt.cafile.is_some()
            || mqtt.cert.is_some()
            || mqtt.key.is_some()
            || mqtt.alpn
            || (mqtt.tls.is_none() && matches!(mqtt.port, 8883 | 443));
        if mqtt.cert.is_some() != mqtt.key.is_some() {
            return Err(MqttError::TlsSetup(
                "a client certificate needs both --cert and --key".into(),
            ));
        }
        let iot_core = is_iot_core(mqtt);
        let settings = Settings {
            host: mqtt.host.clone(),
            port: mqtt.port,
            client_id: mqtt.client_id.clone().unwrap_or(client_id),
            username: mqtt.username.clone(),
            password: mqtt.password.clone(),
            tls: tls_wanted.then(|| Tls {
                cafile: mqtt.cafile.clone(),
                cert: mqtt.cert.clone(),
                key: mqtt.key.clone(),
                alpn: mqtt.alpn,
            }),
            keep_alive: mqtt.keep_alive,
            max_inflight: mqtt.max_inflight,
            iot_core,
            status: None,
            #[cfg(feature = "pipeline")]
            sigv4: None,
        };
        settings.check_client_id()?;
        Ok(settings)
    }

    pub fn endpoint(&self) -> String {
        #[cfg(feature = "pipeline")]
        if self.sigv4.is_some() {
            return format!("wss://{}:{}/mqtt (SigV4)", self.host, self.port);
        }
        let scheme = if self.tls.is_some() { "mqtts" } else { "mqtt" };
        format!("{scheme}://{}:{}", self.host, self.port)
    }

    fn check_client_id(&self) -> Result<(), MqttError> {
        let max = if self.iot_core {
            IOT_MAX_CLIENT_ID
        } else {
            u16::MAX as usize
        };
        if self.client_id.is_empty() || self.client_id.len() > max {
            return Err(MqttError::Limit(format!(
                "client id {:?} is {} bytes; it must be 1 to {max} bytes{}",
                self.client_id,
                self.client_id.len(),
                if self.iot_core {
                    " for AWS IoT Core"
                } else {
                    ""
                }
            )));
        }
        Ok(())
    }

    /// Checks a topic to publish to.
    pub fn check_topic(&self, topic: &str) -> Result<(), MqttError> {
        let problem = if topic.is_empty() {
            Some("is empty".to_string())
        } else if topic.contains(['+', '#']) {
            Some("contains a wildcard (+ or #), which only subscriptions may use".into())
        } else if topic.contains('\0') {
            Some("contains a NUL character".into())
        } else if topic.len() > u16::MAX as usize {
            Some(format!("is {} bytes (MQTT allows 65535)", topic.len()))
        } else if self.iot_core && topic.len() > IOT_MAX_TOPIC {
            Some(format!(
                "is {} bytes; AWS IoT Core allows {IOT_MAX_TOPIC}",
                topic.len()
            ))
        } else if self.iot_core && topic.matches('/').count() > IOT_MAX_SLASHES {
            Some(format!(
                "has {} slashes; AWS IoT Core allows {IOT_MAX_SLASHES}",
                topic.matches('/').count()
            ))
        } else {
            None
        };
        match problem {
            Some(problem) => Err(MqttError::Limit(format!("topic {topic:?} {problem}"))),
            None => Ok(()),
        }
    }

    /// Checks a subscription filter (`tail mqtt -t`).
    pub fn check_filter(filter: &str) -> Result<(), MqttError> {
        let bad_hash = filter
            .find('#')
            .is_some_and(|i| i + 1 != filter.len() || (i > 0 && !filter[..i].ends_with('/')));
        let bad_plus = filter
            .split('/')
            .any(|level| level.contains('+') && level != "+");
        if filter.is_empty() || bad_hash || bad_plus {
            return Err(MqttError::Limit(format!(
                "topic filter {filter:?} is not valid: `#` must be last and alone in its level, `+` alone in its level"
            )));
        }
        Ok(())
    }

    pub fn max_payload(&self) -> usize {
        if self.iot_core {
            IOT_MAX_PAYLOAD
        } else {
            MQTT_MAX_PACKET - u16::MAX as usize - 4
        }
    }

    /// Checks a payload's size.
    pub fn check_payload(&self, len: usize) -> Result<(), MqttError> {
        let max = self.max_payload();
        if len > max {
            return Err(MqttError::Limit(format!(
                "payload is {len} bytes; {} allows {max}",
                if self.iot_core {
                    "AWS IoT Core"
                } else {
                    "MQTT"
                }
            )));
        }
        Ok(())
    }

    /// Checks a QoS level for publishing.
    pub fn qos(&self, level: u8) -> Result<QoS, MqttError> {
        match level {
            0 => Ok(QoS::AtMostOnce),
            1 => Ok(QoS::AtLeastOnce),
            _ if self.iot_core => Err(MqttError::Limit(format!(
                "QoS {level}: AWS IoT Core rejects QoS 2; use 0 or 1"
            ))),
            _ => Err(MqttError::Limit(format!(
                "QoS {level}: iotpipe publishes with QoS 0 or 1 (QoS 1 plus deduplication on \
                 (device_id, run_id, seq) gives exactly-once results)"
            ))),
        }
    }

    /// rumqttc options for one connection. Reads the TLS files, so errors name them.
    pub fn options(&self, session: Session) -> Result<MqttOptions, MqttError> {
        let mut options = MqttOptions::new(&self.client_id, &self.host, self.port);
        options
            .set_keep_alive(self.keep_alive)
            .set_clean_session(session == Session::Clean)
            .set_manual_acks(session == Session::Persistent)
            .set_inflight(self.max_inflight)
            .set_max_packet_size(MQTT_MAX_PACKET, self.max_payload() + u16::MAX as usize + 4);
        if let Some(username) = &self.username {
            options.set_credentials(username, self.password.clone().unwrap_or_default());
        }
        if let Some(status) = &self.status {
            options.set_last_will(rumqttc::LastWill::new(
                &status.topic,
                status.will.clone(),
                status.qos,
                status.retain,
            ));
        }
        #[cfg(feature = "pipeline")]
        if let Some(sigv4) = &self.sigv4 {
            return self.websocket_options(options, sigv4);
        }
        if let Some(tls) = &self.tls {
            let config = tls.client_config()?;
            options.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(
                Arc::new(config),
            )));
        }
        Ok(options)
    }
}

/// A short random suffix, so two clients started alike do not kick each other off.
pub fn random_suffix() -> String {
    format!("{:08x}", fastrand::u32(..))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_hash_after_a_multibyte_character_is_refused_not_a_panic() {
        // Found by the property below: `tail mqtt -t 'é#'` sliced inside the `é`.
        assert!(Settings::check_filter("é#").is_err());
        assert!(Settings::check_filter("é/#").is_ok());
    }

    proptest! {
        /// Topics and filters of any text are accepted or refused with a reason.
        #[test]
        fn any_topic_or_filter_is_checked_without_panicking(text in "[a-z/+#$\\x00 é]{0,40}") {
            for iot_core in [false, true] {
                let _ = settings(iot_core).check_topic(&text);
            }
            if Settings::check_filter(&text).is_ok() {
                prop_assert!(!text.is_empty());
            }
        }
    }

    fn settings(iot_core: bool) -> Settings {
        Settings {
            host: "example".into(),
            port: 1883,
            client_id: "c".into(),
            username: None,
            password: None,
            tls: None,
            keep_alive: Duration::from_secs(30),
            max_inflight: 100,
            iot_core,
            status: None,
            #[cfg(feature = "pipeline")]
            sigv4: None,
        }
    }

    #[test]
    fn iot_core_limits() {
        let iot = settings(true);
        assert!(iot.check_payload(IOT_MAX_PAYLOAD).is_ok());
        assert!(iot.check_payload(IOT_MAX_PAYLOAD + 1).is_err());
        assert!(settings(false).check_payload(IOT_MAX_PAYLOAD + 1).is_ok());
        assert!(iot.check_topic("a/b/c/d/e/f/g/h").is_ok());
        assert!(iot.check_topic("a/b/c/d/e/f/g/h/i").is_err());
        assert!(iot.check_topic(&"x".repeat(257)).is_err());
        assert!(
            iot.qos(2)
                .unwrap_err()
                .to_string()
                .contains("rejects QoS 2")
        );
        assert!(settings(false).check_topic("sensor/#").is_err());
    }

    #[test]
    fn subscription_filters() {
        for ok in ["#", "sensor/#", "sensor/+/data", "+", "a/b"] {
            Settings::check_filter(ok).unwrap();
        }
        for bad in ["", "sensor#", "sensor/#/x", "a+/b", "a/b+"] {
            assert!(Settings::check_filter(bad).is_err(), "{bad}");
        }
    }
}
