//! `iotpipe config show`: the effective configuration and where each value came from.

use clap::Subcommand;
use serde::Serialize;
use toml::Value;

use super::Context;
use crate::config::{KEYS, env_name};
use crate::error::Exit;
use crate::output::{Column, Row};

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print every key, its effective value and its source (default, file, env or flag)
    Show,
}

#[derive(Debug, Serialize)]
struct KeyRow {
    key: &'static str,
    value: serde_json::Value,
    source: String,
    env: String,
}

impl Row for KeyRow {
    const COLUMNS: &'static [Column] = &[
        Column::left("key", 24),
        Column::left("value", 20),
        Column::left("source", 10),
        Column::left("env", 0),
    ];

    fn cells(&self) -> Vec<String> {
        let value = match &self.value {
            serde_json::Value::Null => "-".to_string(),
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        vec![
            self.key.into(),
            value,
            self.source.clone(),
            self.env.clone(),
        ]
    }
}

pub fn run(ctx: &mut Context, command: &ConfigCommand) -> anyhow::Result<Exit> {
    match command {
        ConfigCommand::Show => show(ctx),
    }
}

fn show(ctx: &mut Context) -> anyhow::Result<Exit> {
    let resolved = ctx.config(Vec::new())?;
    if !ctx.quiet {
        match &resolved.file {
            Some(path) => eprintln!("config file: {}", path.display()),
            None => eprintln!(
                "config file: none (looked for ./iotpipe.toml and $XDG_CONFIG_HOME/iotpipe/iotpipe.toml)"
            ),
        }
    }
    let mut records = ctx.output.records::<KeyRow>(false);
    for key in KEYS {
        let (value, source) = match resolved.values.get(key.name) {
            Some(_) if key.secret => (
                serde_json::Value::String("********".into()),
                source_of(&resolved, key.name),
            ),
            Some((value, _)) => (to_json(value), source_of(&resolved, key.name)),
            None => (serde_json::Value::Null, "unset".into()),
        };
        records.write(&KeyRow {
            key: key.name,
            value,
            source,
            env: env_name(key.name),
        })?;
    }
    records.finish()?;
    Ok(Exit::Ok)
}

fn source_of(resolved: &crate::config::Resolved, key: &str) -> String {
    resolved
        .values
        .get(key)
        .map(|(_, source)| source.to_string())
        .unwrap_or_default()
}

fn to_json(value: &Value) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}
