//! `iotpipe compact`: compact claimed batches of raw objects into Parquet,
//! resuming whatever an earlier run left unfinished.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use super::Context;
use crate::backends::Stages;
use crate::compact::{
    BatchFailure, BatchReport, Compactor, Drain, Engine, FailPoint, Pipeline, Progress, Step,
};
use crate::error::{Exit, Hinted};
use crate::output::{Column, Format, Row};
use crate::signal::Cancel;

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

    /// Print the plan (batches, objects, bytes; with Athena the SQL and the
    /// estimated scan and cost) without changing anything
    #[arg(long)]
    pub dry_run: bool,

    /// Create the Athena database and tables (IF NOT EXISTS); with --dry-run, print their DDL
    #[arg(long, conflicts_with_all = ["batch", "all"])]
    pub init: bool,

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
    const COLUMNS: &'static [Column] = &[
        Column::left("batch", 26),
        Column::right("objects", 7),
        Column::right("rows in", 9),
        Column::right("rows out", 9),
        Column::right("dups", 6),
        Column::right("bytes in", 10),
        Column::right("bytes out", 10),
        Column::right("seconds", 8),
    ];

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

/// A batch compacted by Athena: queries and their bill instead of row counts
/// (Athena does not report rows written by INSERT INTO).
#[derive(Serialize)]
#[serde(transparent)]
struct AthenaReport(BatchReport);

impl From<BatchReport> for AthenaReport {
    fn from(report: BatchReport) -> AthenaReport {
        AthenaReport(report)
    }
}

impl Row for AthenaReport {
    const COLUMNS: &'static [Column] = &[
        Column::left("batch", 26),
        Column::right("objects", 7),
        Column::right("bytes in", 10),
        Column::right("queries", 7),
        Column::right("scanned", 10),
        Column::right("engine s", 8),
        Column::right("cost USD", 9),
        Column::right("deleted", 7),
        Column::right("seconds", 8),
    ];

    fn cells(&self) -> Vec<String> {
        let r = &self.0;
        let queries = &r.compaction.queries;
        vec![
            r.batch.clone(),
            r.objects.to_string(),
            r.compaction.bytes_in.to_string(),
            queries.len().to_string(),
            queries
                .iter()
                .map(|q| q.bytes_scanned)
                .sum::<u64>()
                .to_string(),
            format!(
                "{:.1}",
                queries.iter().map(|q| q.engine_millis).sum::<u64>() as f64 / 1000.0
            ),
            format!("{:.5}", queries.iter().map(|q| q.cost_usd).sum::<f64>()),
            r.deleted.to_string(),
            format!("{:.2}", r.seconds),
        ]
    }
}

impl Row for Step {
    const COLUMNS: &'static [Column] = &[
        Column::left("action", 30),
        Column::left("batch", 26),
        Column::right("objects", 7),
        Column::right("bytes", 10),
    ];

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
        .config(super::args::data_dir_override(args.data_dir.as_deref()))?
        .config;
    let show_progress = !ctx.quiet && std::io::stderr().is_terminal();
    let engine = if args.init {
        Engine::Athena
    } else {
        args.engine
    };
    let drain = Drain {
        only: args.batch.clone(),
        resume: true,
        claim: true,
        partial: args.all,
        threshold: config.counter.threshold,
        show_progress,
    };
    super::runtime()?.block_on(async {
        let stages = Stages::new(&config).await?;
        let cancel = if args.dry_run {
            Cancel::never()
        } else {
            super::on_signals()
        };
        let threads = args.threads.map(usize::from);
        let compactor = stages.compactor(engine, &config, threads, cancel.clone())?;
        if args.init {
            return init(ctx, &*compactor, args.dry_run, show_progress).await;
        }
        let pipeline = stages.pipeline(compactor, args.fail_point);
        if args.dry_run {
            return plan(ctx, &pipeline, &drain, engine).await;
        }
        let (reports, skipped) = match engine {
            Engine::Athena => compact_all::<AthenaReport>(ctx, &pipeline, drain, &cancel).await?,
            Engine::Local => compact_all::<BatchReport>(ctx, &pipeline, drain, &cancel).await?,
        };
        let pending = pipeline.counter.pending().await.unwrap_or(0);
        let line = BatchReport::summary(&reports, pending);
        ctx.output.summary::<()>(&line, None)?;
        outcome(&reports, skipped)
    })
}

/// Drains the pipeline, writing one `R` record per batch; a failed batch is
/// skipped (left retryable) and the next goes on.
async fn compact_all<R: Row + From<BatchReport>>(
    ctx: &mut Context,
    pipeline: &Pipeline,
    drain: Drain,
    cancel: &Cancel,
) -> anyhow::Result<(Vec<BatchReport>, Vec<BatchFailure>)> {
    let mut reports = Vec::new();
    let mut skipped = Vec::new();
    let mut records = ctx.output.records::<R>(false);
    let mut drainer = pipeline.drain(drain);
    while let Some(done) = drainer.next(cancel).await? {
        match done {
            Ok(report) => {
                records.write(&R::from(report.clone()))?;
                reports.push(report);
            }
            Err(failure) => {
                tracing::error!(
                    "batch {} failed and is skipped (it stays retryable): {}",
                    failure.batch,
                    failure.error
                );
                skipped.push(failure);
            }
        }
    }
    records.finish()?;
    Ok((reports, skipped))
}

/// Exit 0 only when every batch compacted whole; 3 when batches were skipped
/// or objects and rows set aside; a lone failed batch is its own error.
fn outcome(reports: &[BatchReport], mut skipped: Vec<BatchFailure>) -> anyhow::Result<Exit> {
    if reports.is_empty() && skipped.len() == 1 {
        return Err(skipped.remove(0).error.into());
    }
    if !skipped.is_empty() {
        let reasons: Vec<String> = skipped
            .iter()
            .map(|f| format!("{}: {}", f.batch, f.error))
            .collect();
        return Err(Hinted::new(
            Exit::Partial,
            format!(
                "{} batches compacted, {} failed and were skipped ({})",
                reports.len(),
                skipped.len(),
                reasons.join("; ")
            ),
            "the failed batches stay retryable: fix what their errors name, then rerun \
             `iotpipe compact` (`iotpipe counters` lists them)",
        )
        .into());
    }
    let objects: usize = reports.iter().map(|r| r.compaction.set_aside.len()).sum();
    let rows: u64 = reports.iter().map(|r| r.compaction.invalid).sum();
    if objects + rows as usize > 0 {
        let aside: Vec<String> = reports
            .iter()
            .flat_map(|r| &r.compaction.set_aside)
            .map(|a| format!("{} ({})", a.key, a.reason))
            .collect();
        return Err(Hinted::new(
            Exit::Partial,
            format!(
                "compacted, with {objects} raw objects and {rows} rows set aside{}{}",
                if aside.is_empty() { "" } else { ": " },
                aside.join("; ")
            ),
            "nothing is lost: unreadable objects and rows that are not schema v1 are kept under \
             rejected/compaction/ with the reason",
        )
        .into());
    }
    Ok(Exit::Ok)
}

/// `--init`: the database and both tables.
async fn init(
    ctx: &mut Context,
    engine: &dyn Compactor,
    dry_run: bool,
    show_progress: bool,
) -> anyhow::Result<Exit> {
    let ddl = engine.setup();
    if dry_run {
        let out = ctx.output.raw();
        for statement in &ddl {
            writeln!(out, "{statement};\n")?;
        }
        out.flush()?;
        return Ok(Exit::Ok);
    }
    for statement in &ddl {
        let progress = Progress::new(0, show_progress);
        let run = engine.run_setup(statement, &progress).await;
        progress.finish();
        let id = run?;
        if !ctx.quiet {
            let first = statement.lines().next().unwrap_or_default();
            eprintln!("athena: {first} (query {id})");
        }
    }
    Ok(Exit::Ok)
}

async fn plan(
    ctx: &mut Context,
    pipeline: &Pipeline,
    drain: &Drain,
    engine: Engine,
) -> anyhow::Result<Exit> {
    let steps = pipeline.plan(drain).await?;
    if ctx.output.format == Format::Table && steps.is_empty() {
        eprintln!("compact: nothing to do");
        return Ok(Exit::Ok);
    }
    if ctx.output.format == Format::Table && engine == Engine::Athena {
        // A SQL script: `iotpipe compact --engine athena --dry-run > plan.sql`.
        let out = ctx.output.raw();
        out.write_all(Step::sql_script(&steps).as_bytes())?;
        out.flush()?;
        return Ok(Exit::Ok);
    }
    let mut records = ctx.output.records::<Step>(false);
    for step in &steps {
        records.write(step)?;
    }
    records.finish()?;
    Ok(Exit::Ok)
}
