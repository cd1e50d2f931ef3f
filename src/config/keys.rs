//! The schema: every configuration key, its kind and its default, declared once.

use std::time::Duration;

use toml::Value;

/// The longest duration any key or flag takes: deadlines are computed from
/// it, and a clock cannot count past its range.
pub const LONGEST_DURATION: Duration = Duration::from_secs(100 * 365 * 86_400);

/// What a key accepts.
#[derive(Debug, Clone, Copy)]
pub enum ValueKind {
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

impl ValueKind {
    pub fn expected(&self) -> String {
        match self {
            ValueKind::Str => "a string".into(),
            ValueKind::Path => "a file or directory path (string)".into(),
            ValueKind::Bool => "true or false".into(),
            ValueKind::Int { min, max } if max - min == 1 => format!("{min} or {max}"),
            ValueKind::Int { min, max } => format!("an integer from {min} to {max}"),
            ValueKind::Float { above } => format!("a number greater than {above}"),
            ValueKind::Duration { min_ms } => format!(
                "a duration such as \"500ms\", \"1s\", \"5m\" (at least {}, at most 100 years)",
                humantime::format_duration(Duration::from_millis(*min_ms))
            ),
            ValueKind::OneOf(choices) => format!("one of {}", choices.join(", ")),
            ValueKind::StrList => "a list of strings".into(),
        }
    }

    /// Checks a TOML value against the kind, normalizing integers given for floats.
    pub(super) fn check(&self, value: &Value) -> Result<Value, ()> {
        match (self, value) {
            (ValueKind::Str | ValueKind::Path, Value::String(_))
            | (ValueKind::Bool, Value::Boolean(_)) => Ok(value.clone()),
            (ValueKind::Int { min, max }, Value::Integer(i)) if (min..=max).contains(&i) => {
                Ok(value.clone())
            }
            (ValueKind::Float { above }, Value::Float(f)) if f.is_finite() && f > above => {
                Ok(value.clone())
            }
            (ValueKind::Float { above }, Value::Integer(i)) if (*i as f64) > *above => {
                Ok(Value::Float(*i as f64))
            }
            (ValueKind::Duration { min_ms }, Value::String(s)) => {
                match humantime::parse_duration(s) {
                    Ok(d) if d >= Duration::from_millis(*min_ms) && d <= LONGEST_DURATION => {
                        Ok(value.clone())
                    }
                    _ => Err(()),
                }
            }
            (ValueKind::OneOf(choices), Value::String(s)) if choices.contains(&s.as_str()) => {
                Ok(value.clone())
            }
            (ValueKind::StrList, Value::Array(items)) if items.iter().all(Value::is_str) => {
                Ok(value.clone())
            }
            _ => Err(()),
        }
    }

    /// Reads an environment variable's text as this kind.
    pub(super) fn parse_env(&self, text: &str) -> Result<Value, ()> {
        let value = match self {
            ValueKind::Bool => match text.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Value::Boolean(true),
                "false" | "0" | "no" | "off" => Value::Boolean(false),
                _ => return Err(()),
            },
            ValueKind::Int { .. } => Value::Integer(text.trim().parse().map_err(|_| ())?),
            ValueKind::Float { .. } => Value::Float(text.trim().parse().map_err(|_| ())?),
            ValueKind::StrList => Value::Array(
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
    pub kind: ValueKind,
    /// Default as a TOML literal; `None` when unset or derived at resolve time.
    pub default: Option<&'static str>,
    /// Never printed (passwords).
    pub secret: bool,
}

const fn key(name: &'static str, kind: ValueKind, default: Option<&'static str>) -> Key {
    Key {
        name,
        kind,
        default,
        secret: false,
    }
}

const PORT: ValueKind = ValueKind::Int { min: 1, max: 65535 };

/// The schema: every key any command reads. Extend it rather than inventing names.
pub const KEYS: &[Key] = &[
    key("device_id", ValueKind::Str, None),
    key("data_dir", ValueKind::Path, Some("\"./iotpipe-data\"")),
    key(
        "backend",
        ValueKind::OneOf(&["local", "aws"]),
        Some("\"local\""),
    ),
    key("mqtt.host", ValueKind::Str, Some("\"127.0.0.1\"")),
    key("mqtt.port", PORT, Some("1883")),
    key("mqtt.topic", ValueKind::Str, Some("\"sensor/data\"")),
    key("mqtt.qos", ValueKind::Int { min: 0, max: 1 }, Some("1")),
    key("mqtt.client_id", ValueKind::Str, None),
    key("mqtt.username", ValueKind::Str, None),
    Key {
        name: "mqtt.password",
        kind: ValueKind::Str,
        default: None,
        secret: true,
    },
    key("mqtt.cafile", ValueKind::Path, None),
    key("mqtt.cert", ValueKind::Path, None),
    key("mqtt.key", ValueKind::Path, None),
    key("mqtt.alpn", ValueKind::Bool, Some("false")),
    key("mqtt.tls", ValueKind::Bool, None),
    key("mqtt.iot_core", ValueKind::Bool, None),
    key("mqtt.will_topic", ValueKind::Str, None),
    key("mqtt.will_payload", ValueKind::Str, Some("\"offline\"")),
    key(
        "mqtt.will_qos",
        ValueKind::Int { min: 0, max: 1 },
        Some("1"),
    ),
    key("mqtt.will_retain", ValueKind::Bool, Some("true")),
    key("mqtt.birth_payload", ValueKind::Str, None),
    key(
        "mqtt.max_inflight",
        ValueKind::Int { min: 1, max: 65535 },
        Some("100"),
    ),
    key(
        "mqtt.keep_alive",
        ValueKind::Duration { min_ms: 5_000 },
        Some("\"30s\""),
    ),
    key("outbox.dir", ValueKind::Path, None),
    key(
        "outbox.max_bytes",
        ValueKind::Int {
            min: 1024 * 1024,
            max: i64::MAX,
        },
        Some("104857600"),
    ),
    key(
        "sense.every",
        ValueKind::Duration { min_ms: 1 },
        Some("\"1s\""),
    ),
    key(
        "sense.cpu_heat_factor",
        ValueKind::Float { above: 0.0 },
        None,
    ),
    key("sense.bus", ValueKind::Int { min: 0, max: 255 }, Some("1")),
    key(
        "sink.buffer_bytes",
        ValueKind::Int {
            min: 1,
            max: 128 * 1024 * 1024,
        },
        Some("5242880"),
    ),
    key(
        "sink.buffer_interval",
        ValueKind::Duration { min_ms: 1 },
        Some("\"60s\""),
    ),
    key("sink.gzip", ValueKind::Bool, Some("true")),
    key(
        "sink.ingest_bytes",
        ValueKind::Int {
            min: 64 * 1024,
            max: 1024 * 1024 * 1024,
        },
        Some("8388608"),
    ),
    key(
        "counter.threshold",
        ValueKind::Int {
            min: 1,
            max: 10_000,
        },
        Some("20"),
    ),
    key("counter.table", ValueKind::Str, Some("\"iotpipe-counter\"")),
    key(
        "counter.backend",
        ValueKind::OneOf(&["sqlite", "dynamodb"]),
        None,
    ),
    key(
        "counter.retention_days",
        ValueKind::Int { min: 1, max: 3650 },
        Some("30"),
    ),
    key(
        "compact.row_group_rows",
        ValueKind::Int {
            min: 1024,
            max: 1_048_576,
        },
        Some("16384"),
    ),
    key("compact.lease", ValueKind::Duration { min_ms: 1_000 }, None),
    key("aws.profile", ValueKind::Str, None),
    key("aws.region", ValueKind::Str, None),
    key("aws.endpoint_url", ValueKind::Str, None),
    key("aws.path_style", ValueKind::Bool, None),
    key("aws.bucket", ValueKind::Str, None),
    key("aws.raw_prefix", ValueKind::Str, Some("\"raw/\"")),
    key(
        "aws.compacted_prefix",
        ValueKind::Str,
        Some("\"compacted/\""),
    ),
    key("aws.rejected_prefix", ValueKind::Str, Some("\"rejected/\"")),
    key("aws.iot_rule_role", ValueKind::Str, None),
    key("aws.iot_rule", ValueKind::Str, None),
    key("aws.device_policy", ValueKind::Str, None),
    key("athena.database", ValueKind::Str, Some("\"iotpipe\"")),
    key("athena.raw_table", ValueKind::Str, Some("\"raw_readings\"")),
    key("athena.table", ValueKind::Str, Some("\"readings\"")),
    key("athena.workgroup", ValueKind::Str, Some("\"primary\"")),
    key("athena.output_location", ValueKind::Str, None),
    key("kinesis.stream", ValueKind::Str, Some("\"iotpipe-sensor\"")),
    key(
        "lambda.compact",
        ValueKind::OneOf(&["athena", "off"]),
        Some("\"athena\""),
    ),
    key("quicksight.account_id", ValueKind::Str, None),
    key("quicksight.datasets", ValueKind::StrList, Some("[]")),
    key(
        "quicksight.schedule",
        ValueKind::OneOf(&["hourly", "daily", "off"]),
        Some("\"hourly\""),
    ),
    key("dashboard.out", ValueKind::Path, None),
    key(
        "dashboard.window",
        ValueKind::Duration { min_ms: 60_000 },
        Some("\"7d\""),
    ),
    key("http.listen", ValueKind::Str, None),
    key(
        "alert.quiet_after",
        ValueKind::Duration { min_ms: 1000 },
        Some("\"5m\""),
    ),
];

pub fn find_key(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

/// The environment variable for a key: `mqtt.port` -> `IOTPIPE_MQTT_PORT`.
pub fn env_name(key: &str) -> String {
    format!("IOTPIPE_{}", key.replace('.', "_").to_ascii_uppercase())
}
