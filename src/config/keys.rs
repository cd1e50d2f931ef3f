//! The schema: every configuration key, its kind and its default, declared once.

use std::time::Duration;

use toml::Value;

/// What a key accepts.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Str,
    Path,
    Bool,
    Int {
        min: i64,
        max: i64,
    },
    /// A float strictly greater than `above`.
    Float {
        above: f64,
    },
    /// A humantime duration such as `1s`, `250ms`, `1h 30m`, at least `min_ms`.
    Duration {
        min_ms: u64,
    },
    OneOf(&'static [&'static str]),
    StrList,
}

impl Kind {
    pub fn expected(&self) -> String {
        match self {
            Kind::Str => "a string".into(),
            Kind::Path => "a file or directory path (string)".into(),
            Kind::Bool => "true or false".into(),
            Kind::Int { min, max } if max - min == 1 => format!("{min} or {max}"),
            Kind::Int { min, max } => format!("an integer from {min} to {max}"),
            Kind::Float { above } => format!("a number greater than {above}"),
            Kind::Duration { min_ms } => format!(
                "a duration such as \"500ms\", \"1s\", \"5m\" (at least {})",
                humantime::format_duration(Duration::from_millis(*min_ms))
            ),
            Kind::OneOf(choices) => format!("one of {}", choices.join(", ")),
            Kind::StrList => "a list of strings".into(),
        }
    }

    /// Checks a TOML value against the kind, normalizing integers given for floats.
    pub(super) fn check(&self, value: &Value) -> Result<Value, ()> {
        match (self, value) {
            (Kind::Str | Kind::Path, Value::String(_)) | (Kind::Bool, Value::Boolean(_)) => {
                Ok(value.clone())
            }
            (Kind::Int { min, max }, Value::Integer(i)) if (min..=max).contains(&i) => {
                Ok(value.clone())
            }
            (Kind::Float { above }, Value::Float(f)) if f.is_finite() && f > above => {
                Ok(value.clone())
            }
            (Kind::Float { above }, Value::Integer(i)) if (*i as f64) > *above => {
                Ok(Value::Float(*i as f64))
            }
            (Kind::Duration { min_ms }, Value::String(s)) => match humantime::parse_duration(s) {
                Ok(d) if d >= Duration::from_millis(*min_ms) => Ok(value.clone()),
                _ => Err(()),
            },
            (Kind::OneOf(choices), Value::String(s)) if choices.contains(&s.as_str()) => {
                Ok(value.clone())
            }
            (Kind::StrList, Value::Array(items)) if items.iter().all(Value::is_str) => {
                Ok(value.clone())
            }
            _ => Err(()),
        }
    }

    /// Reads an environment variable's text as this kind.
    pub(super) fn parse_env(&self, text: &str) -> Result<Value, ()> {
        let value = match self {
            Kind::Bool => match text.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Value::Boolean(true),
                "false" | "0" | "no" | "off" => Value::Boolean(false),
                _ => return Err(()),
            },
            Kind::Int { .. } => Value::Integer(text.trim().parse().map_err(|_| ())?),
            Kind::Float { .. } => Value::Float(text.trim().parse().map_err(|_| ())?),
            Kind::StrList => Value::Array(
                text.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| Value::String(s.to_string()))
                    .collect(),
            ),
            _ => Value::String(text.to_string()),
        };
        self.check(&value)
    }
}

/// One configuration key.
#[derive(Debug)]
pub struct Key {
    /// Dotted name: `device_id`, `mqtt.port`.
    pub name: &'static str,
    pub kind: Kind,
    /// Default as a TOML literal; `None` when unset or derived at resolve time.
    pub default: Option<&'static str>,
    /// Never printed (passwords).
    pub secret: bool,
}

const fn key(name: &'static str, kind: Kind, default: Option<&'static str>) -> Key {
    Key {
        name,
        kind,
        default,
        secret: false,
    }
}

const PORT: Kind = Kind::Int { min: 1, max: 65535 };

/// The schema: every key any command reads. Extend it rather than inventing names.
pub const KEYS: &[Key] = &[
    key("device_id", Kind::Str, None),
    key("data_dir", Kind::Path, Some("\"./iotpipe-data\"")),
    key("backend", Kind::OneOf(&["local", "aws"]), Some("\"local\"")),
    key("mqtt.host", Kind::Str, Some("\"127.0.0.1\"")),
    key("mqtt.port", PORT, Some("1883")),
    key("mqtt.topic", Kind::Str, Some("\"sensor/data\"")),
    key("mqtt.qos", Kind::Int { min: 0, max: 1 }, Some("1")),
    key("mqtt.client_id", Kind::Str, None),
    key("mqtt.username", Kind::Str, None),
    Key {
        name: "mqtt.password",
        kind: Kind::Str,
        default: None,
        secret: true,
    },
    key("mqtt.cafile", Kind::Path, None),
    key("mqtt.cert", Kind::Path, None),
    key("mqtt.key", Kind::Path, None),
    key("mqtt.alpn", Kind::Bool, Some("false")),
    key("mqtt.tls", Kind::Bool, None),
    key("mqtt.iot_core", Kind::Bool, None),
    key(
        "mqtt.max_inflight",
        Kind::Int { min: 1, max: 65535 },
        Some("100"),
    ),
    key(
        "mqtt.keep_alive",
        Kind::Duration { min_ms: 5_000 },
        Some("\"30s\""),
    ),
    key("outbox.dir", Kind::Path, None),
    key(
        "outbox.max_bytes",
        Kind::Int {
            min: 1024 * 1024,
            max: i64::MAX,
        },
        Some("104857600"),
    ),
    key("sense.every", Kind::Duration { min_ms: 1 }, Some("\"1s\"")),
    key("sense.cpu_heat_factor", Kind::Float { above: 0.0 }, None),
    key("sense.bus", Kind::Int { min: 0, max: 255 }, Some("1")),
    key(
        "sink.buffer_bytes",
        Kind::Int {
            min: 1,
            max: 128 * 1024 * 1024,
        },
        Some("5242880"),
    ),
    key(
        "sink.buffer_interval",
        Kind::Duration { min_ms: 1 },
        Some("\"60s\""),
    ),
    key("sink.gzip", Kind::Bool, Some("true")),
    key(
        "counter.threshold",
        Kind::Int {
            min: 1,
            max: 10_000,
        },
        Some("20"),
    ),
    key("counter.table", Kind::Str, Some("\"iotpipe-counter\"")),
    key(
        "counter.retention_days",
        Kind::Int { min: 1, max: 3650 },
        Some("30"),
    ),
    key(
        "compact.row_group_rows",
        Kind::Int {
            min: 1024,
            max: 1_048_576,
        },
        Some("16384"),
    ),
    key("aws.profile", Kind::Str, None),
    key("aws.region", Kind::Str, None),
    key("aws.endpoint_url", Kind::Str, None),
    key("aws.bucket", Kind::Str, None),
    key("aws.raw_prefix", Kind::Str, Some("\"raw/\"")),
    key("aws.compacted_prefix", Kind::Str, Some("\"compacted/\"")),
    key("aws.rejected_prefix", Kind::Str, Some("\"rejected/\"")),
    key("aws.iot_rule_role", Kind::Str, None),
    key("aws.iot_rule", Kind::Str, None),
    key("athena.database", Kind::Str, Some("\"iotpipe\"")),
    key("athena.raw_table", Kind::Str, Some("\"raw_readings\"")),
    key("athena.table", Kind::Str, Some("\"readings\"")),
    key("athena.workgroup", Kind::Str, Some("\"primary\"")),
    key("athena.output_location", Kind::Str, None),
    key("kinesis.stream", Kind::Str, Some("\"iotpipe-sensor\"")),
    key(
        "lambda.compact",
        Kind::OneOf(&["athena", "off"]),
        Some("\"athena\""),
    ),
    key("quicksight.account_id", Kind::Str, None),
    key("quicksight.datasets", Kind::StrList, Some("[]")),
    key(
        "quicksight.schedule",
        Kind::OneOf(&["hourly", "daily", "off"]),
        Some("\"hourly\""),
    ),
    key("dashboard.out", Kind::Path, None),
    key(
        "dashboard.window",
        Kind::Duration { min_ms: 60_000 },
        Some("\"7d\""),
    ),
];

pub fn find_key(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

/// The environment variable for a key: `mqtt.port` -> `IOTPIPE_MQTT_PORT`.
pub fn env_name(key: &str) -> String {
    format!("IOTPIPE_{}", key.replace('.', "_").to_ascii_uppercase())
}
