//! The one place where defaults, the config file, `IOTPIPE_*` variables and flags meet.
//!
//! Every key is declared once in [`KEYS`] with its kind, default and meaning; the
//! file, the environment and flags are each checked against that schema, merged
//! with later layers winning, and deserialized into the typed [`Config`]. Each
//! resolved value remembers where it came from, for `iotpipe config show`.

mod keys;
mod settings;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Diagnose, Exit};
use serde::Deserialize;
use toml::Value;

pub use keys::{KEYS, Key, LONGEST_DURATION, ValueKind, env_name, find_key};
pub use settings::*;

/// Configuration that cannot be used: a bad file, key, value or flag combination.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid TOML: {message}")]
    Syntax { path: String, message: String },
    #[error("unknown key `{key}` in {origin}")]
    UnknownKey {
        key: String,
        origin: String,
        known: Vec<&'static str>,
    },
    #[error("bad value for `{key}` in {origin}: {value} (expected {expected})")]
    BadValue {
        key: String,
        origin: String,
        value: String,
        expected: String,
    },
    #[error("{0}")]
    Invalid(String),
}

impl Diagnose for ConfigError {
    fn exit(&self) -> Exit {
        Exit::Usage
    }

    fn hint(&self) -> Option<String> {
        match self {
            ConfigError::Read { .. } => Some(
                "check the path given with --config or IOTPIPE_CONFIG, or remove it to use defaults"
                    .into(),
            ),
            ConfigError::Syntax { .. } => {
                Some("fix the line shown above; examples/iotpipe.toml is a commented reference".into())
            }
            ConfigError::UnknownKey { known, .. } => Some(format!(
                "known keys here: {}; `iotpipe config show` lists every key",
                known.join(", ")
            )),
            ConfigError::BadValue { .. } => Some(
                "`iotpipe config show` lists every key with its value; examples/iotpipe.toml documents them"
                    .into(),
            ),
            ConfigError::Invalid(_) => None,
        }
    }
}

/// Where a resolved value came from.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    Default,
    /// A command's own default (`iotpipe up` lands objects every 5 s).
    CommandDefault(&'static str),
    /// Computed when not set, e.g. the hostname for `device_id`.
    Derived(&'static str),
    File(PathBuf),
    Env(String),
    Flag(&'static str),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::CommandDefault(command) => write!(f, "default of {command}"),
            Origin::Derived(how) => write!(f, "default ({how})"),
            Origin::File(path) => write!(f, "file {}", path.display()),
            Origin::Env(var) => write!(f, "env {var}"),
            Origin::Flag(flag) => write!(f, "flag {flag}"),
        }
    }
}

/// A value set by a command-line flag, applied over every other layer; or a
/// command's own default, applied over the built-in one only.
#[derive(Debug, Clone)]
pub struct Override {
    pub key: &'static str,
    /// The flag, or the command whose default it is.
    pub flag: &'static str,
    pub value: Value,
    pub command_default: bool,
}

impl Override {
    pub fn new(key: &'static str, flag: &'static str, value: impl Into<Value>) -> Self {
        Override {
            key,
            flag,
            value: value.into(),
            command_default: false,
        }
    }

    /// `command`'s default for `key`: the file, `IOTPIPE_*` and flags still win.
    pub fn default_of(command: &'static str, key: &'static str, value: impl Into<Value>) -> Self {
        Override {
            command_default: true,
            ..Override::new(key, command, value)
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
    pub values: BTreeMap<&'static str, (Value, Origin)>,
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
    let mut values: BTreeMap<&'static str, (Value, Origin)> = BTreeMap::new();
    for key in KEYS {
        if let Some(literal) = key.default {
            let value = parse_literal(literal).ok_or_else(|| {
                ConfigError::Invalid(format!("bad built-in default for {}", key.name))
            })?;
            values.insert(key.name, (value, Origin::Default));
        }
    }

    let (defaults, overrides): (Vec<&Override>, Vec<&Override>) =
        overrides.iter().partition(|o| o.command_default);
    for o in defaults {
        let value = checked(o, "default of")?;
        values.insert(o.key, (value, Origin::CommandDefault(o.flag)));
    }

    let mut warnings = Vec::new();
    let file = locate_file(choice, env)?;
    if let Some(path) = &file {
        for (key, value) in read_file(path)? {
            values.insert(key, (value, Origin::File(path.clone())));
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
        values.insert(key.name, (value, Origin::Env(var.clone())));
    }

    for o in overrides {
        let value = checked(o, "flag")?;
        values.insert(o.key, (value, Origin::Flag(o.flag)));
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

/// An override's value, checked against its key's kind.
fn checked(o: &Override, origin: &str) -> Result<Value, ConfigError> {
    let key = find_key(o.key).ok_or_else(|| {
        ConfigError::Invalid(format!("{origin} {} names no config key {}", o.flag, o.key))
    })?;
    key.kind
        .check(&o.value)
        .map_err(|()| ConfigError::BadValue {
            key: key.name.into(),
            origin: format!("{origin} {}", o.flag),
            value: shown(key, &display_value(&o.value)),
            expected: key.kind.expected(),
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
        message: syntax_message(&text, &e),
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
const SECTIONS: [&str; 14] = [
    "[mqtt]",
    "[outbox]",
    "[sense]",
    "[sink]",
    "[counter]",
    "[compact]",
    "[aws]",
    "[athena]",
    "[kinesis]",
    "[lambda]",
    "[quicksight]",
    "[dashboard]",
    "[http]",
    "[alert]",
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

/// Where a TOML syntax error is and what it is, with the offending line shown
/// unless it sets a secret key: toml's own message quotes the line as it is,
/// and a password with a missing quote would be printed.
fn syntax_message(text: &str, error: &toml::de::Error) -> String {
    let offset = error.span().map_or(0, |span| span.start).min(text.len());
    let before = &text[..offset];
    let line_number = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    let line = text.lines().nth(line_number - 1).unwrap_or_default();
    let shown = match secret_assignment(line) {
        Some(key) => format!("{key} = (hidden)"),
        None => line.to_string(),
    };
    format!(
        "line {line_number}, column {column}: {}\n  {line_number} | {shown}",
        error.message().trim_end()
    )
}

/// The name of a secret key `line` assigns anywhere in it (`password = ...`,
/// dotted, quoted, or inside an inline table such as `mqtt = { password =
/// ... }`), else None.
fn secret_assignment(line: &str) -> Option<&'static str> {
    KEYS.iter().filter(|k| k.secret).find_map(|key| {
        let name = key.name.rsplit('.').next().unwrap_or(key.name);
        line.match_indices(name)
            .any(|(at, _)| {
                let before = line[..at].chars().next_back();
                let after = line[at + name.len()..].trim_start_matches(['"', '\'', ' ', '\t']);
                !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '-')
                    && after.starts_with('=')
            })
            .then_some(name)
    })
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
fn derive_defaults(values: &mut BTreeMap<&'static str, (Value, Origin)>) {
    if !values.contains_key("device_id") {
        let host = gethostname::gethostname().to_string_lossy().into_owned();
        let host = if host.is_empty() {
            "iotpipe".to_string()
        } else {
            host
        };
        values.insert(
            "device_id",
            (Value::String(host), Origin::Derived("hostname")),
        );
    }
    for (key, folder, how) in [
        ("dashboard.out", "dashboard", "<data_dir>/dashboard"),
        ("outbox.dir", "outbox", "<data_dir>/outbox"),
    ] {
        if values.contains_key(key) {
            continue;
        }
        if let Some((Value::String(data_dir), _)) = values.get("data_dir") {
            let path = Path::new(data_dir).join(folder).display().to_string();
            values.insert(key, (Value::String(path), Origin::Derived(how)));
        }
    }
    if !values.contains_key("athena.output_location")
        && let Some((Value::String(bucket), _)) = values.get("aws.bucket")
    {
        let out = format!("s3://{bucket}/athena-results/");
        values.insert(
            "athena.output_location",
            (
                Value::String(out),
                Origin::Derived("s3://<aws.bucket>/athena-results/"),
            ),
        );
    }
}

fn nest(values: &BTreeMap<&'static str, (Value, Origin)>) -> Value {
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
