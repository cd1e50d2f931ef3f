//! One module per command. [`dispatch`] runs the parsed command; nothing (config,
//! clients, runtimes) is set up before the command that needs it asks for it.

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

/// The data-dir store and the SQLite counter (the sink and `up` always land locally).
pub fn local_backends(
    config: &crate::config::Config,
) -> anyhow::Result<(
    std::sync::Arc<crate::store::dir::DirStore>,
    std::sync::Arc<crate::counter::sqlite::SqliteCounter>,
)> {
    let store = std::sync::Arc::new(crate::store::dir::DirStore::new(&config.data_dir));
    let counter = std::sync::Arc::new(crate::counter::sqlite::SqliteCounter::open(
        &config.data_dir.join("counter.sqlite3"),
    )?);
    Ok((store, counter))
}

/// The store and counter the configuration names: the data dir and SQLite
/// (`backend = "local"`), or S3 (`aws.bucket`) and DynamoDB (`counter.table`).
pub async fn backends(
    config: &crate::config::Config,
) -> anyhow::Result<(
    std::sync::Arc<dyn crate::store::Store>,
    std::sync::Arc<dyn crate::counter::Counter>,
)> {
    match config.backend {
        crate::config::Backend::Local => {
            let (store, counter) = local_backends(config)?;
            Ok((store, counter))
        }
        crate::config::Backend::Aws => {
            let aws = AwsBackends::new(config).await?;
            Ok((aws.store, aws.counter))
        }
    }
}

/// The AWS side of `backend = "aws"`: one SDK configuration, the bucket and the table.
pub struct AwsBackends {
    pub sdk: aws_config::SdkConfig,
    pub store: std::sync::Arc<crate::store::s3::S3Store>,
    pub counter: std::sync::Arc<crate::counter::dynamodb::DynamoCounter>,
}

impl AwsBackends {
    pub async fn new(config: &crate::config::Config) -> anyhow::Result<AwsBackends> {
        use crate::store::s3::{Prefixes, S3Store};
        let Some(bucket) = &config.aws.bucket else {
            return Err(crate::error::Hinted::new(
                Exit::Usage,
                "the AWS backend needs a bucket",
                "set aws.bucket in iotpipe.toml or IOTPIPE_AWS_BUCKET",
            )
            .into());
        };
        let aws = &config.aws;
        let prefixes = Prefixes::new(&aws.raw_prefix, &aws.compacted_prefix, &aws.rejected_prefix)
            .map_err(|problem| {
                crate::error::Hinted::new(
                    Exit::Usage,
                    format!("invalid S3 prefixes: {problem}"),
                    "give aws.raw_prefix, aws.compacted_prefix and aws.rejected_prefix distinct, \
                     non-nested folders, e.g. \"raw/\", \"compacted/\", \"rejected/\"",
                )
            })?;
        let sdk = crate::aws::sdk_config(aws).await;
        let store = S3Store::new(crate::aws::s3(&sdk), bucket.clone()).with_prefixes(prefixes);
        let counter = crate::counter::dynamodb::DynamoCounter::new(
            crate::aws::dynamodb(&sdk),
            config.counter.table.clone(),
        );
        Ok(AwsBackends {
            sdk,
            store: std::sync::Arc::new(store),
            counter: std::sync::Arc::new(counter),
        })
    }

    /// The Athena engine on this bucket.
    pub fn athena(
        &self,
        athena: &crate::config::Athena,
        interrupt: crate::compact::athena::Interrupt,
    ) -> crate::compact::athena::AthenaEngine {
        crate::compact::athena::AthenaEngine::new(
            crate::aws::athena(&self.sdk),
            self.store.clone(),
            athena,
            interrupt,
        )
    }
}

/// The override for `--data-dir`, if given.
pub fn data_dir_override(dir: Option<&std::path::Path>) -> Vec<Override> {
    dir.map(|dir| Override::new("data_dir", "--data-dir", dir.display().to_string()))
        .into_iter()
        .collect()
}

pub fn dispatch(cli: Cli) -> anyhow::Result<Exit> {
    let Cli { global, command } = cli;
    let mut ctx = Context {
        output: Output::new(global.output),
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
