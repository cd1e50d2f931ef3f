//! The one place where defaults, the config file, `IOTPIPE_*` variables and flags meet.
//!
//! Every key is declared once in [`KEYS`] with its kind, default and meaning; the
//! file, the environment and flags are each checked against that schema, merged
//! with later layers winning, and deserialized into the typed [`Config`]. Each
//! resolved value remembers where it came from, for `iotpipe config show`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use toml::Value;

use crate::error::ConfigError;

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
    fn check(&self, value: &Value) -> Result<Value, ()> {
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
    fn parse_env(&self, text: &str) -> Result<Value, ()> {
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
            max: 100_000,
        },
        Some("20"),
    ),
    key("counter.table", Kind::Str, Some("\"iotpipe-counter\"")),
    key("aws.profile", Kind::Str, None),
    key("aws.region", Kind::Str, None),
    key("aws.endpoint_url", Kind::Str, None),
    key("aws.bucket", Kind::Str, None),
    key("aws.raw_prefix", Kind::Str, Some("\"raw/\"")),
    key("aws.compacted_prefix", Kind::Str, Some("\"compacted/\"")),
    key("aws.rejected_prefix", Kind::Str, Some("\"rejected/\"")),
    key("aws.iot_rule_role", Kind::Str, None),
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
];

pub fn find_key(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

/// The environment variable for a key: `mqtt.port` -> `IOTPIPE_MQTT_PORT`.
pub fn env_name(key: &str) -> String {
    format!("IOTPIPE_{}", key.replace('.', "_").to_ascii_uppercase())
}

/// Where a resolved value came from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    Default,
    /// Computed when not set, e.g. the hostname for `device_id`.
    Derived(&'static str),
    File(PathBuf),
    Env(String),
    Flag(&'static str),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::Derived(how) => write!(f, "default ({how})"),
            Source::File(path) => write!(f, "file {}", path.display()),
            Source::Env(var) => write!(f, "env {var}"),
            Source::Flag(flag) => write!(f, "flag {flag}"),
        }
    }
}

/// A value set by a command-line flag, applied over every other layer.
#[derive(Debug, Clone)]
pub struct Override {
    pub key: &'static str,
    pub flag: &'static str,
    pub value: Value,
}

impl Override {
    pub fn new(key: &'static str, flag: &'static str, value: impl Into<Value>) -> Self {
        Override {
            key,
            flag,
            value: value.into(),
        }
    }
}

/// How to find the config file.
#[derive(Debug, Clone, Default)]
pub struct FileChoice {
    /// `--config FILE`: must exist.
    pub explicit: Option<PathBuf>,
}

/// The merged configuration with the origin of every value.
#[derive(Debug)]
pub struct Resolved {
    pub config: Config,
    pub file: Option<PathBuf>,
    pub values: BTreeMap<&'static str, (Value, Source)>,
    /// Problems that do not stop the command (unknown `IOTPIPE_*` variables).
    pub warnings: Vec<String>,
}

/// Resolves the configuration: defaults < file < `IOTPIPE_*` env < flags.
pub fn resolve(file: &FileChoice, overrides: &[Override]) -> Result<Resolved, ConfigError> {
    let env: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, _)| k.starts_with("IOTPIPE_"))
        .collect();
    resolve_from(file, &env, overrides)
}

fn resolve_from(
    choice: &FileChoice,
    env: &[(String, String)],
    overrides: &[Override],
) -> Result<Resolved, ConfigError> {
    let mut values: BTreeMap<&'static str, (Value, Source)> = BTreeMap::new();
    for key in KEYS {
        if let Some(literal) = key.default {
            let value = parse_literal(literal).ok_or_else(|| {
                ConfigError::Invalid(format!("bad built-in default for {}", key.name))
            })?;
            values.insert(key.name, (value, Source::Default));
        }
    }

    let mut warnings = Vec::new();
    let file = locate_file(choice, env)?;
    if let Some(path) = &file {
        for (key, value) in read_file(path)? {
            values.insert(key, (value, Source::File(path.clone())));
        }
    }

    for (var, text) in env {
        if var == CONFIG_ENV {
            continue;
        }
        let Some(key) = KEYS.iter().find(|k| env_name(k.name) == *var) else {
            // A warning, not an error: environments carry variables from many
            // places, and one stray name must not stop every command.
            warnings.push(format!(
                "ignoring {var}: no config key has that name (`iotpipe config show` lists the variables)"
            ));
            continue;
        };
        let value = key
            .kind
            .parse_env(text)
            .map_err(|()| ConfigError::BadValue {
                key: key.name.into(),
                origin: format!("env {var}"),
                value: shown(key, text),
                expected: key.kind.expected(),
            })?;
        values.insert(key.name, (value, Source::Env(var.clone())));
    }

    for o in overrides {
        let key = find_key(o.key).ok_or_else(|| {
            ConfigError::Invalid(format!("flag {} names no config key {}", o.flag, o.key))
        })?;
        let value = key
            .kind
            .check(&o.value)
            .map_err(|()| ConfigError::BadValue {
                key: key.name.into(),
                origin: format!("flag {}", o.flag),
                value: shown(key, &display_value(&o.value)),
                expected: key.kind.expected(),
            })?;
        values.insert(key.name, (value, Source::Flag(o.flag)));
    }

    derive_defaults(&mut values);
    let config = Config::deserialize(nest(&values))
        .map_err(|e| ConfigError::Invalid(format!("configuration does not fit the schema: {e}")))?;
    Ok(Resolved {
        config,
        file,
        values,
        warnings,
    })
}

/// `IOTPIPE_CONFIG`: the config file, like `--config`.
pub const CONFIG_ENV: &str = "IOTPIPE_CONFIG";

fn locate_file(
    choice: &FileChoice,
    env: &[(String, String)],
) -> Result<Option<PathBuf>, ConfigError> {
    let from_env = env
        .iter()
        .find(|(k, _)| k == CONFIG_ENV)
        .map(|(_, v)| PathBuf::from(v));
    if let Some(path) = choice.explicit.clone().or(from_env) {
        return Ok(Some(path));
    }
    let local = PathBuf::from("iotpipe.toml");
    if local.is_file() {
        return Ok(Some(local));
    }
    let xdg = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".config")));
    Ok(xdg
        .map(|dir| dir.join("iotpipe").join("iotpipe.toml"))
        .filter(|p| p.is_file()))
}

fn read_file(path: &Path) -> Result<Vec<(&'static str, Value)>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| ConfigError::Syntax {
        path: path.display().to_string(),
        message: e.to_string().trim_end().to_string(),
    })?;
    let origin = path.display().to_string();
    let mut out = Vec::new();
    for (name, value) in &table {
        match value {
            Value::Table(section) if is_section(name) => {
                for (field, value) in section {
                    out.push(check_file_value(
                        &format!("{name}.{field}"),
                        value,
                        &origin,
                    )?);
                }
            }
            _ => out.push(check_file_value(name, value, &origin)?),
        }
    }
    Ok(out)
}

/// The `[section]` tables of the file, as listed in hints.
const SECTIONS: [&str; 11] = [
    "[mqtt]",
    "[outbox]",
    "[sense]",
    "[sink]",
    "[counter]",
    "[aws]",
    "[athena]",
    "[kinesis]",
    "[lambda]",
    "[quicksight]",
    "[dashboard]",
];

fn is_section(name: &str) -> bool {
    SECTIONS.iter().any(|s| s.trim_matches(['[', ']']) == name)
}

fn check_file_value(
    name: &str,
    value: &Value,
    origin: &str,
) -> Result<(&'static str, Value), ConfigError> {
    let Some(key) = find_key(name) else {
        let section = name.split_once('.').map(|(s, _)| s);
        let mut known: Vec<&'static str> = KEYS
            .iter()
            .filter(|k| k.name.split_once('.').map(|(s, _)| s) == section)
            .map(|k| k.name)
            .collect();
        if section.is_none() {
            known.extend(SECTIONS);
        }
        return Err(ConfigError::UnknownKey {
            key: name.into(),
            origin: origin.into(),
            known,
        });
    };
    let value = key.kind.check(value).map_err(|()| ConfigError::BadValue {
        key: key.name.into(),
        origin: origin.into(),
        value: shown(key, &display_value(value)),
        expected: key.kind.expected(),
    })?;
    Ok((key.name, value))
}

fn shown(key: &Key, text: &str) -> String {
    if key.secret {
        "(hidden)".into()
    } else {
        text.into()
    }
}

fn display_value(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

fn parse_literal(literal: &str) -> Option<Value> {
    let table: toml::Table = toml::from_str(&format!("v = {literal}")).ok()?;
    table.get("v").cloned()
}

/// Fills the keys whose defaults depend on the machine or on other keys.
fn derive_defaults(values: &mut BTreeMap<&'static str, (Value, Source)>) {
    if !values.contains_key("device_id") {
        let host = gethostname::gethostname().to_string_lossy().into_owned();
        let host = if host.is_empty() {
            "iotpipe".to_string()
        } else {
            host
        };
        values.insert(
            "device_id",
            (Value::String(host), Source::Derived("hostname")),
        );
    }
    if !values.contains_key("dashboard.out") {
        if let Some((Value::String(data_dir), _)) = values.get("data_dir") {
            let out = Path::new(data_dir).join("dashboard").display().to_string();
            values.insert(
                "dashboard.out",
                (Value::String(out), Source::Derived("<data_dir>/dashboard")),
            );
        }
    }
    if !values.contains_key("outbox.dir") {
        if let Some((Value::String(data_dir), _)) = values.get("data_dir") {
            let out = Path::new(data_dir).join("outbox").display().to_string();
            values.insert(
                "outbox.dir",
                (Value::String(out), Source::Derived("<data_dir>/outbox")),
            );
        }
    }
    if !values.contains_key("athena.output_location") {
        if let Some((Value::String(bucket), _)) = values.get("aws.bucket") {
            let out = format!("s3://{bucket}/athena-results/");
            values.insert(
                "athena.output_location",
                (
                    Value::String(out),
                    Source::Derived("s3://<aws.bucket>/athena-results/"),
                ),
            );
        }
    }
}

fn nest(values: &BTreeMap<&'static str, (Value, Source)>) -> Value {
    let mut root = toml::Table::new();
    for (name, (value, _)) in values {
        match name.split_once('.') {
            Some((section, field)) => {
                let entry = root
                    .entry(section.to_string())
                    .or_insert_with(|| Value::Table(toml::Table::new()));
                if let Value::Table(table) = entry {
                    table.insert(field.to_string(), value.clone());
                }
            }
            None => {
                root.insert(name.to_string(), value.clone());
            }
        }
    }
    Value::Table(root)
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    humantime::parse_duration(&text).map_err(serde::de::Error::custom)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Local,
    Aws,
}

/// The typed configuration every command reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub device_id: String,
    pub data_dir: PathBuf,
    pub backend: Backend,
    pub mqtt: Mqtt,
    pub outbox: OutboxConfig,
    pub sense: Sense,
    pub sink: Sink,
    pub counter: Counter,
    pub aws: Aws,
    pub athena: Athena,
    pub kinesis: Kinesis,
    pub lambda: Lambda,
    pub quicksight: QuickSight,
    pub dashboard: Dashboard,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mqtt {
    pub host: String,
    pub port: u16,
    pub topic: String,
    pub qos: u8,
    pub client_id: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub cafile: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub alpn: bool,
    pub tls: Option<bool>,
    pub iot_core: Option<bool>,
    pub max_inflight: u16,
    #[serde(deserialize_with = "duration")]
    pub keep_alive: Duration,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxConfig {
    pub dir: PathBuf,
    pub max_bytes: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sense {
    #[serde(deserialize_with = "duration")]
    pub every: Duration,
    pub cpu_heat_factor: Option<f64>,
    pub bus: u8,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sink {
    pub buffer_bytes: u64,
    #[serde(deserialize_with = "duration")]
    pub buffer_interval: Duration,
    pub gzip: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counter {
    pub threshold: u32,
    pub table: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Aws {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    pub bucket: Option<String>,
    pub raw_prefix: String,
    pub compacted_prefix: String,
    pub rejected_prefix: String,
    /// The IAM role of the IoT rule (name or ARN), for `iotpipe doctor`.
    pub iot_rule_role: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Athena {
    pub database: String,
    pub raw_table: String,
    pub table: String,
    pub workgroup: String,
    pub output_location: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Kinesis {
    pub stream: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lambda {
    /// What the S3-event handler does with a batch it claims: compact it with
    /// Athena in the same invocation, or leave it to `iotpipe compact`.
    pub compact: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuickSight {
    pub account_id: Option<String>,
    pub datasets: Vec<String>,
    pub schedule: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dashboard {
    pub out: PathBuf,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn sample_value(kind: &Kind) -> Value {
        match kind {
            Kind::Str | Kind::Path => Value::String("x".into()),
            Kind::Bool => Value::Boolean(true),
            Kind::Int { min, .. } => Value::Integer(*min),
            Kind::Float { above } => Value::Float(above + 1.0),
            Kind::Duration { .. } => Value::String("1m".into()),
            Kind::OneOf(choices) => Value::String(choices[0].into()),
            Kind::StrList => Value::Array(vec![Value::String("a".into())]),
        }
    }

    #[test]
    fn schema_and_struct_agree_on_every_key() {
        // Every key set at once must deserialize (no key the struct lacks) ...
        let overrides: Vec<Override> = KEYS
            .iter()
            .map(|k| Override::new(k.name, "--test", sample_value(&k.kind)))
            .collect();
        let resolved = resolve_from(&FileChoice::default(), &[], &overrides).unwrap();
        assert_eq!(resolved.values.len(), KEYS.len());
        // ... and every env name maps back to exactly one key.
        let mut names: Vec<String> = KEYS.iter().map(|k| env_name(k.name)).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), KEYS.len());
        // The hint's section list is the set of key prefixes.
        let mut prefixes: Vec<String> = KEYS
            .iter()
            .filter_map(|k| k.name.split_once('.'))
            .map(|(s, _)| format!("[{s}]"))
            .collect();
        prefixes.dedup();
        assert_eq!(prefixes, SECTIONS);
        // Defaults must satisfy their own kind.
        for key in KEYS {
            if let Some(literal) = key.default {
                key.kind.check(&parse_literal(literal).unwrap()).unwrap();
            }
        }
    }

    #[test]
    fn env_beats_defaults_and_flags_beat_env() {
        let resolved = resolve_from(
            &FileChoice::default(),
            &env(&[("IOTPIPE_MQTT_PORT", "1999"), ("IOTPIPE_DEVICE_ID", "123")]),
            &[Override::new("device_id", "--device-id", "flagged")],
        )
        .unwrap();
        assert_eq!(resolved.config.mqtt.port, 1999);
        assert_eq!(resolved.config.device_id, "flagged");
        assert_eq!(
            resolved.values["mqtt.port"].1,
            Source::Env("IOTPIPE_MQTT_PORT".into())
        );
    }

    #[test]
    fn bad_env_values_name_the_variable_and_the_expectation() {
        let err = resolve_from(
            &FileChoice::default(),
            &env(&[("IOTPIPE_MQTT_QOS", "2")]),
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("IOTPIPE_MQTT_QOS") && err.contains("0 or 1"),
            "{err}"
        );
        let err = resolve_from(
            &FileChoice::default(),
            &env(&[("IOTPIPE_MQTT_PASSWORD", "")]),
            &[],
        );
        assert!(err.is_ok(), "an empty password is a string");
        let resolved = resolve_from(
            &FileChoice::default(),
            &env(&[("IOTPIPE_MQTT_HOTS", "x")]),
            &[],
        )
        .unwrap();
        assert!(
            resolved.warnings[0].contains("IOTPIPE_MQTT_HOTS"),
            "{:?}",
            resolved.warnings
        );
    }

    #[test]
    fn derived_defaults_follow_their_inputs() {
        let resolved = resolve_from(
            &FileChoice::default(),
            &env(&[("IOTPIPE_DATA_DIR", "/srv/d"), ("IOTPIPE_AWS_BUCKET", "b")]),
            &[],
        )
        .unwrap();
        assert_eq!(
            resolved.config.dashboard.out,
            PathBuf::from("/srv/d/dashboard")
        );
        assert_eq!(
            resolved.config.athena.output_location.as_deref(),
            Some("s3://b/athena-results/")
        );
    }
}
