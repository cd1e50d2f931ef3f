//! The exactly-once protocol over a store, a counter and an engine: which
//! batch is next (resume, then claim), the four steps of each (write, verify,
//! mark, delete), what a failed batch means for the ones after it, and the
//! `--dry-run` plan, derived from the same claim order.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

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

/// A runner's hold on the batches it works on: only the holder may write,
/// mark or delete a batch's outputs, so two runners never work one batch.
#[derive(Debug, Clone)]
pub struct Lease {
    pub holder: String,
    pub ttl: std::time::Duration,
}

/// When a lease was last renewed, by the wall clock: tokio's timers and
/// `Instant` stop while the machine is suspended, so only the wall clock
/// tells a runner that wakes up that its lease ran out meanwhile.
struct Renewed(std::time::SystemTime);

impl Renewed {
    fn now() -> Renewed {
        Renewed(std::time::SystemTime::now())
    }

    /// How long ago; a clock set back counts as no time.
    fn elapsed(&self) -> std::time::Duration {
        self.0.elapsed().unwrap_or_default()
    }
}

impl Lease {
    /// A lease for this process lasting `ttl` per batch: longer than the
    /// longest the engine can take (Athena stops a DML query after 30 minutes).
    pub fn for_this_runner(ttl: std::time::Duration) -> Lease {
        Lease {
            holder: crate::counter::new_holder(),
            ttl,
        }
    }

    /// How long a batch waits for another runner to finish writing before
    /// it is given back: half a lease, at most a minute. The writer drains
    /// on while batches fill, so a Lambda invocation need not wait it out.
    fn writer_wait(&self) -> std::time::Duration {
        (self.ttl / 2).min(std::time::Duration::from_secs(60))
    }
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

    /// Waits for the table's [`WRITER`] lock, renewing the batch's lease;
    /// gives the batch back when another runner writes longer than the wait.
    async fn take_writer(
        &self,
        batch: &Batch,
        hold: &mut Hold,
        renewed: &mut Renewed,
    ) -> Result<(), CompactError> {
        let ttl = self.lease.ttl;
        let give_up = Renewed::now();
        let mut pause = std::time::Duration::from_millis(100);
        loop {
            if let Some(fence) = self.counter.lock(WRITER, &hold.holder, ttl, None).await? {
                hold.writer = Some(fence);
                return Ok(());
            }
            if give_up.elapsed() > self.lease.writer_wait() {
                // Given back now rather than when it runs out.
                let _ = self
                    .counter
                    .lease(
                        &batch.id,
                        &hold.holder,
                        std::time::Duration::ZERO,
                        Some(hold.batch),
                    )
                    .await;
                return Err(CompactError::WriterBusy {
                    batch: batch.id.clone(),
                });
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(std::time::Duration::from_secs(2));
            if renewed.elapsed() > ttl / 3 {
                self.renew(batch, hold, renewed).await?;
            }
        }
    }

    /// Renews the batch's lease (and the writer lock, when held) under their
    /// fences; LeaseLost when either is refused, fails, or comes after the
    /// lease ran out (tokio's timers stop while the machine sleeps; the wall
    /// clock does not).
    async fn renew(
        &self,
        batch: &Batch,
        hold: &Hold,
        renewed: &mut Renewed,
    ) -> Result<(), CompactError> {
        let ttl = self.lease.ttl;
        if renewed.elapsed() >= ttl {
            tracing::warn!(
                "batch {}: renewing {:.0} s after the last renewal, past the lease: stopping",
                batch.id,
                renewed.elapsed().as_secs_f64()
            );
            return Err(CompactError::LeaseLost { query: None });
        }
        let at = Renewed::now();
        let batch_renewed = self
            .counter
            .lease(&batch.id, &hold.holder, ttl, Some(hold.batch))
            .await;
        let writer_renewed = match hold.writer {
            Some(fence) => self
                .counter
                .lock(WRITER, &hold.holder, ttl, Some(fence))
                .await
                .map(|renewed| renewed.is_some()),
            None => Ok(true),
        };
        match (batch_renewed, writer_renewed) {
            (Ok(Some(_)), Ok(true)) => {
                *renewed = at;
                Ok(())
            }
            (Err(e), _) | (_, Err(e)) => {
                // Unknown is lost: marking would be refused anyway, and the
                // lease may run out before the counter answers again.
                tracing::warn!("batch {}: renewing its lease: {e}; stopping", batch.id);
                Err(CompactError::LeaseLost { query: None })
            }
            _ => {
                tracing::warn!("batch {}: lease lost to another runner", batch.id);
                Err(CompactError::LeaseLost { query: None })
            }
        }
    }

    /// Writes and verifies the batch while renewing what it holds; a renewal
    /// refused, failed or late stops the engine (`lost`).
    async fn write_under_lease(
        &self,
        batch: &Batch,
        progress: &dyn Progress,
        hold: &Hold,
        renewed: &mut Renewed,
    ) -> Result<Compaction, CompactError> {
        let lost = Cancel::never();
        lost.fire_at(renewed.0 + self.lease.ttl);
        let work = self.write_and_verify(batch, progress, &lost);
        tokio::pin!(work);
        let renew_every = self.lease.ttl / 3;
        let mut lost_because = None;
        let written = loop {
            tokio::select! {
                written = &mut work => break written,
                () = tokio::time::sleep(renew_every), if lost_because.is_none() => {
                    match self.renew(batch, hold, renewed).await {
                        Ok(()) => lost.fire_at(renewed.0 + self.lease.ttl),
                        Err(error) => {
                            lost_because = Some(error);
                            lost.fire();
                        }
                    }
                }
            }
        };
        match (lost_because, written) {
            // Touch nothing: the batch may be another runner's now.
            (_, Err(error @ CompactError::LeaseLost { .. })) | (Some(error), _) => Err(error),
            (None, written) => written,
        }
    }

    /// Marks the batch failed (keeping it retryable) or, right after checking
    /// that the lease has not run out meanwhile, compacted.
    async fn mark(
        &self,
        batch: &Batch,
        hold: &Hold,
        written: Result<Compaction, CompactError>,
        renewed: &Renewed,
    ) -> Result<Compaction, CompactError> {
        let compaction = match written {
            Ok(compaction) => compaction,
            Err(error @ CompactError::LeaseLost { .. }) => return Err(error),
            Err(error) => {
                // Leave the batch retryable, with the reason for `iotpipe counters`.
                let _ = self
                    .counter
                    .mark_failed(&batch.id, hold, &error.to_string())
                    .await;
                return Err(error);
            }
        };
        fail_at(FailPoint::AfterWrite, self.fail_point);
        if renewed.elapsed() >= self.lease.ttl {
            return Err(CompactError::LeaseLost { query: None });
        }
        // Conditional on both fences: a runner that lost either marks nothing
        // and so deletes nothing.
        self.counter.mark_compacted(&batch.id, hold).await?;
        // Still under the writer lock, so compactions never race on it.
        if !compaction.newest.is_empty()
            && let Err(error) = crate::counter::merge_device_last_readings(
                &*self.counter,
                compaction.newest.clone(),
            )
            .await
        {
            tracing::warn!(
                "batch {}: keeping its devices' newest readings: {error}",
                batch.id
            );
        }
        Ok(compaction)
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

/// One step of a `--dry-run` plan.
#[derive(Debug, Serialize)]
pub struct PlanStep {
    pub action: &'static str,
    pub batch: Option<String>,
    pub objects: u64,
    pub bytes: Option<u64>,
    #[serde(skip)]
    pub keys: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimated_cost_usd: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sql: Option<Vec<String>>,
}

/// The batch id in the SQL of a batch not claimed yet.
pub const NEW_BATCH: &str = "<new batch>";

impl Pipeline {
    /// What [`Pipeline::drain`] would do, without changing anything: the
    /// batches it would resume, then the claims in the counter's own order.
    pub async fn plan(&self, drain: &Drain) -> Result<Vec<PlanStep>, CompactError> {
        let mut steps = Vec::new();
        let batches = match &drain.only {
            Some(id) => vec![self.counter.batch(id).await?],
            None if drain.resume => self.resumable().await?,
            None => Vec::new(),
        };
        for batch in batches {
            let compacted = batch.state == BatchState::Compacted;
            steps.push(PlanStep {
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
        if drain.only.is_none() && drain.claim {
            let pending = self.counter.pending_objects().await?;
            let mut rest = &pending[..];
            while let Some(size) =
                crate::counter::claim_size(rest.len() as u64, drain.threshold, drain.partial)
            {
                let (claimed, after) = rest.split_at(size as usize);
                rest = after;
                steps.push(PlanStep {
                    action: if size < drain.threshold {
                        "claim and compact (partial)"
                    } else {
                        "claim and compact"
                    },
                    batch: None,
                    objects: claimed.len() as u64,
                    bytes: Some(claimed.iter().map(|o| o.size).sum()),
                    keys: claimed.iter().map(|o| o.key.clone()).collect(),
                    estimated_cost_usd: None,
                    sql: None,
                });
            }
        }
        for step in steps.iter_mut().filter(|s| !s.keys.is_empty()) {
            let id = step.batch.as_deref().unwrap_or(NEW_BATCH);
            if let Some(estimate) = self
                .engine
                .estimate(id, &step.keys, step.bytes.unwrap_or(0))?
            {
                step.estimated_cost_usd = Some(estimate.cost_usd);
                step.sql = Some(estimate.sql);
            }
        }
        Ok(steps)
    }
}
