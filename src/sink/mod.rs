//! Landing: turns a stream of payloads into Firehose-style raw objects.
//!
//! Every message goes into a journal (a write-ahead log, synced before the
//! broker gets its acknowledgement), then into a buffer; the buffer becomes one
//! object when it reaches `buffer_bytes` or `buffer_interval`, is recorded in
//! the counter, and only then leaves the journal. A killed sink therefore loses
//! nothing: what was acknowledged is in the journal and is landed on restart.
//!
//! Why a journal rather than holding acknowledgements until the object is
//! written: brokers deliver only a few unacknowledged messages per client
//! (mosquitto: 20), so waiting minutes for a 5 MiB object would stall delivery.
//!
//! Payloads that are not schema v1 go to `rejected/` with the reason, in the
//! same flush; they are never dropped.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use crate::counter::{Counter, CounterError};
use crate::error::{Diagnose, Exit};
use crate::journal::JournalError;
use crate::mqtt::subscribe::{Deliveries, Delivery};
use crate::payload::KeyRanges;
use crate::store::{self, ObjectInfo, Store, StoreError};

mod devices;
mod gaps;
mod landing;

pub use landing::Landing;

/// Firehose calls it the delivery stream; it names the raw objects.
pub const STREAM: &str = "iotpipe-sink";

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error(transparent)]
    Mqtt(#[from] crate::mqtt::MqttError),
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Counter(#[from] CounterError),
    #[error("the sink journal {} is in use by another sink or `iotpipe up`", .dir.display())]
    Busy { dir: std::path::PathBuf },
    #[error("the sink's state in {}: {source}", .path.display())]
    State {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

impl SinkError {
    /// A failure that passes by itself: throttling, a server error, a
    /// connection that could not be made. Refused credentials, a missing
    /// bucket or table, and local errors do not.
    pub fn is_transient(&self) -> bool {
        let message = match self {
            SinkError::Store(StoreError::Remote { message, .. }) => message,
            SinkError::Counter(CounterError::Table { message, .. }) => message,
            _ => return false,
        };
        TRANSIENT.iter().any(|sign| message.contains(sign))
    }
}

/// What AWS and S3-compatible stores say when a request may succeed later.
const TRANSIENT: [&str; 10] = [
    "dispatch failure",
    "timed out",
    "SlowDown",
    "Throttl",
    "ProvisionedThroughputExceeded",
    "RequestLimitExceeded",
    "ServiceUnavailable",
    "InternalError",
    "status code: 500",
    "status code: 503",
];

impl Diagnose for SinkError {
    fn exit(&self) -> Exit {
        match self {
            SinkError::Mqtt(mqtt) => mqtt.exit(),
            SinkError::Busy { .. } => Exit::Usage,
            _ => Exit::Failure,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            SinkError::Mqtt(e) => e.hint(),
            SinkError::Store(e) => e.hint(),
            SinkError::Counter(e) => e.hint(),
            SinkError::Journal(_) | SinkError::State { .. } => {
                Some("check free space and permissions of the data dir".into())
            }
            SinkError::Busy { .. } => Some(
                "one sink per data dir: stop the other one, or give this one its own --data-dir \
                 (and its own client id)"
                    .into(),
            ),
        }
    }
}

#[derive(Debug, Clone)]
pub struct LandingOptions {
    pub buffer_bytes: u64,
    pub buffer_interval: Duration,
    pub gzip: bool,
    /// A device silent this long is logged as quiet.
    pub quiet_after: Duration,
}

impl From<&crate::config::Config> for LandingOptions {
    fn from(config: &crate::config::Config) -> LandingOptions {
        LandingOptions {
            buffer_bytes: config.sink.buffer_bytes,
            buffer_interval: config.sink.buffer_interval,
            gzip: config.sink.gzip,
            quiet_after: config.alert.quiet_after,
        }
    }
}

/// What was landed so far.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Stats {
    pub messages: u64,
    pub readings: u64,
    pub rejected: u64,
    pub objects: u64,
    pub bytes_written: u64,
    /// Messages an earlier run acknowledged and left in the journal.
    pub recovered: u64,
    /// Objects found in the store that the counter had not recorded.
    pub recorded_late: u64,
    /// Readings a run skipped that have not arrived a buffer interval later:
    /// dropped by the broker after it acknowledged them (warned at once).
    pub missing: u64,
}

/// Counts another task can watch while the sink runs (`iotpipe up`'s status
/// line), and wait on ([`Live::wait_until`]).
#[derive(Debug)]
pub struct Live {
    messages: std::sync::atomic::AtomicU64,
    objects: std::sync::atomic::AtomicU64,
    subscribed: std::sync::atomic::AtomicU64,
    /// With [`Landing::track_keys`]: every reading journaled so far.
    keys: std::sync::Mutex<Option<KeyRanges>>,
    /// Ticks at every change of the above.
    changed: tokio::sync::watch::Sender<()>,
}

impl Default for Live {
    fn default() -> Live {
        Live {
            messages: Default::default(),
            objects: Default::default(),
            subscribed: Default::default(),
            keys: Default::default(),
            changed: tokio::sync::watch::channel(()).0,
        }
    }
}

impl Live {
    pub fn messages(&self) -> u64 {
        self.messages.load(std::sync::atomic::Ordering::Relaxed)
    }
    pub fn objects(&self) -> u64 {
        self.objects.load(std::sync::atomic::Ordering::Relaxed)
    }
    /// How many times the sink has (re)subscribed.
    pub fn subscribed(&self) -> u64 {
        self.subscribed.load(std::sync::atomic::Ordering::Relaxed)
    }
    /// Of `wanted`, the readings not journaled yet (all of them, untracked).
    pub fn missing(&self, wanted: &KeyRanges) -> KeyRanges {
        let keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        match keys.as_ref() {
            Some(keys) => wanted.difference(keys),
            None => wanted.clone(),
        }
    }
    /// Every reading journaled so far (none, untracked).
    pub fn journaled(&self) -> KeyRanges {
        let keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        keys.clone().unwrap_or_default()
    }
    /// Resolves once `ready` holds, checking again at each change.
    pub async fn wait_until(&self, ready: impl Fn(&Live) -> bool) {
        // Subscribed before the first check, so no change is missed in between.
        let mut changes = self.changed.subscribe();
        while !ready(self) {
            if changes.changed().await.is_err() {
                return;
            }
        }
    }

    fn bump(&self, counter: &std::sync::atomic::AtomicU64) {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.changed.send_replace(());
    }
}

/// Messages journaled and not acknowledged, at most: past it the journal is
/// synced and they are acknowledged even if more are ready, so a steady
/// stream does not hold acknowledgements back.
const MAX_UNSYNCED: usize = 1024;

/// Lands what `deliveries` delivers until `stop` resolves; then lands what is
/// buffered and acknowledges it. Each object written is sent to `landed`.
pub async fn serve(
    deliveries: &mut impl Deliveries,
    landing: &mut Landing,
    stop: impl std::future::Future<Output = ()>,
    landed: Option<&tokio::sync::mpsc::UnboundedSender<ObjectInfo>>,
) -> Result<(), SinkError> {
    let notify = |object: Option<ObjectInfo>| {
        if let (Some(tx), Some(object)) = (landed, object) {
            let _ = tx.send(object);
        }
    };
    let mut unsynced = 0;
    let mut watchdog = crate::systemd::Watchdog::new();
    let mut gap_check = tokio::time::interval(landing.options.buffer_interval);
    gap_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(stop);
    loop {
        let deadline = landing.deadline();
        tokio::select! {
            biased;
            () = &mut stop => break,
            () = crate::deadline::sleep_until(deadline), if deadline.is_some() => {
                notify(landing.flush_retrying().await?);
            }
            _ = gap_check.tick() => landing.watch().await?,
            () = watchdog.due() => watchdog.ping(),
            delivery = deliveries.next() => match delivery? {
                Delivery::Message(publish) => {
                    landing.accept(&publish.topic, &publish.payload)?;
                    unsynced += 1;
                    if unsynced >= MAX_UNSYNCED {
                        landing.sync()?;
                        deliveries.ack_delivered().await;
                        unsynced = 0;
                    }
                    if landing.is_full() {
                        notify(landing.flush_retrying().await?);
                    }
                }
                Delivery::Connected => {
                    landing.live.bump(&landing.live.subscribed);
                    crate::metrics::health().ok("broker");
                    tracing::info!("{}", deliveries.describe());
                }
                Delivery::Lost(error) => {
                    tracing::warn!("lost the broker: {error}; reconnecting");
                    crate::metrics::health().fail("broker", format!("lost: {error}; reconnecting"));
                    unsynced = 0;
                }
            },
            // Nothing else is ready: make the burst durable, then acknowledge it.
            () = std::future::ready(()), if unsynced > 0 => {
                landing.sync()?;
                deliveries.ack_delivered().await;
                unsynced = 0;
            }
        }
    }
    landing.sync()?;
    deliveries.ack_delivered().await;
    notify(landing.flush_retrying().await?);
    Ok(())
}

/// Where a sink on `data_dir` keeps its journal (and its client id and
/// landing intent): one place for `sink` and `up`.
pub fn journal_dir(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("sink-journal")
}

/// The client id a sink landing into `journal_dir` connects as: `derived`
/// (the role's id) plus a suffix of its own, kept in the journal directory, so
/// that sinks with different data dirs never share a persistent session
/// (the broker would knock each off in turn and split the readings between
/// them) while a sink keeps its id, and its session, across restarts. A
/// journal from before the suffix keeps `derived`, and the session it has.
pub fn client_id(journal_dir: &Path, derived: &str) -> Result<String, SinkError> {
    let path = journal_dir.join("client-id");
    let failed = |source| SinkError::State {
        path: path.clone(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(id) if !id.trim().is_empty() => return Ok(id.trim().to_string()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(failed(e)),
    }
    let earlier_journal = std::fs::read_dir(journal_dir)
        .map(|mut entries| entries.next().is_some())
        .unwrap_or(false);
    let id = if earlier_journal {
        derived.to_string()
    } else {
        format!(
            "{derived}-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        )
    };
    std::fs::create_dir_all(journal_dir).map_err(failed)?;
    std::fs::write(&path, format!("{id}\n")).map_err(failed)?;
    Ok(id)
}

/// Records raw objects the counter has not seen; returns how many.
pub async fn record_unseen(store: &dyn Store, counter: &dyn Counter) -> Result<u64, SinkError> {
    let drift = crate::counter::drift(store.list(store::RAW).await?, &counter.counted().await?);
    for object in &drift.uncounted {
        tracing::warn!(
            "recording {}, which was landed but not counted (a crash in between)",
            object.key
        );
    }
    Ok(drift.record_uncounted(counter).await?)
}
