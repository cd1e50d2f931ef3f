//! `iotpipe compact`: compact claimed batches of raw objects into Parquet,
//! resuming whatever an earlier run left unfinished.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use super::Context;
use crate::backends::Stages;
use crate::compact::{
    BatchOutcome, BatchReport, Cost, Drain, Drained, Engine, FailPoint, NEW_BATCH, Pipeline,
    PlanStep, TableSetup, Watcher,
};
use crate::counter::Batch;
use crate::error::{Exit, Hinted};
use crate::output::progress::Bar;
use crate::output::{Column, Format, Row};
use crate::progress::{Progress, Silent};
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

/// A batch compacted by an engine that bills by query: its queries and
/// their bill instead of row counts (Athena does not report rows written by
/// INSERT INTO).
#[derive(Serialize)]
#[serde(transparent)]
struct BilledReport(BatchReport);

impl From<BatchReport> for BilledReport {
    fn from(report: BatchReport) -> BilledReport {
        BilledReport(report)
    }
}

impl Row for BilledReport {
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
        let cost = r.compaction.cost.clone().unwrap_or_default();
        vec![
            r.batch.clone(),
            r.objects.to_string(),
            r.compaction.bytes_in.to_string(),
            cost.queries.len().to_string(),
            cost.bytes_scanned().to_string(),
            format!("{:.1}", cost.engine_seconds()),
            format!("{:.5}", cost.usd()),
            r.deleted.to_string(),
            format!("{:.2}", r.seconds),
        ]
    }
}

impl Row for PlanStep {
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
    let drain = Drain {
        only: args.batch.clone(),
        resume: true,
        claim: true,
        partial: args.all,
        threshold: config.counter.threshold,
    };
    super::runtime()?.block_on(async {
        let stages = Stages::new(&config).await?;
        let cancel = if args.dry_run {
            Cancel::never()
        } else {
            super::on_signals()
        };
        if args.init {
            let setup = stages.table_setup(&config, cancel)?;
            return init(ctx, &*setup, args.dry_run, show_progress).await;
        }
        let threads = args.threads.map(usize::from);
        let compactor = stages.compactor(args.engine, &config, threads, cancel.clone())?;
        let pipeline = stages.pipeline(compactor, args.fail_point);
        if args.dry_run {
            return plan(ctx, &pipeline, &drain).await;
        }
        let drained = if pipeline.engine.billed() {
            compact_all::<BilledReport>(ctx, &pipeline, &drain, &cancel, show_progress).await?
        } else {
            compact_all::<BatchReport>(ctx, &pipeline, &drain, &cancel, show_progress).await?
        };
        let pending = pipeline.counter.pending().await.unwrap_or(0);
        let line = summary(&drained.compacted, pipeline.engine.name(), pending);
        ctx.output.summary::<()>(&line, None)?;
        outcome(drained)
    })
}

/// Prints each batch as an `R` row as it ends, with a bar while it runs.
struct Printer<'o, R: Row> {
    records: crate::output::Records<'o, R>,
    show_progress: bool,
    /// The first error writing a row: reported once the drain ends.
    broken: Option<anyhow::Error>,
}

impl<R: Row + From<BatchReport>> Watcher for Printer<'_, R> {
    fn started(&mut self, batch: &Batch) -> Box<dyn Progress> {
        if self.show_progress {
            Box::new(Bar::objects(batch.keys.len() as u64))
        } else {
            Box::new(Silent)
        }
    }

    fn finished(&mut self, outcome: &BatchOutcome) {
        match outcome {
            Ok(report) => {
                if self.broken.is_none()
                    && let Err(error) = self.records.write(&R::from(report.clone()))
                {
                    self.broken = Some(error.into());
                }
            }
            Err(failure) => tracing::error!(
                "batch {} failed and is skipped (it stays retryable): {}",
                failure.batch,
                failure.error
            ),
        }
    }
}

/// Drains the pipeline, writing one `R` record per batch; a failed batch is
/// skipped (left retryable) and the next goes on.
async fn compact_all<R: Row + From<BatchReport>>(
    ctx: &mut Context,
    pipeline: &Pipeline,
    drain: &Drain,
    cancel: &Cancel,
    show_progress: bool,
) -> anyhow::Result<Drained> {
    let mut printer = Printer::<R> {
        records: ctx.output.records::<R>(false),
        show_progress,
        broken: None,
    };
    let drained = pipeline.drain(drain, cancel, &mut printer).await?;
    if let Some(error) = printer.broken {
        return Err(error);
    }
    printer.records.finish()?;
    Ok(drained)
}

/// Exit 0 only when every batch compacted whole; 3 when batches were skipped
/// or objects and rows set aside; a lone failed batch is its own error.
fn outcome(drained: Drained) -> anyhow::Result<Exit> {
    let Drained {
        compacted: reports,
        failed: mut skipped,
    } = drained;
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

/// `--init`: what the engine's tables need (Athena: the database and both tables).
async fn init(
    ctx: &mut Context,
    setup: &dyn TableSetup,
    dry_run: bool,
    show_progress: bool,
) -> anyhow::Result<Exit> {
    let statements = setup.statements();
    if dry_run {
        let out = ctx.output.raw();
        for statement in &statements {
            writeln!(out, "{statement};\n")?;
        }
        out.flush()?;
        return Ok(Exit::Ok);
    }
    for statement in &statements {
        let progress: Box<dyn Progress> = if show_progress {
            Box::new(Bar::spinner())
        } else {
            Box::new(Silent)
        };
        let run = setup.run(statement, &*progress).await;
        progress.finish();
        let id = run?;
        if !ctx.quiet {
            let first = statement.lines().next().unwrap_or_default();
            crate::note!("compact --init: {first} (query {id})");
        }
    }
    Ok(Exit::Ok)
}

async fn plan(ctx: &mut Context, pipeline: &Pipeline, drain: &Drain) -> anyhow::Result<Exit> {
    let steps = pipeline.plan(drain).await?;
    if ctx.output.format == Format::Table && steps.is_empty() {
        crate::note!("compact: nothing to do");
        return Ok(Exit::Ok);
    }
    if ctx.output.format == Format::Table && steps.iter().any(|step| step.sql.is_some()) {
        // A SQL script: `iotpipe compact --engine athena --dry-run > plan.sql`.
        let out = ctx.output.raw();
        out.write_all(sql_script(&steps).as_bytes())?;
        out.flush()?;
        return Ok(Exit::Ok);
    }
    let mut records = ctx.output.records::<PlanStep>(false);
    for step in &steps {
        records.write(step)?;
    }
    records.finish()?;
    Ok(Exit::Ok)
}

/// The closing line of a compaction run (`pending`: objects left).
fn summary(reports: &[BatchReport], engine: &str, pending: u64) -> String {
    if reports.is_empty() {
        return format!("compact: nothing to do ({pending} objects pending)");
    }
    let sum = |f: fn(&BatchReport) -> u64| reports.iter().map(f).sum::<u64>();
    let seconds: f64 = reports.iter().map(|r| r.seconds).sum();
    if let Some(cost) = Cost::total(reports.iter().filter_map(|r| r.compaction.cost.as_ref())) {
        return format!(
            "compact: {} batches, {} objects, {} {engine} queries: {} scanned, {:.1} s engine time, \
             ~{:.5} USD; {:.2} s; {pending} objects still pending",
            reports.len(),
            reports.iter().map(|r| r.objects).sum::<usize>(),
            cost.queries.len(),
            indicatif::HumanBytes(cost.bytes_scanned()),
            cost.engine_seconds(),
            cost.usd(),
            seconds
        );
    }
    let (bytes_in, bytes_out) = (
        sum(|r| r.compaction.bytes_in),
        sum(|r| r.compaction.bytes_out),
    );
    format!(
        "compact: {} batches, {} rows in, {} rows out, {} duplicates dropped, {} invalid kept aside; \
         {} -> {} bytes ({:.2}x); {:.2} s; {pending} objects still pending",
        reports.len(),
        sum(|r| r.compaction.rows_in),
        sum(|r| r.compaction.rows_out),
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

/// The plan as a SQL script: a comment per step (what, how much, the
/// estimated cost), then its statements.
fn sql_script(steps: &[PlanStep]) -> String {
    let mut script = String::new();
    for step in steps {
        script.push_str(&format!(
            "-- {}: batch {}, {} objects, {} to scan, ~{:.5} USD\n",
            step.action,
            step.batch.as_deref().unwrap_or(NEW_BATCH),
            step.objects,
            indicatif::HumanBytes(step.bytes.unwrap_or(0)),
            step.estimated_cost_usd.unwrap_or(0.0)
        ));
        for statement in step.sql.iter().flatten() {
            script.push_str(&format!("{statement};\n\n"));
        }
    }
    script
}
