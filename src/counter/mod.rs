//! The counter: records each landed raw object exactly once and groups pending
//! objects into batches for compaction (DESIGN.md, "Counting and compaction
//! protocol"). Local backend: SQLite; the DynamoDB backend keeps the same
//! contract and runs the same test suite ([`suite`]).
//!
//! Exactly once: recording a key twice (S3 events are at-least-once) is a no-op.
//! A claim fixes a batch's id and its exact list of keys in one conditional
//! write, so two claimers never take the same object.

pub mod dynamodb;
pub mod sqlite;

use crate::error::Diagnose;
use std::collections::HashSet;

use serde::Serialize;

use crate::store::ObjectInfo;

#[derive(Debug, thiserror::Error)]
pub enum CounterError {
    #[error("counter database {path}: {message}")]
    Database { path: String, message: String },
    #[error("counter database {path} cannot be written: {message}")]
    ReadOnly { path: String, message: String },
    #[error("DynamoDB table {table}: {message}")]
    Table { table: String, message: String },
    #[error("no batch {0}")]
    NoBatch(String),
    #[error("batch {id} is held by {holder}: its lease was lost")]
    LeaseLost { id: String, holder: String },
    #[error("batch {id} is {state}, not claimed or failed")]
    WrongState { id: String, state: BatchState },
}

impl Diagnose for CounterError {
    fn hint(&self) -> Option<String> {
        match self {
            CounterError::Database { .. } => Some(
                "check the data dir (--data-dir); the counter is <data_dir>/counter.sqlite3".into(),
            ),
            CounterError::ReadOnly { .. } => Some(
                "SQLite writes beside the database even to read it (its write-ahead log): run \
                 as a user who may write the data dir, or copy the data dir somewhere writable \
                 and point --data-dir at the copy"
                    .into(),
            ),
            CounterError::Table { .. } => Some(
                "check counter.table (`iotpipe counters --init` creates it), the credentials \
                 (--profile) and the region (--region)"
                    .into(),
            ),
            CounterError::LeaseLost { .. } => Some(
                "another runner took the batch over after this one's lease expired; nothing was \
                 marked or deleted by this run"
                    .into(),
            ),
            CounterError::NoBatch(_) => Some("`iotpipe counters` lists the batches".into()),
            CounterError::WrongState { .. } => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BatchState {
    /// Its objects are fixed; compaction has not finished.
    Claimed,
    /// Compacted and verified.
    Compacted,
    /// The last compaction attempt failed; it stays claimable for a retry.
    Failed,
}

impl std::fmt::Display for BatchState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BatchState::Claimed => "claimed",
            BatchState::Compacted => "compacted",
            BatchState::Failed => "failed",
        })
    }
}

impl std::str::FromStr for BatchState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "claimed" => Ok(BatchState::Claimed),
            "compacted" => Ok(BatchState::Compacted),
            "failed" => Ok(BatchState::Failed),
            other => Err(format!("unknown batch state {other:?}")),
        }
    }
}

/// A batch of objects to compact together.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Batch {
    pub id: String,
    pub state: BatchState,
    pub keys: Vec<String>,
    pub bytes: u64,
    pub claimed_at: String,
    pub done_at: Option<String>,
    pub error: Option<String>,
    /// Its markers were given their expiry, after it was compacted and its
    /// raw objects deleted (DynamoDB's TTL; always so where nothing expires).
    pub retired: bool,
}

/// Whether a record call counted something new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    New,
    Duplicate,
    /// Not an object iotpipe can read (a console "folder" `raw/.../name/`,
    /// a key the store refuses), with the reason: never counted.
    NotAnObject(&'static str),
}

/// Why `key` cannot be counted, if it cannot: what every counter checks
/// before recording.
pub fn not_an_object(key: &str) -> Option<&'static str> {
    match crate::store::check_key(key) {
        Ok(()) => None,
        Err(crate::store::StoreError::BadKey { key, .. }) if key.ends_with('/') => {
            Some("a folder marker (a key ending in /), not an object")
        }
        Err(crate::store::StoreError::BadKey { reason, .. }) => Some(reason),
        Err(_) => Some("refused by the store"),
    }
}

/// What [`Counter::check`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    /// Not created yet (`iotpipe counters --init`).
    Missing,
    /// Something else under that name: not an iotpipe counter.
    Foreign,
    /// Made by an older iotpipe: lacks what the text names (`iotpipe counters --init` adds it).
    Outdated(String),
}

/// What [`Counter::init`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Setup {
    /// The counter sets itself up on first use (SQLite).
    NotNeeded,
    Created,
    Existed,
    /// It existed; what it lacked was added.
    Upgraded(String),
}

/// A recorded object not yet in a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub key: String,
    pub size: u64,
}

/// A counted object, for reconciling with a store listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counted {
    pub key: String,
    /// Its batch was compacted, so the raw object is expected to be gone.
    pub compacted: bool,
}

/// A lease's fencing token. It grows with every new holder, and every write a
/// holder makes under the lease names it: a holder that lost the lease while
/// frozen, suspended or cut off can change nothing when it comes back.
pub type Fence = u64;

/// A lease as the counter has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseState {
    pub holder: String,
    /// RFC 3339: free after this (by the caller's clock), or at once when the
    /// holder is a dead process of this machine.
    pub until: String,
    pub fence: Fence,
}

/// What a runner holds while it works a batch: the batch's lease, and while
/// it writes compacted files and marks, the table's [`WRITER`] lock.
#[derive(Debug, Clone)]
pub struct Hold {
    pub holder: String,
    pub batch: Fence,
    pub writer: Option<Fence>,
}

/// The lock one runner at a time holds from before it writes a batch's
/// compacted files until the batch is marked: each writer's dedup against the
/// table then sees every reading already committed, whichever engine, process
/// or machine wrote it.
pub const WRITER: &str = "compaction-writer";

/// Whether a lease that runs `until` (RFC 3339) has run out at `now`: one
/// given back is free within the same millisecond.
pub fn expired(until: &str, now: time::OffsetDateTime) -> bool {
    until <= crate::payload::format_ts(now).as_str()
}

#[async_trait::async_trait]
pub trait Counter: Send + Sync {
    /// Records an object once; a repeated key is a no-op.
    async fn record(&self, key: &str, size: u64) -> Result<Recorded, CounterError>;
    /// Objects recorded and not yet in a batch.
    async fn pending(&self) -> Result<u64, CounterError>;
    /// Claims the `n` oldest pending objects as a new batch; None when fewer are pending.
    async fn claim(&self, n: u32) -> Result<Option<Batch>, CounterError>;
    async fn batch(&self, id: &str) -> Result<Batch, CounterError>;
    /// Every batch, newest first.
    async fn batches(&self) -> Result<Vec<Batch>, CounterError>;
    /// Takes batch `id` for `holder` until `ttl` from now (`held` None): a
    /// claimed or failed batch whose lease is free (never taken, run out,
    /// given back, or held by a dead process of this machine), under a new,
    /// greater fence. Renews it (`held` Some): only under that very fence and
    /// before it runs out. None: not taken or not renewed.
    async fn lease(
        &self,
        id: &str,
        holder: &str,
        ttl: std::time::Duration,
        held: Option<Fence>,
    ) -> Result<Option<Fence>, CounterError>;
    /// Batch `id`'s lease (run out or not); None when nobody ever took it.
    async fn lease_holder(&self, id: &str) -> Result<Option<LeaseState>, CounterError>;
    /// Takes (`held` None) or renews the lock `name`, as [`Counter::lease`]
    /// does a batch's.
    async fn lock(
        &self,
        name: &str,
        holder: &str,
        ttl: std::time::Duration,
        held: Option<Fence>,
    ) -> Result<Option<Fence>, CounterError>;
    /// Gives the lock back if `holder` still holds it under `fence` (it runs
    /// out now; the fence stays).
    async fn unlock(&self, name: &str, holder: &str, fence: Fence) -> Result<(), CounterError>;
    /// Marks the batch compacted: only under its lease's fence and the
    /// [`WRITER`] lock's, both unexpired.
    async fn mark_compacted(&self, id: &str, hold: &Hold) -> Result<(), CounterError>;
    /// Marks the batch failed and retryable: only under its lease's fence,
    /// which stays (the lease runs out now; whoever takes it next gets a
    /// greater fence).
    async fn mark_failed(&self, id: &str, hold: &Hold, error: &str) -> Result<(), CounterError>;
    /// Every object ever recorded.
    async fn counted(&self) -> Result<Vec<Counted>, CounterError>;
    /// The objects not yet in a batch, in the order claims take them (by key).
    async fn pending_objects(&self) -> Result<Vec<Pending>, CounterError>;
    fn describe(&self) -> String;
    /// How far a named pass over the store got (the newest key it saw); None
    /// before its first run.
    async fn checkpoint(&self, name: &str) -> Result<Option<String>, CounterError>;
    async fn set_checkpoint(&self, name: &str, key: &str) -> Result<(), CounterError>;
    /// Whether the counter's storage exists with iotpipe's layout (`doctor`).
    async fn check(&self) -> Result<Readiness, CounterError> {
        Ok(Readiness::Ready)
    }
    /// Creates what the counter needs before first use (a table).
    async fn init(&self) -> Result<Setup, CounterError> {
        Ok(Setup::NotNeeded)
    }
    /// Lets the markers of a compacted batch whose raw objects are deleted
    /// expire (after `counter.retention_days`): until then they stay, however
    /// long the batch takes, so that its objects are never counted again.
    async fn retire(&self, _batch: &Batch) -> Result<(), CounterError> {
        Ok(())
    }

    /// Claims the next batch: `threshold` objects once that many are pending,
    /// or (`partial`) whatever is pending; None when there is nothing to claim.
    async fn claim_next(
        &self,
        threshold: u32,
        partial: bool,
    ) -> Result<Option<Batch>, CounterError> {
        match claim_size(self.pending().await?, threshold, partial) {
            Some(size) => self.claim(size).await,
            None => Ok(None),
        }
    }
}

/// How many objects the next claim takes with `pending` objects pending:
/// `threshold` once that many are, or (`partial`) whatever is; None: no claim.
pub fn claim_size(pending: u64, threshold: u32, partial: bool) -> Option<u32> {
    if pending >= u64::from(threshold) {
        Some(threshold)
    } else if partial && pending > 0 {
        Some(u32::try_from(pending).unwrap_or(u32::MAX))
    } else {
        None
    }
}

/// Where the counter and a listing of `raw/` disagree.
#[derive(Debug, Default)]
pub struct Drift {
    /// In the store but never counted (a crash between landing and counting,
    /// a lost S3 event).
    pub uncounted: Vec<ObjectInfo>,
    /// Counted, not compacted, and no longer in the store.
    pub gone: Vec<String>,
}

/// Compares a listing of `raw/` with every object the counter recorded.
pub fn drift(listing: Vec<ObjectInfo>, counted: &[Counted]) -> Drift {
    let counted_keys: HashSet<&str> = counted.iter().map(|c| c.key.as_str()).collect();
    let listed: HashSet<&str> = listing.iter().map(|o| o.key.as_str()).collect();
    let gone = counted
        .iter()
        .filter(|c| !c.compacted && !listed.contains(c.key.as_str()))
        .map(|c| c.key.clone())
        .collect();
    let uncounted = listing
        .into_iter()
        .filter(|o| !counted_keys.contains(o.key.as_str()))
        .filter(|o| match not_an_object(&o.key) {
            None => true,
            Some(reason) => {
                tracing::warn!(
                    "{} is {reason}: never counted (delete it to quiet this)",
                    o.key
                );
                false
            }
        })
        .collect();
    Drift { uncounted, gone }
}

impl Drift {
    /// Records the uncounted objects; returns how many were new.
    pub async fn record_uncounted(&self, counter: &dyn Counter) -> Result<u64, CounterError> {
        let mut recorded = 0;
        for object in &self.uncounted {
            if counter.record(&object.key, object.size).await? == Recorded::New {
                recorded += 1;
            }
        }
        Ok(recorded)
    }
}

/// Who holds a lease: `host/pid/random`, unique per runner.
pub fn new_holder() -> String {
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    format!(
        "{host}/{}/{}",
        std::process::id(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

/// Whether `holder` was a process of this machine that is no longer running:
/// its lease is free at once (a crashed `compact` is resumed by the next one).
pub fn holder_is_gone(holder: &str) -> bool {
    let mut parts = holder.splitn(3, '/');
    let (Some(host), Some(pid)) = (parts.next(), parts.next()) else {
        return false;
    };
    let here = gethostname::gethostname().to_string_lossy().into_owned();
    let proc = std::path::Path::new("/proc");
    host == here && proc.is_dir() && !proc.join(pid).exists()
}

/// A new batch id: sortable by claim time, unique across claimers.
pub fn new_batch_id() -> String {
    let now = time::OffsetDateTime::now_utc();
    let stamp = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    format!(
        "{}-{}",
        now.format(&stamp).unwrap_or_default(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

/// The behaviour every counter backend must show (`suite.rs`).
#[doc(hidden)]
pub mod suite;

/// The checkpoint under which sinks add up the readings they found missing.
const MISSING_READINGS: &str = "missing-readings";

/// Readings sinks reported missing (a broker dropped them after
/// acknowledging them), over every sink run that counted here.
pub async fn missing_readings(counter: &dyn Counter) -> Result<u64, CounterError> {
    Ok(counter
        .checkpoint(MISSING_READINGS)
        .await?
        .and_then(|n| n.parse().ok())
        .unwrap_or(0))
}

/// The checkpoint holding each device's newest reading time (a JSON object).
const DEVICE_LAST_READINGS: &str = "device-last-readings";

/// When each device's newest reading was taken, as sinks saw them.
pub async fn device_last_readings(
    counter: &dyn Counter,
) -> Result<std::collections::BTreeMap<String, String>, CounterError> {
    Ok(counter
        .checkpoint(DEVICE_LAST_READINGS)
        .await?
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default())
}

/// Keeps the newer of each device's time in `newest` and the counter's.
pub async fn merge_device_last_readings(
    counter: &dyn Counter,
    newest: std::collections::BTreeMap<String, String>,
) -> Result<(), CounterError> {
    let mut all = device_last_readings(counter).await?;
    for (device, at) in &newest {
        crate::payload::keep_latest(&mut all, device, at);
    }
    let json = serde_json::to_string(&all).unwrap_or_default();
    counter.set_checkpoint(DEVICE_LAST_READINGS, &json).await
}

/// Adds `n` to [`missing_readings`].
pub async fn add_missing_readings(counter: &dyn Counter, n: u64) -> Result<(), CounterError> {
    let total = missing_readings(counter).await? + n;
    counter
        .set_checkpoint(MISSING_READINGS, &total.to_string())
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_dead_process_of_this_machine_gives_up_its_lease_at_once() {
        let host = gethostname::gethostname().to_string_lossy().into_owned();
        let me = new_holder();
        assert!(me.starts_with(&format!("{host}/{}/", std::process::id())));
        assert!(!holder_is_gone(&me), "this process is alive");
        // Linux pids stay below 2^22.
        assert!(
            holder_is_gone(&format!("{host}/4294967/abcd")),
            "no such process"
        );
        assert!(
            !holder_is_gone("another-host/4294967/abcd"),
            "elsewhere: wait for the expiry"
        );
        assert!(!holder_is_gone("suite"), "not a process holder");
    }
}
