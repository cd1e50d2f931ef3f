//! The exactly-once protocol over a store, a counter and an engine: which
//! batch is next (resume, then claim), the four steps of each (write, verify,
//! mark, delete), what a failed batch means for the ones after it, and the
//! `--dry-run` plan, derived from the same claim order (`plan.rs`). Holding a
//! batch meanwhile, its lease and the writer lock, is `hold.rs`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

mod hold;
mod plan;

pub use hold::Lease;
use hold::Renewed;
pub use plan::{NEW_BATCH, PlanStep};

use super::{CompactError, Compaction, Compactor, Progress};
use crate::counter::{Batch, BatchState, Counter, Hold, WRITER};
use crate::signal::Cancel;
use crate::store::Store;
use crate::store::content::parquet_rows;

/// Where the protocol may stop on purpose, for crash tests (`--fail-point`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailPoint {
    /// After the Parquet files are written, before marking.
    AfterWrite,
    /// After marking the batch compacted, before deleting raw objects.
    AfterMark,
    /// After deleting the first raw object.
    AfterFirstDelete,
    /// After writing, the process stops itself (SIGSTOP) as a laptop lid or
    /// Ctrl-Z would, until something sends it SIGCONT.
    StopAfterWrite,
}

fn fail_at(point: FailPoint, wanted: Option<FailPoint>) {
    if point == FailPoint::AfterWrite && wanted == Some(FailPoint::StopAfterWrite) {
        let _ = std::process::Command::new("kill")
            .args(["-STOP", &std::process::id().to_string()])
            .status();
    } else if wanted == Some(point) {
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

/// How long a claimed batch may go without a lease before it is taken as
/// abandoned by its claimer.
const UNLEASED_CLAIM: time::Duration = time::Duration::seconds(10);

/// The stores and engine one compaction run works with.
pub struct Pipeline {
    pub store: Arc<dyn Store>,
    pub counter: Arc<dyn Counter>,
    pub engine: Arc<dyn Compactor>,
    pub fail_point: Option<FailPoint>,
    /// Claimed batches younger than this are left to their claimer (None:
    /// every claimer is this process or dead, as with the local store).
    pub claim_grace: Option<time::Duration>,
    /// Who this runner is, and how long a batch it works on stays its own.
    pub lease: Lease,
}

impl Pipeline {
    /// Runs steps 1-4 for a claimed or failed batch, or step 4 for a compacted one.
    pub async fn run_batch(
        &self,
        batch: &Batch,
        progress: &dyn Progress,
    ) -> Result<BatchReport, CompactError> {
        let started = Instant::now();
        if batch.state == BatchState::Compacted {
            let deleted = self.delete_raw(batch).await?;
            self.counter.retire(batch).await?;
            return Ok(BatchReport {
                batch: batch.id.clone(),
                objects: batch.keys.len(),
                compaction: Compaction::default(),
                deleted,
                seconds: started.elapsed().as_secs_f64(),
                resumed_deletion: true,
            });
        }
        let ttl = self.lease.ttl;
        let Some(fence) = self
            .counter
            .lease(&batch.id, &self.lease.holder, ttl, None)
            .await?
        else {
            return Err(CompactError::Held {
                batch: batch.id.clone(),
            });
        };
        let mut hold = Hold {
            holder: self.lease.holder.clone(),
            batch: fence,
            writer: None,
        };
        let mut renewed = Renewed::now();
        self.take_writer(batch, &mut hold, &mut renewed).await?;
        let written = self
            .write_under_lease(batch, progress, &hold, &mut renewed)
            .await;
        let writer = hold.writer.unwrap_or_default();
        let result = self.mark(batch, &hold, written, &renewed).await;
        // Given back whatever happened; only this holder's, under its fence.
        let _ = self.counter.unlock(WRITER, &hold.holder, writer).await;
        let compaction = result?;
        fail_at(FailPoint::AfterMark, self.fail_point);
        let deleted = self.delete_raw(batch).await?;
        // Only now may its markers expire: its objects are gone from raw/.
        let compacted = Batch {
            state: BatchState::Compacted,
            ..batch.clone()
        };
        self.counter.retire(&compacted).await?;
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
        progress: &dyn Progress,
        lost: &Cancel,
    ) -> Result<Compaction, CompactError> {
        let compaction = self.engine.compact(batch, progress, lost).await?;
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
        if rows + compaction.rows_verified_by_query != compaction.rows_out {
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
        if self.fail_point == Some(FailPoint::AfterFirstDelete)
            && let Some(first) = leftovers.first()
        {
            self.store.delete(first).await?;
            fail_at(FailPoint::AfterFirstDelete, self.fail_point);
        }
        self.store.delete_many(&leftovers).await?;
        Ok(leftovers.len())
    }

    /// Batches to work on: unfinished ones, and compacted ones with raw
    /// leftovers; claimed batches within [`Pipeline::claim_grace`] are left to
    /// their claimer, unless it died ([`Pipeline::left_to_its_claimer`]).
    pub async fn resumable(&self) -> Result<Vec<Batch>, CompactError> {
        let present = crate::store::keys(&*self.store, crate::store::RAW).await?;
        let mut batches = Vec::new();
        for batch in self.counter.batches().await? {
            let unfinished = batch.state != BatchState::Compacted
                || batch.keys.iter().any(|k| present.contains(k))
                || !batch.retired;
            if unfinished && !self.left_to_its_claimer(&batch).await? {
                batches.push(batch);
            }
        }
        batches.reverse(); // oldest first
        Ok(batches)
    }

    /// A batch claimed within the grace, by a runner that may still be at it.
    async fn left_to_its_claimer(&self, batch: &Batch) -> Result<bool, CompactError> {
        let Some(grace) = self.claim_grace else {
            return Ok(false);
        };
        let age = time::OffsetDateTime::parse(
            &batch.claimed_at,
            &time::format_description::well_known::Rfc3339,
        )
        .map(|at| time::OffsetDateTime::now_utc() - at);
        let young = age.is_ok_and(|age| age < grace);
        if batch.state != BatchState::Claimed || !young {
            return Ok(false);
        }
        // A claimer takes its lease right after claiming: one that has not
        // after a while died in between, or leaves the batch to others (the
        // Lambda with `lambda.compact = "off"`). Taking the lease is
        // conditional, so resuming never races a claimer that was only slow.
        let unleased_for_long = age.is_ok_and(|age| age > UNLEASED_CLAIM);
        match self.counter.lease_holder(&batch.id).await? {
            Some(lease) if crate::counter::holder_is_gone(&lease.holder) => return Ok(false),
            // Given back or run out: its claimer has let it go.
            Some(lease)
                if crate::counter::expired(&lease.until, time::OffsetDateTime::now_utc()) =>
            {
                return Ok(false);
            }
            None if unleased_for_long => return Ok(false),
            _ => {}
        }
        tracing::info!(
            "batch {} was claimed at {}: left to its claimer for now (--batch {} takes it over)",
            batch.id,
            batch.claimed_at,
            batch.id
        );
        Ok(true)
    }
}

/// What a drain works on.
#[derive(Debug, Clone)]
pub struct Drain {
    /// Only this batch (`compact --batch ID`): nothing resumed or claimed.
    pub only: Option<String>,
    /// Finish unfinished batches first.
    pub resume: bool,
    /// Claim and compact new batches while `threshold` objects are pending.
    pub claim: bool,
    /// Then claim whatever is left, fewer than `threshold` (`--all`, `up` at the end).
    pub partial: bool,
    pub threshold: u32,
}

impl Drain {
    /// Resume, then claim full batches.
    pub fn full_batches(threshold: u32) -> Drain {
        Drain {
            only: None,
            resume: true,
            claim: true,
            partial: false,
            threshold,
        }
    }
}

/// A batch that failed and was left retryable.
#[derive(Debug)]
pub struct BatchFailure {
    pub batch: String,
    pub error: CompactError,
}

/// How one batch of a drain ended.
pub type BatchOutcome = Result<BatchReport, BatchFailure>;

/// What a whole drain did.
#[derive(Debug, Default)]
pub struct Drained {
    pub compacted: Vec<BatchReport>,
    /// Batches marked failed and left retryable; the drain went on without them.
    pub failed: Vec<BatchFailure>,
}

/// Whoever runs a drain hears of each batch as it starts and ends: a
/// command prints rows and draws a bar, `up` redraws its dashboard, the
/// Lambda fills its response.
pub trait Watcher {
    /// A batch starts: the progress its engine reports to.
    fn started(&mut self, _batch: &Batch) -> Box<dyn Progress> {
        Box::new(crate::progress::Silent)
    }
    /// A batch ended, compacted or failed.
    fn finished(&mut self, _outcome: &BatchOutcome) {}
}

impl Pipeline {
    /// Resumes, claims and compacts batches as `drain` says until none is
    /// left, telling `watcher` of each. A failed batch is marked failed, left
    /// retryable and listed in [`Drained::failed`], and the next goes on;
    /// `Err` ends the drain (a counter or store failure, an interrupt).
    pub async fn drain<W: Watcher + ?Sized>(
        &self,
        drain: &Drain,
        cancel: &Cancel,
        watcher: &mut W,
    ) -> Result<Drained, CompactError> {
        let mut work: VecDeque<Batch> = match &drain.only {
            Some(id) => VecDeque::from([self.counter.batch(id).await?]),
            None if drain.resume => self.resumable().await?.into(),
            None => VecDeque::new(),
        };
        let mut drained = Drained::default();
        loop {
            if cancel.is_cancelled() {
                return Err(CompactError::Interrupted { query: None });
            }
            if work.is_empty() && drain.only.is_none() && drain.claim {
                work.extend(
                    self.counter
                        .claim_next(drain.threshold, drain.partial)
                        .await?,
                );
            }
            let Some(batch) = work.pop_front() else {
                return Ok(drained);
            };
            let progress = watcher.started(&batch);
            let report = self.run_batch_until(&batch, &*progress, cancel).await;
            progress.finish();
            let outcome = match report {
                Ok(report) => Ok(report),
                // Asked for by id (`--batch`): say who has it instead of "nothing to do".
                Err(error @ CompactError::Held { .. }) if drain.only.is_some() => {
                    return Err(error);
                }
                Err(CompactError::Held { batch }) => {
                    tracing::info!("batch {batch} is held by another runner: left to it");
                    continue;
                }
                // Claiming more would only leave more batches waiting.
                Err(error @ CompactError::WriterBusy { .. }) if drain.only.is_some() => {
                    return Err(error);
                }
                Err(CompactError::WriterBusy { batch }) => {
                    tracing::info!(
                        "another runner is writing the table: batch {batch} and the rest are \
                         left for later"
                    );
                    return Ok(drained);
                }
                Err(CompactError::LeaseLost { .. }) if drain.only.is_none() => {
                    tracing::warn!(
                        "batch {}: lease lost midway; left to its new holder",
                        batch.id
                    );
                    continue;
                }
                Err(error @ CompactError::Interrupted { .. }) => return Err(error),
                // Marked failed, raw objects kept: the next batch goes on.
                Err(error) => Err(BatchFailure {
                    batch: batch.id,
                    error,
                }),
            };
            watcher.finished(&outcome);
            match outcome {
                Ok(report) => drained.compacted.push(report),
                Err(failure) => drained.failed.push(failure),
            }
        }
    }

    /// [`Pipeline::run_batch`], stopped by `cancel`: by the engine itself
    /// where it stops remote work first, else by dropping the batch midway,
    /// which is as safe as a crash (it resumes).
    async fn run_batch_until(
        &self,
        batch: &Batch,
        progress: &dyn Progress,
        cancel: &Cancel,
    ) -> Result<BatchReport, CompactError> {
        let run = self.run_batch(batch, progress);
        if self.engine.stops_on_cancel() {
            return run.await;
        }
        tokio::select! {
            report = run => report,
            () = cancel.cancelled() => Err(CompactError::Interrupted { query: None }),
        }
    }
}
