//! `iotpipe compact`: compact claimed batches of raw objects into Parquet,
//! resuming whatever an earlier run left unfinished.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, ValueEnum};
use serde::Serialize;

use super::Context;
use crate::compact::local::LocalEngine;
use crate::compact::{BatchReport, FailPoint, Pipeline, Progress};
use crate::counter::{Batch, Counter};
use crate::error::Exit;
use crate::output::{Column, Format, Row};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Engine {
    /// arrow + parquet in this process
    Local,
}

#[derive(Debug, Args)]
pub struct CompactArgs {
    /// Compaction engine
    #[arg(long, value_enum, default_value_t = Engine::Local)]
    pub engine: Engine,

    /// Only this batch (claimed, failed, or compacted with raw objects left)
    #[arg(long, value_name = "ID")]
    pub batch: Option<String>,

    /// Also compact the pending objects that do not fill a batch
    #[arg(long, conflicts_with = "batch")]
    pub all: bool,

    /// Print the plan (batches, objects, bytes) without changing anything
    #[arg(long)]
    pub dry_run: bool,

    /// Threads parsing raw objects [default: one per core]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,

    /// Data directory (config data_dir)
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Crash on purpose at this point (for crash-recovery tests)
    #[arg(long, value_enum, hide = true)]
    pub fail_point: Option<FailPoint>,
}

impl Row for BatchReport {
    fn headers() -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            Column::left("batch", 26),
            Column::right("objects", 7),
            Column::right("rows in", 9),
            Column::right("rows out", 9),
            Column::right("dups", 6),
            Column::right("bytes in", 10),
            Column::right("bytes out", 10),
            Column::right("seconds", 8),
        ];
        COLUMNS
    }

    fn cells(&self) -> Vec<String> {
        let c = &self.compaction;
        vec![
            self.batch.clone(),
            self.objects.to_string(),
            c.rows_in.to_string(),
            c.rows_out.to_string(),
            c.duplicates.to_string(),
            c.bytes_in.to_string(),
            c.bytes_out.to_string(),
            format!("{:.2}", self.seconds),
        ]
    }
}

/// A planned step, for --dry-run.
#[derive(Serialize)]
struct Planned {
    action: &'static str,
    batch: Option<String>,
    objects: u64,
    bytes: Option<u64>,
}

impl Row for Planned {
    fn headers() -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            Column::left("action", 30),
            Column::left("batch", 26),
            Column::right("objects", 7),
            Column::right("bytes", 10),
        ];
        COLUMNS
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.action.to_string(),
            self.batch.clone().unwrap_or_else(|| "(new)".into()),
            self.objects.to_string(),
            self.bytes.map_or_else(|| "-".into(), |b| b.to_string()),
        ]
    }
}

pub fn run(ctx: &mut Context, args: &CompactArgs) -> anyhow::Result<Exit> {
    let config = ctx
        .config(super::data_dir_override(args.data_dir.as_deref()))?
        .config;
    let threshold = config.counter.threshold;
    let show_progress = !ctx.global.is_quiet() && std::io::stderr().is_terminal();
    super::runtime()?.block_on(async {
        let (store, counter) = super::backends(&config).await?;
        let pipeline = Pipeline {
            engine: Arc::new(LocalEngine::new(
                store.clone(),
                args.threads.map(usize::from),
            )),
            store,
            counter,
            fail_point: args.fail_point,
        };
        if args.dry_run {
            return plan(ctx, &pipeline, threshold, args).await;
        }
        let mut reports = Vec::new();
        let mut records = ctx.output.records::<BatchReport>(false);
        let mut work: Vec<Batch> = match &args.batch {
            Some(id) => vec![pipeline.counter.batch(id).await?],
            None => pipeline.resumable().await?,
        };
        loop {
            for batch in work.drain(..) {
                let progress = Progress::new(batch.keys.len() as u64, show_progress);
                let report = pipeline.run_batch(&batch, &progress).await;
                progress.finish();
                let report = report?;
                records.write(&report)?;
                reports.push(report);
            }
            if args.batch.is_some() {
                break;
            }
            let pending = pipeline.counter.pending().await?;
            let size = if pending >= u64::from(threshold) {
                threshold
            } else if args.all && pending > 0 {
                u32::try_from(pending).unwrap_or(u32::MAX)
            } else {
                break;
            };
            match pipeline.counter.claim(size).await? {
                Some(batch) => work.push(batch),
                None => break,
            }
        }
        records.finish()?;
        if !ctx.global.is_quiet() {
            eprintln!("{}", summary(&reports, &*pipeline.counter).await);
        }
        Ok(Exit::Ok)
    })
}

async fn summary(reports: &[BatchReport], counter: &dyn Counter) -> String {
    let pending = counter.pending().await.unwrap_or(0);
    if reports.is_empty() {
        return format!("compact: nothing to do ({pending} objects pending)");
    }
    let sum = |f: fn(&BatchReport) -> u64| reports.iter().map(f).sum::<u64>();
    let (rows_in, rows_out) = (
        sum(|r| r.compaction.rows_in),
        sum(|r| r.compaction.rows_out),
    );
    let (bytes_in, bytes_out) = (
        sum(|r| r.compaction.bytes_in),
        sum(|r| r.compaction.bytes_out),
    );
    let seconds: f64 = reports.iter().map(|r| r.seconds).sum();
    format!(
        "compact: {} batches, {} rows in, {} rows out, {} duplicates dropped, {} invalid kept aside; \
         {} -> {} bytes ({:.2}x); {:.2} s; {pending} objects still pending",
        reports.len(),
        rows_in,
        rows_out,
        sum(|r| r.compaction.duplicates),
        sum(|r| r.compaction.invalid),
        bytes_in,
        bytes_out,
        if bytes_out > 0 {
            bytes_in as f64 / bytes_out as f64
        } else {
            0.0
        },
        seconds
    )
}

async fn plan(
    ctx: &mut Context,
    pipeline: &Pipeline,
    threshold: u32,
    args: &CompactArgs,
) -> anyhow::Result<Exit> {
    let mut steps = Vec::new();
    let batches = match &args.batch {
        Some(id) => vec![pipeline.counter.batch(id).await?],
        None => pipeline.resumable().await?,
    };
    for batch in batches {
        steps.push(Planned {
            action: if batch.state == crate::counter::BatchState::Compacted {
                "delete leftover raw objects"
            } else {
                "resume (rewrite its outputs)"
            },
            batch: Some(batch.id.clone()),
            objects: batch.keys.len() as u64,
            bytes: Some(batch.bytes),
        });
    }
    if args.batch.is_none() {
        let mut pending = pipeline.counter.pending().await?;
        while pending >= u64::from(threshold) {
            steps.push(Planned {
                action: "claim and compact",
                batch: None,
                objects: u64::from(threshold),
                bytes: None,
            });
            pending -= u64::from(threshold);
        }
        if args.all && pending > 0 {
            steps.push(Planned {
                action: "claim and compact (partial)",
                batch: None,
                objects: pending,
                bytes: None,
            });
        }
    }
    if ctx.output.format == Format::Table && steps.is_empty() {
        eprintln!("compact: nothing to do");
        return Ok(Exit::Ok);
    }
    let mut records = ctx.output.records::<Planned>(false);
    for step in &steps {
        records.write(step)?;
    }
    records.finish()?;
    Ok(Exit::Ok)
}
