//! One module per command, each with its clap arguments and a `run`;
//! `cli::dispatch` calls it. Nothing (config, clients, runtimes) is set up
//! before the command that needs it asks for it.

pub mod args;
#[cfg(feature = "pipeline")]
pub mod compact;
pub mod completions;
pub mod config;
#[cfg(feature = "pipeline")]
pub mod counters;
#[cfg(feature = "pipeline")]
pub mod dashboard;
pub mod device;
pub mod doctor;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod publish;
pub mod sense;
#[cfg(feature = "pipeline")]
pub mod sink;
pub mod tail;
#[cfg(feature = "pipeline")]
pub mod up;

use std::path::PathBuf;

use crate::config::{FileChoice, Override, Resolved};
use crate::output::Output;

/// What every command gets from the global flags, and stdout in the chosen format.
pub struct Context {
    pub output: Output,
    /// `--quiet`: errors only on stderr.
    pub quiet: bool,
    /// `--config FILE`.
    pub config_file: Option<PathBuf>,
    /// The config keys global flags set (`--profile`, `--region`, ...).
    pub overrides: Vec<Override>,
}

impl Context {
    /// Resolves the configuration with the global flags and the command's own `overrides`.
    pub fn config(&self, overrides: Vec<Override>) -> anyhow::Result<Resolved> {
        let mut all = self.overrides.clone();
        all.extend(overrides);
        let file = FileChoice {
            explicit: self.config_file.clone(),
        };
        let resolved = crate::config::resolve(&file, &all)?;
        for warning in &resolved.warnings {
            tracing::warn!("{warning}");
        }
        Ok(resolved)
    }
}

/// The async runtime of commands that talk to a network or a store: one thread,
/// which is plenty for an I/O-bound CLI and keeps the footprint small.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    use anyhow::Context as _;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// A token fired by Ctrl-C or SIGTERM (call inside the runtime); a second
/// signal exits at once with code 130.
pub fn on_signals() -> crate::signal::Cancel {
    crate::signal::Cancel::on_signals(crate::quit_interrupted)
}
