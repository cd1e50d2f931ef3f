//! `iotpipe tail objects` and `tail s3`: objects as they land in the data
//! dir or the bucket, with their size and rows.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use serde::Serialize;

use super::follow::{Follower, Step, follow};
use crate::backends::Stages;
use crate::cmd::Context;
use crate::cmd::args::parse_timeout;
use crate::error::{Exit, Hinted};
use crate::output::{Column, Records, Row};
use crate::store::{self, Store, Watch};

#[derive(Debug, Args)]
pub struct TailObjectsArgs {
    /// Data directory (config data_dir)
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    #[command(flatten)]
    pub follow: FollowArgs,
}

#[derive(Debug, Args)]
pub struct TailS3Args {
    /// Area of the bucket layout to follow (raw/, rejected/ or compacted/;
    /// mapped through aws.*_prefix)
    #[arg(long, value_name = "PREFIX", default_value = "raw/")]
    pub prefix: String,

    #[command(flatten)]
    pub follow: FollowArgs,
}

/// How `tail objects` and `tail s3` follow a listing.
#[derive(Debug, Args)]
pub struct FollowArgs {
    /// Also print the objects already there when starting
    #[arg(long)]
    pub existing: bool,

    /// Exit after N objects
    #[arg(short = 'C', long = "count", value_name = "N")]
    pub count: Option<u64>,

    /// Exit with code 4 after this long without a new object (seconds, or e.g. 2m)
    #[arg(short = 'W', long = "timeout", value_name = "SECS", value_parser = parse_timeout)]
    pub timeout: Option<Duration>,

    /// How often to look for new objects [default: 500ms locally, 2s on S3]
    #[arg(long, value_name = "DUR", value_parser = crate::cmd::args::parse_duration)]
    pub poll: Option<Duration>,
}

/// A landed object as a row.
#[derive(Serialize)]
struct ObjectRow {
    key: String,
    size: u64,
    rows: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl Row for ObjectRow {
    const COLUMNS: &'static [Column] = &[
        Column::left("key", 98),
        Column::right("bytes", 9),
        Column::right("rows", 7),
    ];

    fn cells(&self) -> Vec<String> {
        vec![
            self.key.clone(),
            self.size.to_string(),
            self.rows
                .map_or_else(|| self.error.clone().unwrap_or_default(), |r| r.to_string()),
        ]
    }
}

pub fn run_objects(ctx: &mut Context, args: &TailObjectsArgs) -> anyhow::Result<Exit> {
    let config = ctx
        .config(crate::cmd::args::data_dir_override(
            args.data_dir.as_deref(),
        ))?
        .config;
    let store = crate::backends::data_dir_store(&config);
    crate::cmd::runtime()?.block_on(follow_objects(
        ctx,
        &*store,
        store::RAW,
        &args.follow,
        Duration::from_millis(500),
        "is `iotpipe sink` running with this data dir? objects land every sink.buffer_interval",
    ))
}

pub fn run_s3(ctx: &mut Context, args: &TailS3Args) -> anyhow::Result<Exit> {
    let config = ctx.config(Vec::new())?.config;
    if ![store::RAW, store::REJECTED, store::COMPACTED]
        .iter()
        .any(|area| args.prefix.starts_with(area))
    {
        return Err(Hinted::new(
            Exit::Usage,
            format!("--prefix {:?} is not in the bucket layout", args.prefix),
            "use raw/, rejected/ or compacted/ (optionally deeper, e.g. raw/2026/03/); \
             aws.raw_prefix and friends say where they are in the bucket",
        )
        .into());
    }
    crate::cmd::runtime()?.block_on(async {
        let store = Stages::aws(&config).await?.store;
        follow_objects(
            ctx,
            &*store,
            &args.prefix,
            &args.follow,
            Duration::from_secs(2),
            "is the delivery stream (or `iotpipe sink`) writing to this bucket? Firehose \
             delivers every buffer interval (60-900 s)",
        )
        .await
    })
}

/// Prints objects under `prefix` as they appear, polling the listing.
async fn follow_objects(
    ctx: &mut Context,
    store: &dyn Store,
    prefix: &str,
    args: &FollowArgs,
    default_poll: Duration,
    hint: &'static str,
) -> anyhow::Result<Exit> {
    let watch = if args.existing {
        Watch::from_start(store, prefix)
    } else {
        Watch::from_now(store, prefix).await?
    };
    let mut tail = ObjectTail {
        store,
        place: store.location(prefix),
        hint,
        watch,
        poll: tokio::time::interval(args.poll.unwrap_or(default_poll)),
        records: ctx.output.records::<ObjectRow>(true),
    };
    tracing::info!("following {}", tail.place);
    let outcome = follow(&mut tail, args.count, args.timeout).await;
    tail.records.finish()?;
    outcome
}

struct ObjectTail<'a> {
    store: &'a dyn Store,
    place: String,
    hint: &'static str,
    watch: Watch<'a>,
    poll: tokio::time::Interval,
    records: Records<'a, ObjectRow>,
}

impl Follower for ObjectTail<'_> {
    async fn next(&mut self, remaining: Option<u64>) -> anyhow::Result<Step> {
        self.poll.tick().await;
        let mut printed = 0;
        for object in self.watch.new_objects().await? {
            if remaining.is_some_and(|n| printed >= n) {
                break;
            }
            let (rows, error) = match store::content::object_rows(self.store, &object.key).await {
                Ok(rows) => (Some(rows), None),
                Err(e) => (None, Some(format!("unreadable: {e}"))),
            };
            self.records.write(&ObjectRow {
                key: object.key,
                size: object.size,
                rows,
                error,
            })?;
            printed += 1;
        }
        Ok(Step::Printed(printed))
    }

    fn timed_out(&self, after: Duration) -> anyhow::Error {
        Hinted::new(
            Exit::Timeout,
            format!(
                "no new object in {} for {}",
                self.place,
                humantime::format_duration(after)
            ),
            self.hint,
        )
        .into()
    }
}
