//! One module per command. [`dispatch`] runs the parsed command; nothing (config,
//! clients, runtimes) is set up before the command that needs it asks for it.

pub mod args;
pub mod compact;
pub mod completions;
pub mod config;
pub mod counters;
pub mod dashboard;
pub mod doctor;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod publish;
pub mod sense;
pub mod sink;
pub mod tail;
pub mod up;

use crate::cli::{Cli, Command, GlobalArgs};
use crate::config::{FileChoice, Override, Resolved};
use crate::error::Exit;
use crate::output::Output;

/// What every command gets: the global flags and stdout in the chosen format.
pub struct Context {
    pub global: GlobalArgs,
    pub output: Output,
}

impl Context {
    /// Resolves the configuration with the global flags and the command's own `overrides`.
    pub fn config(&self, overrides: Vec<Override>) -> anyhow::Result<Resolved> {
        let mut all = self.global.overrides();
        all.extend(overrides);
        let file = FileChoice {
            explicit: self.global.config.clone(),
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

pub fn dispatch(cli: Cli) -> anyhow::Result<Exit> {
    let Cli { global, command } = cli;
    let mut ctx = Context {
        output: Output::new(global.output, global.is_quiet()),
        global,
    };
    match command {
        Command::Up(args) => up::run(&mut ctx, &args),
        Command::Sense(args) => sense::run(&mut ctx, &args),
        Command::Publish(args) => publish::run(&mut ctx, &args),
        Command::Tail(args) => tail::run(&mut ctx, &args),
        Command::Sink(args) => sink::run(&mut ctx, &args),
        Command::Counters(args) => counters::run(&mut ctx, &args),
        Command::Compact(args) => compact::run(&mut ctx, &args),
        Command::RefreshDashboard(args) => dashboard::run(&mut ctx, &args),
        #[cfg(feature = "lambda")]
        Command::Lambda(args) => lambda::run(&mut ctx, &args),
        Command::Doctor(args) => doctor::run(&mut ctx, &args),
        Command::Config(args) => config::run(&mut ctx, &args),
        Command::Completions(args) => completions::run(&mut ctx, &args),
        Command::GenerateAssets(args) => completions::generate_assets(&args),
    }
}
