//! A sink's landing: messages journaled, buffered, and flushed as raw
//! objects that are recorded before the journal forgets them; a flush cut
//! short by a crash is finished under the keys it had chosen.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use serde::Serialize;
use time::OffsetDateTime;
use tokio::time::Instant;

use super::{LandingOptions, Live, STREAM, SinkError, Stats, record_unseen};
use crate::counter::{Counter, Recorded};
use crate::journal::{Entry, Journal};
use crate::payload::{self, Reading};
use crate::store::{self, ObjectInfo, Store};

/// A rejected payload, one JSON line in `rejected/`.
#[derive(Serialize)]
struct RejectedLine<'a> {
    received_at: String,
    topic: &'a str,
    reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<&'a str>,
    /// Set instead of `payload` when the bytes are not UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    payload_base64: Option<String>,
}

pub struct Landing {
    store: Arc<dyn Store>,
    counter: Arc<dyn Counter>,
    pub(super) options: LandingOptions,
    journal: Journal,
    /// Journal ids of everything buffered (readings and rejected).
    ids: Vec<u64>,
    readings: Vec<u8>,
    reading_count: u64,
    rejected: Vec<u8>,
    /// When the oldest buffered message arrived.
    oldest: Option<Instant>,
    pub stats: Stats,
    pub(super) live: Arc<Live>,
    gaps: super::gaps::Gaps,
    devices: super::devices::Devices,
    /// `<journal>/landing`: the keys a flush writes, fixed before it writes them.
    intent_path: std::path::PathBuf,
    /// The keys of a flush that failed midway, reused by the next one: what
    /// it may have written is overwritten, never written a second time.
    pending: Option<Intent>,
}

/// Attempts of one flush before the sink gives up (about a minute of backoff).
const FLUSH_ATTEMPTS: u32 = 6;

/// The objects a flush is about to write, and which journal ids they hold:
/// kept (synced) while the flush runs, so that a sink killed midway writes
/// the same ids to the same keys when it starts again, never a second object
/// with the same readings.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
struct Intent {
    raw_key: Option<String>,
    rejected_key: Option<String>,
    first_id: u64,
    last_id: u64,
}

impl Landing {
    /// Opens the journal in `journal_dir`, takes back what an earlier run left in
    /// it, and records raw objects the counter missed (a crash between writing an
    /// object and recording it).
    pub async fn open(
        store: Arc<dyn Store>,
        counter: Arc<dyn Counter>,
        journal_dir: &Path,
        options: LandingOptions,
    ) -> Result<Landing, SinkError> {
        // Two sinks (or a sink and `up`) on one data dir would share one
        // journal and one persistent session.
        let (journal, backlog) = Journal::open(journal_dir, u64::MAX).map_err(|e| {
            if e.is_busy() {
                SinkError::Busy { dir: e.dir }
            } else {
                SinkError::Journal(e)
            }
        })?;
        let quiet_after = options.quiet_after;
        let mut landing = Landing {
            store,
            counter,
            options,
            journal,
            ids: Vec::new(),
            readings: Vec::new(),
            reading_count: 0,
            rejected: Vec::new(),
            oldest: None,
            stats: Stats::default(),
            live: Arc::default(),
            gaps: Default::default(),
            devices: super::devices::Devices::new(quiet_after),
            intent_path: journal_dir.join("landing"),
            pending: None,
        };
        landing.stats.recovered = backlog.len() as u64;
        let backlog = landing.finish_interrupted_flush(backlog).await?;
        landing.stats.recorded_late = record_unseen(&*landing.store, &*landing.counter).await?;
        for Entry { id, topic, payload } in backlog {
            landing.buffer(id, &topic, &payload);
        }
        Ok(landing)
    }

    /// Finishes the flush a killed run left midway ([`Intent`]): its ids are
    /// written again to the same keys (the same bytes: overwriting is
    /// harmless, recording is idempotent) or, when it had begun to
    /// acknowledge them, were all written already. Returns the rest of `backlog`.
    async fn finish_interrupted_flush(
        &mut self,
        backlog: Vec<Entry>,
    ) -> Result<Vec<Entry>, SinkError> {
        let intent: Intent = match std::fs::read(&self.intent_path) {
            Ok(bytes) => match serde_json::from_slice(&bytes) {
                Ok(intent) => intent,
                // Torn before its rename made it whole: nothing was written under it.
                Err(_) => return Ok(backlog),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(backlog),
            Err(source) => {
                return Err(SinkError::State {
                    path: self.intent_path.clone(),
                    source,
                });
            }
        };
        let (range, rest): (Vec<Entry>, Vec<Entry>) = backlog
            .into_iter()
            .partition(|e| (intent.first_id..=intent.last_id).contains(&e.id));
        if range.is_empty() {
            return Ok(rest);
        }
        let whole = range.len() as u64 == intent.last_id - intent.first_id + 1;
        if whole {
            tracing::info!(
                "finishing a landing an earlier run left midway: {} messages to {}",
                range.len(),
                intent.raw_key.as_deref().unwrap_or("rejected/")
            );
            for Entry { id, topic, payload } in range {
                self.buffer(id, &topic, &payload);
            }
            self.flush_as(intent).await?;
        } else {
            // Acknowledging had begun: the objects were written and recorded.
            if let Some(key) = &intent.raw_key {
                let size = self.store.get(key).await?.len() as u64;
                self.counter.record(key, size).await?;
            }
            for entry in range {
                self.journal.ack(entry.id)?;
            }
            self.journal.save_cursor()?;
            self.forget_intent();
        }
        Ok(rest)
    }

    /// Keeps the key of every reading journaled from now on, for [`Live::missing`].
    pub fn track_keys(&mut self) {
        let mut keys = self.live.keys.lock().unwrap_or_else(|e| e.into_inner());
        keys.get_or_insert_with(Default::default);
    }

    /// The checks of every buffer interval: readings skipped in a run and
    /// still missing (warned of, added up in the counter for `counters`),
    /// devices gone quiet (logged once), each device's newest reading (kept
    /// in the counter for `counters` and the dashboard).
    pub async fn watch(&mut self) -> Result<(), SinkError> {
        // Called every buffer interval: a hole seen at the last call has been open that long.
        let (reported, missing) = self.gaps.check(self.options.buffer_interval);
        self.stats.missing = missing;
        if reported > 0 {
            crate::metrics::get().landing.missing.inc_by(reported);
            crate::counter::add_missing_readings(&*self.counter, reported).await?;
        }
        self.devices.check();
        if let Some(newest) = self.devices.take_changed() {
            crate::counter::merge_device_last_readings(&*self.counter, newest).await?;
        }
        Ok(())
    }

    /// Counts to watch from another task.
    pub fn live(&self) -> Arc<Live> {
        self.live.clone()
    }

    /// Takes one message: journaled now, durable after [`Landing::sync`].
    pub fn accept(&mut self, topic: &str, payload: &[u8]) -> Result<(), SinkError> {
        let id = self.journal.append(topic, payload)?;
        self.stats.messages += 1;
        self.buffer(id, topic, payload);
        let metrics = &crate::metrics::get().landing;
        metrics.received.inc();
        metrics.journal_backlog.set(self.ids.len() as i64);
        // After buffering, which tracks its key: a waiter then sees both.
        self.live.bump(&self.live.messages);
        Ok(())
    }

    fn buffer(&mut self, id: u64, topic: &str, payload: &[u8]) {
        self.ids.push(id);
        self.oldest.get_or_insert_with(Instant::now);
        match Reading::parse_stored(payload, OffsetDateTime::now_utc()) {
            Ok(reading) => {
                if let Some(keys) = self
                    .live
                    .keys
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .as_mut()
                {
                    keys.insert(&reading.device_id, &reading.run_id, reading.seq);
                }
                self.gaps
                    .saw(&reading.device_id, &reading.run_id, reading.seq);
                if let Ok(taken) = reading.timestamp() {
                    self.devices.saw(&reading.device_id, taken);
                }
                self.readings.extend_from_slice(payload);
                self.readings.push(b'\n');
                self.reading_count += 1;
            }
            Err(invalid) => {
                tracing::warn!(
                    "rejected a payload on {}: {invalid}",
                    crate::output::sanitize(topic)
                );
                let text = std::str::from_utf8(payload).ok();
                let line = RejectedLine {
                    received_at: payload::format_ts(OffsetDateTime::now_utc()),
                    topic,
                    reason: invalid.to_string(),
                    payload: text,
                    payload_base64: text
                        .is_none()
                        .then(|| base64::engine::general_purpose::STANDARD.encode(payload)),
                };
                if let Ok(json) = serde_json::to_vec(&line) {
                    self.rejected.extend_from_slice(&json);
                    self.rejected.push(b'\n');
                }
            }
        }
    }

    /// Makes every accepted message durable: call before acknowledging them.
    pub fn sync(&mut self) -> Result<(), SinkError> {
        Ok(self.journal.sync()?)
    }

    /// When the buffer must be flushed by age, if anything is buffered.
    pub fn deadline(&self) -> Option<Instant> {
        self.oldest.map(|at| at + self.options.buffer_interval)
    }

    pub fn is_full(&self) -> bool {
        (self.readings.len() + self.rejected.len()) as u64 >= self.options.buffer_bytes
    }

    /// Writes the buffer as objects, records them, and forgets them in the journal.
    pub async fn flush(&mut self) -> Result<Option<ObjectInfo>, SinkError> {
        let (Some(&first_id), Some(&last_id)) = (self.ids.first(), self.ids.last()) else {
            return Ok(None);
        };
        let now = OffsetDateTime::now_utc();
        let mut intent = self.pending.take().unwrap_or(Intent {
            raw_key: None,
            rejected_key: None,
            first_id,
            last_id,
        });
        // Messages that arrived since a failed attempt join it under its keys.
        intent.last_id = last_id;
        if !self.readings.is_empty() && intent.raw_key.is_none() {
            intent.raw_key = Some(store::raw_key(STREAM, now, self.options.gzip));
        }
        if !self.rejected.is_empty() && intent.rejected_key.is_none() {
            intent.rejected_key = Some(store::rejected_key(now));
        }
        let flushed = self.flush_as(intent.clone()).await;
        if flushed.is_err() {
            self.pending = Some(intent);
        }
        flushed
    }

    /// [`Landing::flush`], tried again with backoff while the store or the
    /// counter fails in a way that passes (throttling, a 5xx, no network):
    /// the broker holds what is not acknowledged meanwhile. Other errors, and
    /// the last attempt's, end the sink; its journal keeps every message.
    pub async fn flush_retrying(&mut self) -> Result<Option<ObjectInfo>, SinkError> {
        let mut delay = Duration::from_secs(1);
        let mut attempt = 1;
        loop {
            match self.flush().await {
                Err(error) if error.is_transient() && attempt < FLUSH_ATTEMPTS => {
                    tracing::warn!(
                        "landing failed (attempt {attempt} of {FLUSH_ATTEMPTS}): {error}; \
                         trying again in {}",
                        humantime::format_duration(delay)
                    );
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(30));
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// Writes the buffer to the keys of `intent`, recorded before anything is
    /// written; then acknowledges its ids in the journal.
    async fn flush_as(&mut self, intent: Intent) -> Result<Option<ObjectInfo>, SinkError> {
        self.journal.sync()?;
        self.keep_intent(&intent)?;
        let mut landed = None;
        if let Some(key) = intent.raw_key {
            let body = if self.options.gzip {
                crate::store::content::gzip(&self.readings)
            } else {
                self.readings.clone()
            };
            self.store.put(&key, &body).await?;
            if self.counter.record(&key, body.len() as u64).await? == Recorded::New {
                self.stats.objects += 1;
                self.live.bump(&self.live.objects);
            }
            self.stats.bytes_written += body.len() as u64;
            self.stats.readings += self.reading_count;
            let metrics = &crate::metrics::get().landing;
            metrics.objects.inc();
            metrics.landed.inc_by(self.reading_count);
            tracing::info!(
                "landed {key}: {} readings, {} bytes",
                self.reading_count,
                body.len()
            );
            landed = Some(ObjectInfo {
                key,
                size: body.len() as u64,
                modified: None,
            });
        }
        if let Some(key) = intent.rejected_key {
            self.store.put(&key, &self.rejected).await?;
            let rejected = self.rejected.iter().filter(|b| **b == b'\n').count() as u64;
            self.stats.rejected += rejected;
            crate::metrics::get().landing.rejected.inc_by(rejected);
        }
        for id in self.ids.drain(..) {
            self.journal.ack(id)?;
        }
        self.journal.save_cursor()?;
        crate::metrics::get().landing.journal_backlog.set(0);
        self.forget_intent();
        self.readings.clear();
        self.rejected.clear();
        self.reading_count = 0;
        self.oldest = None;
        Ok(landed)
    }

    /// Writes `intent` whole (a temporary file renamed over, both synced).
    fn keep_intent(&self, intent: &Intent) -> Result<(), SinkError> {
        let failed = |source| SinkError::State {
            path: self.intent_path.clone(),
            source,
        };
        let json = serde_json::to_vec(intent).unwrap_or_default();
        let tmp = self.intent_path.with_extension("tmp");
        let mut file = std::fs::File::create(&tmp).map_err(failed)?;
        std::io::Write::write_all(&mut file, &json).map_err(failed)?;
        file.sync_all().map_err(failed)?;
        std::fs::rename(&tmp, &self.intent_path).map_err(failed)?;
        if let Some(dir) = self.intent_path.parent() {
            crate::journal::sync_dir(dir).map_err(failed)?;
        }
        Ok(())
    }

    /// The flush is done: a crash from here on has nothing to finish.
    fn forget_intent(&self) {
        let _ = std::fs::remove_file(&self.intent_path);
    }

    /// Flushes and closes the journal.
    pub async fn close(mut self) -> Result<Stats, SinkError> {
        self.flush().await?;
        self.journal.close()?;
        Ok(self.stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::counter::sqlite::SqliteCounter;
    use crate::store::dir::DirStore;

    fn reading(seq: u64) -> Vec<u8> {
        format!(
            r#"{{"v":1,"device_id":"pi","run_id":"r","seq":{seq},"ts":"2026-01-01T00:00:00.000Z","temperature_c":20.5}}"#
        )
        .into_bytes()
    }

    /// A sink killed after it wrote an object and before its journal forgot
    /// the messages writes them again to the same key when it starts, so the
    /// store never holds two objects with the same readings.
    #[tokio::test]
    async fn a_flush_cut_short_is_finished_under_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(DirStore::new(dir.path()));
        let counter: Arc<dyn Counter> =
            Arc::new(SqliteCounter::open(&dir.path().join("counter.sqlite3")).unwrap());
        let journal_dir = dir.path().join("sink-journal");
        let options = LandingOptions {
            buffer_bytes: 1 << 20,
            buffer_interval: Duration::from_secs(60),
            gzip: true,
            quiet_after: Duration::from_secs(300),
        };
        let intended = store::raw_key(STREAM, OffsetDateTime::now_utc(), true);
        {
            let mut landing = Landing::open(
                store.clone(),
                counter.clone(),
                &journal_dir,
                options.clone(),
            )
            .await
            .unwrap();
            for seq in 0..5 {
                landing.accept("sensor/data", &reading(seq)).unwrap();
            }
            landing.accept("sensor/data", b"not json").unwrap();
            landing.sync().unwrap();
            // What flush does first, then the object it writes: then the kill.
            let intent = Intent {
                raw_key: Some(intended.clone()),
                rejected_key: Some(store::rejected_key(OffsetDateTime::now_utc())),
                first_id: landing.ids[0],
                last_id: *landing.ids.last().unwrap(),
            };
            landing.keep_intent(&intent).unwrap();
            let body = crate::store::content::gzip(&landing.readings);
            store.put(&intended, &body).await.unwrap();
        }
        let landing = Landing::open(store.clone(), counter.clone(), &journal_dir, options)
            .await
            .unwrap();
        let raw = store.list(store::RAW).await.unwrap();
        assert_eq!(raw.len(), 1, "one object: {raw:?}");
        assert_eq!(raw[0].key, intended);
        assert_eq!(counter.counted().await.unwrap().len(), 1);
        assert_eq!(landing.stats.recovered, 6);
        assert!(landing.ids.is_empty(), "nothing left to land");
        assert!(!journal_dir.join("landing").exists(), "the intent is done");
        assert_eq!(store.list(store::REJECTED).await.unwrap().len(), 1);
        let mut landing = landing;
        assert!(landing.flush().await.unwrap().is_none());
    }
}
