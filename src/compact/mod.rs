//! Compaction: rewrites a batch of raw objects as Parquet under `compacted/`,
//! following the exactly-once protocol of DESIGN.md:
//!
//! 1. the engine writes `compacted/dt=YYYY-MM-DD/batch-<id>.parquet` (a name
//!    fixed by the batch, so a retry overwrites instead of duplicating);
//! 2. the outputs are verified by reading their Parquet footers back from the
//!    store (they exist, and their row counts add up);
//! 3. only then is the batch marked compacted;
//! 4. only then are the raw objects deleted.
//!
//! A crash between any two steps is repaired by running it again: unfinished
//! batches are redone from step 1, compacted batches with raw leftovers resume
//! at step 4. Engines: [`local`] (arrow + parquet in process) and [`athena`].

pub mod athena;
pub mod athena_sql;
pub mod day_index;
pub mod local;
mod pipeline;
pub mod run_index;

use serde::Serialize;

pub use pipeline::{
    BatchFailure, BatchOutcome, BatchReport, CLAIM_GRACE, Drain, Drained, FailPoint, Lease,
    NEW_BATCH, Pipeline, PlanStep, Watcher,
};

pub use crate::progress::Progress;

use crate::counter::{Batch, CounterError};
use crate::error::{Diagnose, Exit};
use crate::store::{COMPACTED, StoreError};

/// Which engine compacts (`compact --engine`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Engine {
    /// arrow + parquet in this process (reads and writes the configured store)
    Local,
    /// INSERT INTO the Parquet table, run by Athena (needs backend = "aws")
    Athena,
}

#[derive(Debug, thiserror::Error)]
pub enum CompactError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Counter(#[from] CounterError),
    #[error("raw object {key} cannot be read: {reason}")]
    Corrupt { key: String, reason: String },
    #[error("compaction engine: {0}")]
    Engine(String),
    #[error("verifying {key}: {reason}")]
    Verify { key: String, reason: String },
    #[error("Athena query {id} ended {state}: {reason}")]
    Query {
        id: String,
        state: String,
        reason: String,
    },
    #[error("batch {batch} is held by another runner")]
    Held { batch: String },
    #[error("batch {batch} waited too long for another runner to finish writing the table")]
    WriterBusy { batch: String },
    #[error("this runner lost its lease on the batch{}", query.as_ref().map(|q| format!("; Athena query {q} was stopped")).unwrap_or_default())]
    LeaseLost { query: Option<String> },
    #[error("interrupted{}", query.as_ref().map(|q| format!("; Athena query {q} was stopped")).unwrap_or_default())]
    Interrupted { query: Option<String> },
}

impl Diagnose for CompactError {
    fn exit(&self) -> Exit {
        match self {
            CompactError::Interrupted { .. } => Exit::Interrupted,
            _ => Exit::Failure,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            CompactError::Store(e) => e.hint(),
            CompactError::Counter(e) => e.hint(),
            CompactError::Corrupt { .. } => Some(
                "the batch is marked failed and left in place; move the object aside (and run \
                 `iotpipe counters --reconcile`), then rerun `iotpipe compact`"
                    .into(),
            ),
            CompactError::Engine(_) | CompactError::Verify { .. } => Some(
                "the batch is marked failed and is retried by the next `iotpipe compact`".into(),
            ),
            CompactError::Query { reason, .. } if reason.contains("TABLE_NOT_FOUND") => Some(
                "run `iotpipe compact --init` (it creates what is missing, IF NOT EXISTS; \
                 this version surveys raw objects through the `<raw_table>_lines` table), \
                 then rerun `iotpipe compact --engine athena`; the batch is kept and retried"
                    .into(),
            ),
            CompactError::Query { .. } => Some(
                "the batch is marked failed and its raw objects are kept; fix the cause Athena \
                 names (`iotpipe compact --dry-run --engine athena` shows the SQL), then rerun \
                 `iotpipe compact --engine athena`"
                    .into(),
            ),
            CompactError::Interrupted { .. } => {
                Some("the batch is left retryable; rerun `iotpipe compact` to finish it".into())
            }
            CompactError::Held { .. } => Some(
                "another `iotpipe compact`, `up` or the Lambda is working on it; it is free again \
                 when that runner ends or its lease expires"
                    .into(),
            ),
            CompactError::WriterBusy { .. } => Some(
                "one runner writes compacted files at a time, so that each sees every reading \
                 already written; the batch was given back and the next run takes it"
                    .into(),
            ),
            CompactError::LeaseLost { .. } => Some(
                "this runner was paused or cut off past its lease, so it marked and deleted \
                 nothing; the runner that holds the batch now finishes it (or it is retried)"
                    .into(),
            ),
        }
    }
}

/// One Parquet file written for a batch.
#[derive(Debug, Clone, Serialize)]
pub struct OutputFile {
    pub key: String,
    pub rows: u64,
}

/// A raw object a batch went on without, and why.
#[derive(Debug, Clone, Serialize)]
pub struct SetAside {
    pub key: String,
    pub reason: String,
    /// Where its bytes were kept (`rejected/compaction/...`), if they could be.
    pub kept_at: Option<String>,
}

/// What compacting one batch did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Compaction {
    pub outputs: Vec<OutputFile>,
    pub rows_in: u64,
    pub rows_out: u64,
    pub duplicates: u64,
    /// Rows that are not schema v1, kept under rejected/compaction/.
    pub invalid: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// Raw objects compacted without: unreadable (kept under rejected/) or gone.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub set_aside: Vec<SetAside>,
    /// What the engine's queries cost, for engines that bill by query.
    #[serde(flatten)]
    pub cost: Option<Cost>,
    /// Rows written where no output file names them (Athena's INSERTs), which
    /// the engine's own verification query proved in the table.
    #[serde(skip)]
    pub rows_verified_by_query: u64,
    /// When each device's newest stored reading of the batch was taken (RFC
    /// 3339, UTC): kept in the counter, for `device list` and `counters`.
    #[serde(skip)]
    pub newest: std::collections::BTreeMap<String, String>,
}

impl Compaction {
    /// Keeps `at` as `device`'s newest reading if it is newer than the one kept.
    pub fn saw(&mut self, device: &str, at: &str) {
        crate::payload::keep_latest(&mut self.newest, device, at);
    }
}

/// The bill of an engine that runs queries elsewhere and pays per byte scanned.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Cost {
    pub queries: Vec<BilledQuery>,
}

/// One query an engine ran, and what it cost.
#[derive(Debug, Clone, Serialize)]
pub struct BilledQuery {
    pub id: String,
    /// What it was for (survey, clean-up, insert, verify); empty for set-up.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub purpose: &'static str,
    pub bytes_scanned: u64,
    pub engine_millis: u64,
    pub cost_usd: f64,
}

impl Cost {
    pub fn bytes_scanned(&self) -> u64 {
        self.queries.iter().map(|q| q.bytes_scanned).sum()
    }

    pub fn engine_seconds(&self) -> f64 {
        self.queries.iter().map(|q| q.engine_millis).sum::<u64>() as f64 / 1000.0
    }

    pub fn usd(&self) -> f64 {
        self.queries.iter().map(|q| q.cost_usd).sum()
    }

    /// The bills of several batches as one.
    pub fn total<'c>(costs: impl IntoIterator<Item = &'c Cost>) -> Option<Cost> {
        let queries: Vec<BilledQuery> = costs
            .into_iter()
            .flat_map(|c| c.queries.iter().cloned())
            .collect();
        (!queries.is_empty()).then_some(Cost { queries })
    }
}

/// What compacting some objects would run and cost, for `--dry-run`.
#[derive(Debug, Clone, Serialize)]
pub struct Estimate {
    pub sql: Vec<String>,
    pub cost_usd: f64,
}

#[async_trait::async_trait]
pub trait Compactor: Send + Sync {
    /// The engine's name as people know it, for summaries ("Athena").
    fn name(&self) -> &'static str;
    /// Writes the batch's outputs (step 1). Must be idempotent.
    /// `lost` fires when this runner's lease on the batch is gone: the
    /// engine stops what it runs elsewhere and returns [`CompactError::LeaseLost`].
    async fn compact(
        &self,
        batch: &Batch,
        progress: &dyn Progress,
        lost: &crate::signal::Cancel,
    ) -> Result<Compaction, CompactError>;
    /// What compacting `keys` (`bytes` in all) as batch `batch_id` would run
    /// and cost, for engines that run SQL; None for the others.
    fn estimate(
        &self,
        _batch_id: &str,
        _keys: &[String],
        _bytes: u64,
    ) -> Result<Option<Estimate>, CompactError> {
        Ok(None)
    }
    /// True when each compaction comes with a [`Cost`] (its reports are
    /// shown as queries and their bill rather than rows).
    fn billed(&self) -> bool {
        false
    }
    /// True when the engine watches the cancel token itself (stopping a remote
    /// query first); otherwise a cancelled batch is dropped midway.
    fn stops_on_cancel(&self) -> bool {
        false
    }
}

/// The statements that create what an engine's tables need (`compact --init`):
/// for engines that keep a catalog of their own.
#[async_trait::async_trait]
pub trait TableSetup: Send + Sync {
    /// The statements, in order (printed by `--init --dry-run`).
    fn statements(&self) -> Vec<String>;
    /// Runs one statement; returns the engine's id for it.
    async fn run(&self, statement: &str, progress: &dyn Progress) -> Result<String, CompactError>;
}

/// `compacted/dt=<day>/batch-<id>.parquet`
pub fn output_key(day: &str, batch_id: &str) -> String {
    format!("{COMPACTED}dt={day}/batch-{batch_id}.parquet")
}

/// The `<day>` of a `compacted/dt=<day>/...` key ([`output_key`]'s, or a sidecar's).
pub fn day_of_key(key: &str) -> Option<&str> {
    key.strip_prefix(COMPACTED)?
        .strip_prefix("dt=")?
        .split_once('/')
        .map(|(day, _)| day)
}

/// Every reading in `compacted/`, whichever engine wrote it, from the days'
/// key-range sidecars (rebuilt where missing): a few bytes per run, however
/// long the table.
pub async fn compacted_ranges(
    store: &dyn crate::store::Store,
) -> Result<crate::payload::KeyRanges, CompactError> {
    let days: std::collections::BTreeSet<String> = store
        .list(COMPACTED)
        .await?
        .iter()
        .filter_map(|object| day_of_key(&object.key).map(str::to_string))
        .collect();
    let mut ranges = crate::payload::KeyRanges::default();
    for day in days {
        ranges.extend(day_index::load(store, &day, "").await?);
    }
    Ok(ranges)
}
