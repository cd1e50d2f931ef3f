//! `iotpipe counters`: the exactly-once counter: pending objects, the threshold,
//! batches; `--reconcile` compares it with the store.

use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use super::Context;
use crate::backends::Stages;
use crate::counter::{Batch, BatchState, Counter, Setup};
use crate::error::{Exit, Hinted};
use crate::output::{Column, Format, Row, write_table};
use crate::store::{self, Store};

#[derive(Debug, Args)]
pub struct CountersArgs {
    /// Data directory holding the store and the counter (config data_dir)
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Compare the counter with a listing of raw/: objects never counted, and
    /// counted objects that are gone. Exit 3 when they disagree
    #[arg(long)]
    pub reconcile: bool,

    /// With --reconcile: record the objects the counter never saw
    #[arg(long, requires = "reconcile")]
    pub fix: bool,

    /// Create the counter's DynamoDB table (backend = "aws"); SQLite needs no set-up
    #[arg(long, conflicts_with = "reconcile")]
    pub init: bool,
}

async fn init(counter: &dyn Counter) -> anyhow::Result<Exit> {
    let done = match counter.init().await? {
        Setup::NotNeeded => "creates itself; nothing to do".to_string(),
        Setup::Created => "created (on-demand capacity, pending index, TTL)".to_string(),
        Setup::Existed => "already exists".to_string(),
        Setup::Upgraded(added) => format!("already exists; added {added}"),
    };
    crate::note!("counters: {} {done}", counter.describe());
    Ok(Exit::Ok)
}

#[derive(Serialize)]
struct Summary {
    counter: String,
    pending: u64,
    threshold: u32,
    claimed: usize,
    compacted: usize,
    failed: usize,
    set_aside: SetAside,
    /// Readings sinks found missing: a broker dropped them after acknowledging.
    missing_readings: u64,
    /// When each device's newest reading was taken, as the sinks saw them.
    device_last_readings: std::collections::BTreeMap<String, String>,
    batches: Vec<BatchRow>,
}

/// What compaction kept aside under `rejected/compaction/` instead of compacting.
#[derive(Serialize, Default)]
struct SetAside {
    /// Raw objects no engine could read, kept byte for byte.
    objects: usize,
    /// Lines that are not schema v1, with the reason each.
    rows: u64,
    prefix: String,
    /// Readings IoT Core's impostor rule kept under `rejected/identity/`:
    /// their device_id was not the thing that published them.
    impostors: usize,
}

impl SetAside {
    async fn of(store: &dyn Store) -> anyhow::Result<SetAside> {
        let prefix = format!("{}compaction/", store::REJECTED);
        let mut found = SetAside {
            prefix: prefix.clone(),
            ..SetAside::default()
        };
        found.impostors = store
            .list(&format!("{}identity/", store::REJECTED))
            .await?
            .len();
        for object in store.list(&prefix).await? {
            let rest = &object.key[prefix.len()..];
            // batch-<id>/<object> holds an object; batch-<id>.jsonl holds rows.
            if rest.contains('/') {
                found.objects += 1;
            } else if rest.ends_with(".jsonl") {
                let body = store.get(&object.key).await?;
                found.rows += body.iter().filter(|b| **b == b'\n').count() as u64;
            }
        }
        Ok(found)
    }
}

#[derive(Serialize)]
struct BatchRow {
    id: String,
    state: BatchState,
    objects: usize,
    bytes: u64,
    claimed_at: String,
    done_at: Option<String>,
    error: Option<String>,
}

impl From<Batch> for BatchRow {
    fn from(b: Batch) -> Self {
        BatchRow {
            id: b.id,
            state: b.state,
            objects: b.keys.len(),
            bytes: b.bytes,
            claimed_at: b.claimed_at,
            done_at: b.done_at,
            error: b.error,
        }
    }
}

impl Row for BatchRow {
    const COLUMNS: &'static [Column] = &[
        Column::left("batch", 26),
        Column::left("state", 9),
        Column::right("objects", 7),
        Column::right("bytes", 10),
        Column::left("claimed", 24),
        Column::left("done", 24),
        Column::left("error", 0),
    ];

    fn cells(&self) -> Vec<String> {
        vec![
            self.id.clone(),
            self.state.to_string(),
            self.objects.to_string(),
            self.bytes.to_string(),
            self.claimed_at.clone(),
            self.done_at.clone().unwrap_or_else(|| "-".into()),
            self.error.clone().unwrap_or_default(),
        ]
    }
}

#[derive(Serialize)]
struct Drift {
    /// In raw/ but never counted.
    uncounted: Vec<String>,
    /// Counted (and not compacted) but no longer in raw/.
    gone: Vec<String>,
    /// Uncounted objects recorded by --fix.
    fixed: u64,
}

pub fn run(ctx: &mut Context, args: &CountersArgs) -> anyhow::Result<Exit> {
    let config = ctx
        .config(super::args::data_dir_override(args.data_dir.as_deref()))?
        .config;
    let runtime = super::runtime()?;
    runtime.block_on(async {
        let Stages { store, counter, .. } = Stages::new(&config).await?;
        if args.init {
            return init(&*counter).await;
        }
        if args.reconcile {
            reconcile(ctx, &*store, &*counter, args.fix).await
        } else {
            show(ctx, &*store, &*counter, config.counter.threshold).await
        }
    })
}

async fn show(
    ctx: &mut Context,
    store: &dyn Store,
    counter: &dyn Counter,
    threshold: u32,
) -> anyhow::Result<Exit> {
    let batches = counter.batches().await?;
    let count = |state| batches.iter().filter(|b| b.state == state).count();
    let summary = Summary {
        counter: counter.describe(),
        pending: counter.pending().await?,
        threshold,
        claimed: count(BatchState::Claimed),
        compacted: count(BatchState::Compacted),
        failed: count(BatchState::Failed),
        set_aside: SetAside::of(store).await?,
        missing_readings: crate::counter::missing_readings(counter).await?,
        device_last_readings: crate::counter::device_last_readings(counter).await?,
        batches: batches.into_iter().map(BatchRow::from).collect(),
    };
    match ctx.output.format {
        Format::Table => {
            let rows = vec![
                vec![
                    "pending objects".into(),
                    format!("{} (a batch every {})", summary.pending, summary.threshold),
                ],
                vec![
                    "batches".into(),
                    format!(
                        "{} claimed, {} compacted, {} failed",
                        summary.claimed, summary.compacted, summary.failed
                    ),
                ],
                vec!["set aside".into(), {
                    let set_aside = &summary.set_aside;
                    let mut text = format!(
                        "{} unreadable objects, {} rows that are not schema v1 (under {})",
                        set_aside.objects, set_aside.rows, set_aside.prefix
                    );
                    if set_aside.impostors > 0 {
                        text.push_str(&format!(
                            "; {} readings whose device_id was not the thing that sent \
                                 them (under {}identity/)",
                            set_aside.impostors,
                            store::REJECTED
                        ));
                    }
                    text
                }],
                vec![
                    "readings missing".into(),
                    format!(
                        "{} (a sink found them skipped: the broker dropped them; docs/brokers.md)",
                        summary.missing_readings
                    ),
                ],
                vec!["counter".into(), summary.counter.clone()],
            ];
            let now = time::OffsetDateTime::now_utc();
            let mut rows = rows;
            for (device, at) in &summary.device_last_readings {
                rows.push(vec![
                    format!("device {device}"),
                    format!("newest reading {at} ({})", crate::output::ago(at, now)),
                ]);
            }
            write_table(
                &mut ctx.output,
                &[Column::left("", 0), Column::left("", 0)],
                rows,
            )?;
            if !summary.batches.is_empty() {
                let mut records = ctx.output.records::<BatchRow>(false);
                for batch in &summary.batches {
                    records.write(batch)?;
                }
                records.finish()?;
            }
        }
        _ => ctx.output.value(&summary)?,
    }
    Ok(Exit::Ok)
}

async fn reconcile(
    ctx: &mut Context,
    store: &dyn Store,
    counter: &dyn Counter,
    fix: bool,
) -> anyhow::Result<Exit> {
    let listing = store.list(store::RAW).await?;
    let listed = listing.len();
    let found = crate::counter::drift(listing, &counter.counted().await?);
    // Record from this listing rather than listing and scanning again.
    let fixed = if fix {
        found.record_uncounted(counter).await?
    } else {
        0
    };
    let uncounted = found.uncounted.into_iter().map(|o| o.key).collect();
    let gone = found.gone;
    let drift = Drift {
        uncounted,
        gone,
        fixed,
    };
    match ctx.output.format {
        Format::Table => {
            let mut rows: Vec<Vec<String>> = Vec::new();
            for key in &drift.uncounted {
                let state = if fix {
                    "never counted (recorded now)"
                } else {
                    "never counted"
                };
                rows.push(vec![state.into(), key.clone()]);
            }
            for key in &drift.gone {
                rows.push(vec!["counted, gone from the store".into(), key.clone()]);
            }
            if rows.is_empty() {
                crate::note!("counter and store agree: {listed} objects in raw/");
            } else {
                write_table(
                    &mut ctx.output,
                    &[Column::left("drift", 0), Column::left("object", 0)],
                    rows,
                )?;
            }
        }
        _ => ctx.output.value(&drift)?,
    }
    let unfixed = drift.gone.len() + if fix { 0 } else { drift.uncounted.len() };
    if unfixed > 0 {
        return Err(Hinted::new(
            Exit::Partial,
            format!(
                "the counter and {} disagree: {} never counted, {} gone",
                store.describe(),
                drift.uncounted.len(),
                drift.gone.len()
            ),
            "--reconcile --fix records the objects never counted; objects that are gone cannot be \
             compacted: restore them, or they stay pending",
        )
        .into());
    }
    Ok(Exit::Ok)
}
