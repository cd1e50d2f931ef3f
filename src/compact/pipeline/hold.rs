//! Holding a batch while it is compacted: its fenced lease, the table's
//! writer lock, their renewals (refused, failed or late by the wall clock is
//! lost), and marking the batch under both fences.

use super::{FailPoint, Pipeline, fail_at};
use crate::compact::{CompactError, Compaction, Progress};
use crate::counter::{Batch, Hold, WRITER};
use crate::signal::Cancel;

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
pub(super) struct Renewed(std::time::SystemTime);

impl Renewed {
    pub(super) fn now() -> Renewed {
        Renewed(std::time::SystemTime::now())
    }

    /// How long ago; a clock set back counts as no time.
    fn elapsed(&self) -> std::time::Duration {
        self.0.elapsed().unwrap_or_default()
    }

    /// When a lease of `ttl` renewed then runs out.
    fn deadline(&self, ttl: std::time::Duration) -> std::time::SystemTime {
        self.0 + ttl
    }

    /// Whether a lease of `ttl` renewed then has run out by now.
    fn ran_out(&self, ttl: std::time::Duration) -> bool {
        self.elapsed() >= ttl
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
    /// Waits for the table's [`WRITER`] lock, renewing the batch's lease;
    /// gives the batch back when another runner writes longer than the wait.
    pub(super) async fn take_writer(
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
    pub(super) async fn renew(
        &self,
        batch: &Batch,
        hold: &Hold,
        renewed: &mut Renewed,
    ) -> Result<(), CompactError> {
        let ttl = self.lease.ttl;
        if renewed.ran_out(ttl) {
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
    pub(super) async fn write_under_lease(
        &self,
        batch: &Batch,
        progress: &dyn Progress,
        hold: &Hold,
        renewed: &mut Renewed,
    ) -> Result<Compaction, CompactError> {
        let lost = Cancel::never();
        lost.fire_at(renewed.deadline(self.lease.ttl));
        let work = self.write_and_verify(batch, progress, &lost);
        tokio::pin!(work);
        let renew_every = self.lease.ttl / 3;
        let mut lost_because = None;
        let written = loop {
            tokio::select! {
                written = &mut work => break written,
                () = tokio::time::sleep(renew_every), if lost_because.is_none() => {
                    match self.renew(batch, hold, renewed).await {
                        Ok(()) => lost.fire_at(renewed.deadline(self.lease.ttl)),
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
    pub(super) async fn mark(
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
        if renewed.ran_out(self.lease.ttl) {
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
}
