//! The command line: global options and the subcommands, parsed by clap.
//!
//! `///` comments here are the help text. Flags that the config file can also
//! set are `Option`s, so "not given" never masks the file or environment.

use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::cmd;
use crate::cmd::Context;
use crate::config::Override;
use crate::error::Exit;
use crate::output::{ColorChoice, Format, Output};

#[derive(Debug, Parser)]
#[command(
    name = "iotpipe",
    version,
    about = "Operate a Sense HAT sensor-log pipeline, from the Raspberry Pi to the dashboard",
    long_about = "Operate a Sense HAT sensor-log pipeline, from the Raspberry Pi to the dashboard.\n\n\
        Configuration comes from flags, then IOTPIPE_* environment variables, then the config \
        file (--config, ./iotpipe.toml, or $XDG_CONFIG_HOME/iotpipe/iotpipe.toml), then defaults. \
        `iotpipe config show` prints the result and where each value came from.",
    after_help = "Exit codes: 0 ok, 1 failure, 2 usage or configuration error, 3 partial \
        (e.g. not every message acknowledged), 130 interrupted.",
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// How log lines are written on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Config file to read instead of ./iotpipe.toml or the XDG config dir (also IOTPIPE_CONFIG)
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Output format [default: table on a terminal, jsonl when piped]
    #[arg(short, long, global = true, value_enum, value_name = "FORMAT")]
    pub output: Option<Format>,

    /// More detail on stderr (-v info, -vv debug, -vvv trace), and error backtraces.
    /// The short -v works before the command (`iotpipe -v sense`), since commands
    /// that mirror mosquitto use -v themselves
    #[arg(long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[arg(short = 'v', action = clap::ArgAction::Count, hide = true)]
    pub verbose_short: u8,

    /// Only errors on stderr: no progress, no summaries. The short -q works before
    /// the command (`iotpipe -q sense`), since `publish -q` is the QoS as in mosquitto_pub
    #[arg(long, global = true)]
    pub quiet: bool,

    #[arg(short = 'q', hide = true)]
    pub quiet_short: bool,

    /// When to use colour on stderr and in tables (NO_COLOR and TERM=dumb turn auto off)
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Same as --color never
    #[arg(long, global = true)]
    pub no_color: bool,

    /// Log lines on stderr as text, or one JSON object each (journald, Fluent Bit)
    #[arg(long, global = true, value_enum, value_name = "FORMAT", default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    #[cfg_attr(not(feature = "pipeline"), arg(hide = true))]
    /// AWS named profile (config key aws.profile)
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,

    #[cfg_attr(not(feature = "pipeline"), arg(hide = true))]
    /// AWS region (config key aws.region)
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,

    #[cfg_attr(not(feature = "pipeline"), arg(hide = true))]
    /// Endpoint for every AWS service, e.g. a local moto server (config key aws.endpoint_url)
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

impl GlobalArgs {
    pub fn verbosity(&self) -> u8 {
        self.verbose.saturating_add(self.verbose_short)
    }

    pub fn is_quiet(&self) -> bool {
        (self.quiet || self.quiet_short) && self.verbosity() == 0
    }

    pub fn color(&self) -> ColorChoice {
        if self.no_color {
            ColorChoice::Never
        } else {
            self.color
        }
    }

    /// The config keys these flags set.
    pub fn overrides(&self) -> Vec<Override> {
        let mut overrides = Vec::new();
        if let Some(profile) = &self.profile {
            overrides.push(Override::new("aws.profile", "--profile", profile.as_str()));
        }
        if let Some(region) = &self.region {
            overrides.push(Override::new("aws.region", "--region", region.as_str()));
        }
        if let Some(url) = &self.endpoint_url {
            overrides.push(Override::new(
                "aws.endpoint_url",
                "--endpoint-url",
                url.as_str(),
            ));
        }
        overrides
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    #[cfg(feature = "pipeline")]
    /// Run the whole pipeline on this machine, no cloud account needed
    Up(cmd::up::UpArgs),

    /// Read the Sense HAT (or the simulator) and print readings
    Sense(cmd::sense::SenseArgs),

    /// Publish readings or lines over MQTT, counting every acknowledgement
    Publish(Box<cmd::publish::PublishArgs>),

    /// Follow the stream: MQTT topics, a Kinesis stream, or objects as they land
    #[command(subcommand)]
    #[cfg_attr(
        not(feature = "pipeline"),
        command(about = "Follow the stream: MQTT topics")
    )]
    Tail(cmd::tail::TailCommand),

    #[cfg(feature = "pipeline")]
    /// Land MQTT payloads as Firehose-style raw objects, counted exactly once
    Sink(Box<cmd::sink::SinkArgs>),

    #[cfg(feature = "pipeline")]
    /// Show pending objects and batches; --reconcile checks them against the store
    Counters(cmd::counters::CountersArgs),

    #[cfg(feature = "pipeline")]
    /// Compact full batches of raw objects into Parquet, exactly once
    Compact(cmd::compact::CompactArgs),

    #[cfg(feature = "pipeline")]
    /// Rebuild the local HTML dashboard, or refresh the QuickSight datasets
    RefreshDashboard(cmd::dashboard::DashboardArgs),

    /// The AWS Lambda handler: count S3 objects once, claim and compact batches
    #[cfg(feature = "lambda")]
    Lambda(cmd::lambda::LambdaArgs),

    /// A fleet on AWS IoT Core: a device's key and CSR; add, list and remove things
    #[command(subcommand)]
    #[cfg_attr(
        not(feature = "pipeline"),
        command(about = "This device's key and certificate signing request for AWS IoT Core")
    )]
    Device(cmd::device::DeviceCommand),

    /// Check config, Sense HAT, broker and AWS set-up; print the fix for each failure
    #[cfg_attr(
        not(feature = "pipeline"),
        command(
            about = "Check config, Sense HAT and broker set-up; print the fix for each failure"
        )
    )]
    Doctor(cmd::doctor::DoctorArgs),

    /// Inspect the effective configuration
    #[command(subcommand)]
    Config(cmd::config::ConfigCommand),

    /// Print a shell completion script
    Completions(cmd::completions::CompletionsArgs),

    /// Regenerate the checked-in completions and man pages under DIR
    #[command(hide = true, name = "generate-assets")]
    GenerateAssets(cmd::completions::AssetsArgs),
}

/// Runs the parsed command.
pub fn dispatch(cli: Cli) -> anyhow::Result<Exit> {
    let Cli { global, command } = cli;
    let mut ctx = Context {
        output: Output::new(global.output, global.is_quiet()),
        quiet: global.is_quiet(),
        overrides: global.overrides(),
        config_file: global.config,
    };
    match command {
        #[cfg(feature = "pipeline")]
        Command::Up(args) => cmd::up::run(&mut ctx, &args),
        Command::Sense(args) => cmd::sense::run(&mut ctx, &args),
        Command::Publish(args) => cmd::publish::run(&mut ctx, &args),
        Command::Tail(args) => cmd::tail::run(&mut ctx, &args),
        #[cfg(feature = "pipeline")]
        Command::Sink(args) => cmd::sink::run(&mut ctx, &args),
        #[cfg(feature = "pipeline")]
        Command::Counters(args) => cmd::counters::run(&mut ctx, &args),
        #[cfg(feature = "pipeline")]
        Command::Compact(args) => cmd::compact::run(&mut ctx, &args),
        #[cfg(feature = "pipeline")]
        Command::RefreshDashboard(args) => cmd::dashboard::run(&mut ctx, &args),
        #[cfg(feature = "lambda")]
        Command::Lambda(args) => cmd::lambda::run(&mut ctx, &args),
        Command::Device(args) => cmd::device::run(&mut ctx, &args),
        Command::Doctor(args) => cmd::doctor::run(&mut ctx, &args),
        Command::Config(args) => cmd::config::run(&mut ctx, &args),
        Command::Completions(args) => cmd::completions::run(&mut ctx, &args, Cli::command()),
        Command::GenerateAssets(args) => cmd::completions::generate_assets(&args, &Cli::command()),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
