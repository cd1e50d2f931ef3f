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
pub mod local;

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use crate::counter::{Batch, BatchState, Counter, CounterError};
use crate::store::{COMPACTED, Store, StoreError};

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
    #[error("interrupted{}", query.as_ref().map(|q| format!("; Athena query {q} was stopped")).unwrap_or_default())]
    Interrupted { query: Option<String> },
}

impl CompactError {
    pub fn hint(&self) -> Option<String> {
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
            CompactError::Query { .. } => Some(
                "the batch is marked failed and its raw objects are kept; fix the cause Athena \
                 names (`iotpipe compact --dry-run --engine athena` shows the SQL), then rerun \
                 `iotpipe compact --engine athena`"
                    .into(),
            ),
            CompactError::Interrupted { .. } => {
                Some("the batch is left retryable; rerun `iotpipe compact` to finish it".into())
            }
        }
    }
}

/// One Parquet file written for a batch.
#[derive(Debug, Clone, Serialize)]
pub struct Output {
    pub key: String,
    pub rows: u64,
}

/// What compacting one batch did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Compaction {
    pub outputs: Vec<Output>,
    pub rows_in: u64,
    pub rows_out: u64,
    pub duplicates: u64,
    /// Rows that are not schema v1, kept under rejected/compaction/.
    pub invalid: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// The engine's queries (Athena).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub queries: Vec<athena::QueryRun>,
}

/// Progress callbacks (an indicatif bar on a terminal, nothing otherwise).
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    pub fn new(objects: u64, visible: bool) -> Progress {
        let bar = visible.then(|| {
            let bar = indicatif::ProgressBar::new(objects);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} compacting [{bar:30}] {pos}/{len} objects, {bytes} read, {elapsed}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar
        });
        Progress { bar }
    }

    pub fn hidden() -> Progress {
        Progress { bar: None }
    }

    pub fn object(&self, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
            bar.set_message(bytes.to_string());
        }
    }

    /// A one-line status instead of the bar (an engine waiting on a service).
    pub fn status(&self, message: &str) {
        if let Some(bar) = &self.bar {
            if bar.length().is_some() {
                bar.set_style(
                    indicatif::ProgressStyle::with_template("{spinner} {msg}, {elapsed}")
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
                );
                bar.unset_length();
                bar.enable_steady_tick(std::time::Duration::from_millis(120));
            }
            bar.set_message(message.to_string());
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[async_trait::async_trait]
pub trait Compactor: Send + Sync {
    fn name(&self) -> &'static str;
    /// Writes the batch's outputs (step 1). Must be idempotent.
    async fn compact(&self, batch: &Batch, progress: &Progress)
    -> Result<Compaction, CompactError>;
}

/// `compacted/dt=<day>/batch-<id>.parquet`
pub fn output_key(day: &str, batch_id: &str) -> String {
    format!("{COMPACTED}dt={day}/batch-{batch_id}.parquet")
}

/// Where the protocol may stop on purpose, for crash tests (`--fail-point`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailPoint {
    /// After the Parquet files are written, before marking.
    AfterWrite,
    /// After marking the batch compacted, before deleting raw objects.
    AfterMark,
    /// After deleting the first raw object.
    AfterFirstDelete,
}

fn fail_at(point: FailPoint, wanted: Option<FailPoint>) {
    if wanted == Some(point) {
        // Like kill -9: no cleanup, no flush.
        std::process::abort();
    }
}

/// The outcome of one batch, for the summary.
#[derive(Debug, Clone, Serialize)]
pub struct BatchReport {
    pub batch: String,
    pub objects: usize,
    #[serde(flatten)]
    pub compaction: Compaction,
    pub deleted: usize,
    pub seconds: f64,
    /// The batch was already compacted; only leftover raw objects were deleted.
    pub resumed_deletion: bool,
}

/// How long a claimed batch belongs to its claimer before others resume it,
/// where claimers run elsewhere (the Lambda, stopped after 15 minutes at most).
pub const CLAIM_GRACE: time::Duration = time::Duration::minutes(16);

/// The stores and engine one compaction run works with.
pub struct Pipeline {
    pub store: Arc<dyn Store>,
    pub counter: Arc<dyn Counter>,
    pub engine: Arc<dyn Compactor>,
    pub fail_point: Option<FailPoint>,
    /// Claimed batches younger than this are left to their claimer (None:
    /// every claimer is this process or dead, as with the local store).
    pub claim_grace: Option<time::Duration>,
}

impl Pipeline {
    /// Runs steps 1-4 for a claimed or failed batch, or step 4 for a compacted one.
    pub async fn run_batch(
        &self,
        batch: &Batch,
        progress: &Progress,
    ) -> Result<BatchReport, CompactError> {
        let started = Instant::now();
        if batch.state == BatchState::Compacted {
            let deleted = self.delete_raw(batch).await?;
            return Ok(BatchReport {
                batch: batch.id.clone(),
                objects: batch.keys.len(),
                compaction: Compaction::default(),
                deleted,
                seconds: started.elapsed().as_secs_f64(),
                resumed_deletion: true,
            });
        }
        let compaction = match self.write_and_verify(batch, progress).await {
            Ok(compaction) => compaction,
            Err(error) => {
                // Leave the batch retryable, with the reason for `iotpipe counters`.
                let _ = self
                    .counter
                    .mark_failed(&batch.id, &error.to_string())
                    .await;
                return Err(error);
            }
        };
        fail_at(FailPoint::AfterWrite, self.fail_point);
        self.counter.mark_compacted(&batch.id).await?;
        fail_at(FailPoint::AfterMark, self.fail_point);
        let deleted = self.delete_raw(batch).await?;
        Ok(BatchReport {
            batch: batch.id.clone(),
            objects: batch.keys.len(),
            compaction,
            deleted,
            seconds: started.elapsed().as_secs_f64(),
            resumed_deletion: false,
        })
    }

    async fn write_and_verify(
        &self,
        batch: &Batch,
        progress: &Progress,
    ) -> Result<Compaction, CompactError> {
        let compaction = self.engine.compact(batch, progress).await?;
        let mut rows = 0;
        for output in &compaction.outputs {
            let body = self.store.get(&output.key).await?;
            let in_file = parquet_rows(&body).map_err(|reason| CompactError::Verify {
                key: output.key.clone(),
                reason,
            })?;
            if in_file != output.rows {
                return Err(CompactError::Verify {
                    key: output.key.clone(),
                    reason: format!("{in_file} rows in the file, {} written", output.rows),
                });
            }
            rows += in_file;
        }
        if rows != compaction.rows_out {
            return Err(CompactError::Verify {
                key: format!("batch {}", batch.id),
                reason: format!(
                    "{rows} rows in the outputs, {} expected",
                    compaction.rows_out
                ),
            });
        }
        Ok(compaction)
    }

    async fn delete_raw(&self, batch: &Batch) -> Result<usize, CompactError> {
        let present = crate::store::keys(&*self.store, crate::store::RAW).await?;
        let leftovers: Vec<String> = batch
            .keys
            .iter()
            .filter(|k| present.contains(*k))
            .cloned()
            .collect();
        if self.fail_point == Some(FailPoint::AfterFirstDelete) {
            if let Some(first) = leftovers.first() {
                self.store.delete(first).await?;
                fail_at(FailPoint::AfterFirstDelete, self.fail_point);
            }
        }
        self.store.delete_many(&leftovers).await?;
        Ok(leftovers.len())
    }

    /// Batches to work on: unfinished ones, and compacted ones with raw
    /// leftovers; claimed batches within [`Pipeline::claim_grace`] are left alone.
    pub async fn resumable(&self) -> Result<Vec<Batch>, CompactError> {
        let present = crate::store::keys(&*self.store, crate::store::RAW).await?;
        let now = time::OffsetDateTime::now_utc();
        let mut batches: Vec<Batch> = self
            .counter
            .batches()
            .await?
            .into_iter()
            .filter(|b| {
                b.state != BatchState::Compacted || b.keys.iter().any(|k| present.contains(k))
            })
            .filter(|b| {
                let Some(grace) = self.claim_grace else {
                    return true;
                };
                let claimed = time::OffsetDateTime::parse(
                    &b.claimed_at,
                    &time::format_description::well_known::Rfc3339,
                );
                let young = claimed.is_ok_and(|at| now - at < grace);
                if b.state == BatchState::Claimed && young {
                    tracing::info!(
                        "batch {} was claimed at {}: left to its claimer for now (--batch {} takes it over)",
                        b.id,
                        b.claimed_at,
                        b.id
                    );
                    return false;
                }
                true
            })
            .collect();
        batches.reverse(); // oldest first
        Ok(batches)
    }
}

/// Rows in a Parquet file, from its footer.
pub fn parquet_rows(body: &[u8]) -> Result<u64, String> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let reader = SerializedFileReader::new(bytes::Bytes::copy_from_slice(body))
        .map_err(|e| e.to_string())?;
    Ok(reader.metadata().file_metadata().num_rows().max(0) as u64)
}
