//! `iotpipe compact`: compact claimed batches of raw objects into Parquet,
//! resuming whatever an earlier run left unfinished.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, ValueEnum};
use serde::Serialize;

use super::{AwsBackends, Context};
use crate::compact::athena::{AthenaEngine, Interrupt, cost_usd};
use crate::compact::local::LocalEngine;
use crate::compact::{BatchReport, FailPoint, Pipeline, Progress};
use crate::counter::{Batch, BatchState, Counter};
use crate::error::{Exit, Hinted};
use crate::output::{Column, Format, Row};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Engine {
    /// arrow + parquet in this process (reads and writes the configured store)
    Local,
    /// INSERT INTO the Parquet table, run by Athena (needs backend = "aws")
    Athena,
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
    fn headers() -> &'static [Column] {
        const COLUMNS: &[Column] = &[
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
        COLUMNS
    }

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

/// A planned step, for --dry-run.
#[derive(Serialize)]
struct Planned {
    action: &'static str,
    batch: Option<String>,
    objects: u64,
    bytes: Option<u64>,
    #[serde(skip)]
    keys: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    estimated_cost_usd: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sql: Option<Vec<String>>,
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
    let athena_wanted = args.engine == Engine::Athena || args.init;
    if athena_wanted && config.backend != crate::config::Backend::Aws {
        return Err(Hinted::new(
            Exit::Usage,
            "the Athena engine works on S3 and DynamoDB, but backend is \"local\"",
            "set backend = \"aws\" (or IOTPIPE_BACKEND=aws) with aws.bucket, or use --engine local",
        )
        .into());
    }
    // On S3 a Lambda may be compacting what it claimed.
    let claim_grace =
        (config.backend == crate::config::Backend::Aws).then_some(crate::compact::CLAIM_GRACE);
    super::runtime()?.block_on(async {
        let (pipeline, athena) = if athena_wanted {
            let aws = AwsBackends::new(&config).await?;
            let interrupt = if args.dry_run {
                Interrupt::never()
            } else {
                Interrupt::install()
            };
            let athena = Arc::new(aws.athena(&config.athena, interrupt));
            let pipeline = Pipeline {
                engine: athena.clone(),
                store: aws.store,
                counter: aws.counter,
                fail_point: args.fail_point,
                claim_grace,
            };
            (pipeline, Some(athena))
        } else {
            let (store, counter) = super::backends(&config).await?;
            let pipeline = Pipeline {
                engine: Arc::new(LocalEngine::new(
                    store.clone(),
                    args.threads.map(usize::from),
                )),
                claim_grace,
                store,
                counter,
                fail_point: args.fail_point,
            };
            (pipeline, None)
        };
        if let (true, Some(athena)) = (args.init, &athena) {
            return init(ctx, athena, args.dry_run, show_progress).await;
        }
        if args.dry_run {
            return plan(ctx, &pipeline, athena.as_deref(), threshold, args).await;
        }
        let reports = if athena.is_some() {
            compact_all::<AthenaReport>(ctx, &pipeline, args, threshold, show_progress).await?
        } else {
            compact_all::<BatchReport>(ctx, &pipeline, args, threshold, show_progress).await?
        };
        if !ctx.global.is_quiet() {
            eprintln!("{}", summary(&reports, &*pipeline.counter).await);
        }
        Ok(Exit::Ok)
    })
}

/// Resumes unfinished batches, then claims and compacts full ones (and with
/// `--all` the rest), writing one `R` record per batch.
async fn compact_all<R: Row + From<BatchReport>>(
    ctx: &mut Context,
    pipeline: &Pipeline,
    args: &CompactArgs,
    threshold: u32,
    show_progress: bool,
) -> anyhow::Result<Vec<BatchReport>> {
    let mut reports = Vec::new();
    let mut records = ctx.output.records::<R>(false);
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
            records.write(&R::from(report.clone()))?;
            reports.push(report);
        }
        if args.batch.is_some() {
            break;
        }
        match pipeline.counter.claim_next(threshold, args.all).await? {
            Some(batch) => work.push(batch),
            None => break,
        }
    }
    records.finish()?;
    Ok(reports)
}

/// `--init`: the database and both tables.
async fn init(
    ctx: &mut Context,
    athena: &AthenaEngine,
    dry_run: bool,
    show_progress: bool,
) -> anyhow::Result<Exit> {
    let ddl = athena.ddl();
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
        let run = athena.run(statement, &progress).await;
        progress.finish();
        let run = run?;
        if !ctx.global.is_quiet() {
            let first = statement.lines().next().unwrap_or_default();
            eprintln!("athena: {first} (query {})", run.id);
        }
    }
    Ok(Exit::Ok)
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
    let queries: Vec<_> = reports.iter().flat_map(|r| &r.compaction.queries).collect();
    if !queries.is_empty() {
        return format!(
            "compact: {} batches, {} objects, {} Athena queries: {} scanned, {:.1} s engine time, \
             ~{:.5} USD; {:.2} s; {pending} objects still pending",
            reports.len(),
            reports.iter().map(|r| r.objects).sum::<usize>(),
            queries.len(),
            indicatif::HumanBytes(queries.iter().map(|q| q.bytes_scanned).sum()),
            queries.iter().map(|q| q.engine_millis).sum::<u64>() as f64 / 1000.0,
            queries.iter().map(|q| q.cost_usd).sum::<f64>(),
            seconds
        );
    }
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

/// The raw objects counted but not yet in any batch, oldest key first (the order claims take).
async fn pending_objects(pipeline: &Pipeline) -> anyhow::Result<Vec<crate::store::ObjectInfo>> {
    let batches = pipeline.counter.batches().await?;
    let in_batch: HashSet<&String> = batches.iter().flat_map(|b| &b.keys).collect();
    let counted: HashSet<String> = pipeline
        .counter
        .counted()
        .await?
        .into_iter()
        .map(|c| c.key)
        .collect();
    Ok(pipeline
        .store
        .list(crate::store::RAW)
        .await?
        .into_iter()
        .filter(|o| counted.contains(&o.key) && !in_batch.contains(&o.key))
        .collect())
}

async fn plan(
    ctx: &mut Context,
    pipeline: &Pipeline,
    athena: Option<&AthenaEngine>,
    threshold: u32,
    args: &CompactArgs,
) -> anyhow::Result<Exit> {
    let mut steps = Vec::new();
    let batches = match &args.batch {
        Some(id) => vec![pipeline.counter.batch(id).await?],
        None => pipeline.resumable().await?,
    };
    for batch in batches {
        let compacted = batch.state == BatchState::Compacted;
        steps.push(Planned {
            action: if compacted {
                "delete leftover raw objects"
            } else {
                "resume (rewrite its outputs)"
            },
            batch: Some(batch.id.clone()),
            objects: batch.keys.len() as u64,
            bytes: Some(batch.bytes),
            keys: if compacted { Vec::new() } else { batch.keys },
            estimated_cost_usd: None,
            sql: None,
        });
    }
    if args.batch.is_none() {
        let pending = pending_objects(pipeline).await?;
        let full = pending.len() - pending.len() % threshold as usize;
        let mut chunks: Vec<(&'static str, &[crate::store::ObjectInfo])> = pending[..full]
            .chunks(threshold as usize)
            .map(|c| ("claim and compact", c))
            .collect();
        if args.all && full < pending.len() {
            chunks.push(("claim and compact (partial)", &pending[full..]));
        }
        for (action, objects) in chunks {
            steps.push(Planned {
                action,
                batch: None,
                objects: objects.len() as u64,
                bytes: Some(objects.iter().map(|o| o.size).sum()),
                keys: objects.iter().map(|o| o.key.clone()).collect(),
                estimated_cost_usd: None,
                sql: None,
            });
        }
    }
    if let Some(athena) = athena {
        for step in steps.iter_mut().filter(|s| !s.keys.is_empty()) {
            let id = step.batch.as_deref().unwrap_or(NEW_BATCH);
            let sql = athena.statements(id, &step.keys)?;
            // Athena bills each statement for what it scans: its share of the batch.
            let per_statement = step.bytes.unwrap_or(0) / sql.len().max(1) as u64;
            step.estimated_cost_usd = Some(sql.len() as f64 * cost_usd(per_statement));
            step.sql = Some(sql);
        }
    }
    if ctx.output.format == Format::Table && steps.is_empty() {
        eprintln!("compact: nothing to do");
        return Ok(Exit::Ok);
    }
    if ctx.output.format == Format::Table && athena.is_some() {
        // A SQL script: `iotpipe compact --engine athena --dry-run > plan.sql`.
        let out = ctx.output.raw();
        for step in &steps {
            writeln!(
                out,
                "-- {}: batch {}, {} objects, {} to scan, ~{:.5} USD",
                step.action,
                step.batch.as_deref().unwrap_or(NEW_BATCH),
                step.objects,
                indicatif::HumanBytes(step.bytes.unwrap_or(0)),
                step.estimated_cost_usd.unwrap_or(0.0)
            )?;
            for statement in step.sql.iter().flatten() {
                writeln!(out, "{statement};\n")?;
            }
        }
        out.flush()?;
        return Ok(Exit::Ok);
    }
    let mut records = ctx.output.records::<Planned>(false);
    for step in &steps {
        records.write(step)?;
    }
    records.finish()?;
    Ok(Exit::Ok)
}

/// The batch id in the SQL of a batch not claimed yet.
const NEW_BATCH: &str = "<new batch>";
