//! The local compaction engine: reads a batch's raw objects (gzip or plain,
//! newline-delimited or `}{`-concatenated JSON), drops duplicate
//! `(device_id, run_id, seq)` — within the batch, and against what the day
//! already holds ([`super::day_index`]) — and writes one zstd Parquet file per
//! UTC day with typed columns (see docs/payload.md, "Compacted Parquet").
//!
//! Memory is bounded by settings, not by the batch: objects are fetched and
//! parsed a window at a time (two per thread), and the rows waiting to be
//! written, all days together, never exceed `row_group_rows`: the fullest
//! day's rows are then written out as a row group.

mod parquet;
mod parse;
mod runs;

use std::collections::BTreeMap;
use std::sync::Arc;

use super::run_index::{RunIndex, meets};
use super::{CompactError, Compaction, Compactor, OutputFile, Progress, SetAside};
use crate::counter::Batch;
use crate::payload::KeyRanges;
use crate::signal::Cancel;
use crate::store::{Store, StoreError};
use parquet::{DayFile, Encoders, day_name, day_number};
use parse::{Buffers, ParsedObject, Parsing, parse_in_background, parsed};
use runs::RunState;

pub use parquet::schema;
pub use parse::problem;

pub struct LocalEngine {
    store: Arc<dyn Store>,
    threads: usize,
    /// One per thread: how many objects are inflated and parsed at once.
    parsers: Arc<tokio::sync::Semaphore>,
    row_group_rows: usize,
}

/// Rows per row group (and the most rows a day buffers) unless configured.
pub const ROW_GROUP_ROWS: usize = 16_384;

impl LocalEngine {
    /// `threads`: how many objects to parse at once (None: one per core).
    pub fn new(store: Arc<dyn Store>, threads: Option<usize>) -> LocalEngine {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let threads = threads.unwrap_or(cores).max(1);
        LocalEngine {
            store,
            threads,
            parsers: Arc::new(tokio::sync::Semaphore::new(threads)),
            row_group_rows: ROW_GROUP_ROWS,
        }
    }

    /// Rows per row group: what bounds the memory a day's rows take.
    pub fn with_row_group_rows(mut self, rows: usize) -> LocalEngine {
        self.row_group_rows = rows.max(1);
        self
    }
}

/// Small integer ids for repeated strings, so dedup keys need no allocation per row.
#[derive(Default)]
struct Interner {
    ids: std::collections::HashMap<String, u32, ahash::RandomState>,
    /// The last device and run asked for: consecutive readings share them.
    last: Option<(String, String, (u32, u32))>,
}

impl Interner {
    fn id(&mut self, text: &str) -> u32 {
        if let Some(id) = self.ids.get(text) {
            return *id;
        }
        let id = self.ids.len() as u32;
        self.ids.insert(text.to_string(), id);
        id
    }

    /// The ids of a device and run.
    fn pair(&mut self, device_id: &str, run_id: &str) -> (u32, u32) {
        if let Some((device, run, ids)) = &self.last
            && device == device_id
            && run == run_id
        {
            return *ids;
        }
        let ids = (self.id(device_id), self.id(run_id));
        self.last = Some((device_id.to_string(), run_id.to_string(), ids));
        ids
    }
}

impl LocalEngine {
    /// Fetches a window of objects and starts parsing them; an object that is
    /// gone is set aside in `result`.
    async fn start_window(
        &self,
        window: &[String],
        result: &mut Compaction,
        buffers: &Arc<Buffers>,
        progress: &dyn Progress,
    ) -> Result<Parsing, CompactError> {
        let mut bodies = Vec::with_capacity(window.len());
        for key in window {
            let body = match self.store.get(key).await {
                Ok(body) => body,
                // Moved aside by hand, or deleted: the batch goes on without it.
                Err(StoreError::NotFound { .. }) => {
                    result.set_aside.push(SetAside {
                        key: key.clone(),
                        reason: "gone from the store (moved or deleted)".into(),
                        kept_at: None,
                    });
                    continue;
                }
                // A console "folder" counted before such keys were refused.
                Err(StoreError::BadKey { reason, .. }) => {
                    result.set_aside.push(SetAside {
                        key: key.clone(),
                        reason: format!("not an object: the key {reason}"),
                        kept_at: None,
                    });
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            result.bytes_in += body.len() as u64;
            progress.advance(body.len() as u64);
            bodies.push((key.clone(), body));
        }
        Ok(parse_in_background(bodies, &self.parsers, buffers))
    }
}

#[async_trait::async_trait]
impl Compactor for LocalEngine {
    fn name(&self) -> &'static str {
        "local"
    }

    async fn compact(
        &self,
        batch: &Batch,
        progress: &dyn Progress,
        lost: &Cancel,
    ) -> Result<Compaction, CompactError> {
        let mut writer = BatchWriter::new(self, batch, lost)?;
        // In key order: of conflicting copies of a reading, the one in the
        // first object is kept, as the Athena engine keeps it.
        let mut keys = batch.keys.clone();
        keys.sort_unstable();
        // A window of objects at a time, one per thread, so memory does not
        // grow with the batch.
        let windows: Vec<&[String]> = keys.chunks(self.threads).collect();
        let mut next: Option<Parsing> = None;
        for (i, window) in windows.iter().enumerate() {
            let parsing = match next.take() {
                Some(parsing) => parsing,
                None => {
                    self.start_window(window, &mut writer.result, &writer.buffers, progress)
                        .await?
                }
            };
            // The next window parses while this one is routed and encoded.
            if let Some(following) = windows.get(i + 1) {
                next = Some(
                    self.start_window(following, &mut writer.result, &writer.buffers, progress)
                        .await?,
                );
            }
            let parsed = parsed(parsing).await?;
            writer.still_held()?;
            writer.open_days(&parsed).await?;
            for (key, body, object) in parsed {
                writer.take(key, body, object).await?;
            }
        }
        writer.finish().await
    }
}

/// One batch's output being written: the day files it routes readings to,
/// what it knows of each run, and the lines it sets aside.
struct BatchWriter<'e> {
    engine: &'e LocalEngine,
    batch: &'e Batch,
    /// Fired when the runner lost its lease: nothing more is written.
    lost: &'e Cancel,
    result: Compaction,
    ids: Interner,
    /// The batch's runs: their ids, and what the batch knows of each, by index.
    names: Vec<(String, String)>,
    runs: Vec<RunState>,
    run_index_of: std::collections::HashMap<(u32, u32), u32, ahash::RandomState>,
    days: BTreeMap<i64, DayFile>,
    /// Which days hold each run of the batch, to find a copy of a reading on
    /// a day the batch does not write it to.
    index: RunIndex,
    /// What the days the run index points at hold, once read.
    other_days: BTreeMap<i64, KeyRanges>,
    /// Rows waiting in the days' buffers, together at most `row_group_rows`.
    buffered: usize,
    encoders: Encoders,
    invalid_lines: Vec<u8>,
    /// The batch's inflated texts and parsed rows, reused object to object.
    buffers: Arc<Buffers>,
}

impl<'e> BatchWriter<'e> {
    fn new(
        engine: &'e LocalEngine,
        batch: &'e Batch,
        lost: &'e Cancel,
    ) -> Result<BatchWriter<'e>, CompactError> {
        Ok(BatchWriter {
            engine,
            batch,
            lost,
            result: Compaction::default(),
            ids: Interner::default(),
            names: Vec::new(),
            runs: Vec::new(),
            run_index_of: Default::default(),
            days: BTreeMap::new(),
            index: RunIndex::default(),
            other_days: BTreeMap::new(),
            buffered: 0,
            encoders: Encoders::start(engine.row_group_rows)?,
            invalid_lines: Vec::new(),
            buffers: Arc::default(),
        })
    }

    /// Stops the batch once the runner lost its lease: the batch may be
    /// another runner's now, whose files this one must not overwrite.
    fn still_held(&self) -> Result<(), CompactError> {
        if self.lost.is_cancelled() {
            return Err(CompactError::LeaseLost { query: None });
        }
        Ok(())
    }

    /// The batch's index of a run, and whether it is new to the batch.
    fn run_of(&mut self, device_id: &str, run_id: &str) -> (u32, bool) {
        let ids = self.ids.pair(device_id, run_id);
        if let Some(index) = self.run_index_of.get(&ids) {
            return (*index, false);
        }
        let index = u32::try_from(self.runs.len()).unwrap_or(u32::MAX);
        self.run_index_of.insert(ids, index);
        self.names.push((device_id.to_string(), run_id.to_string()));
        self.runs.push(RunState::new(ids.0));
        (index, true)
    }

    /// Opens a file for each day the objects reach that has none yet, with
    /// what the day holds already (a sink that crashed re-lands what it had
    /// journaled; the other engine): readings there are not written again.
    /// Reads the run index for runs new to the batch.
    async fn open_days(
        &mut self,
        parsed: &[(String, Vec<u8>, ParsedObject)],
    ) -> Result<(), CompactError> {
        let store = self.engine.store.as_ref();
        let mut new_runs: Vec<u32> = Vec::new();
        for (_, _, object) in parsed {
            for (device, run) in &object.runs {
                if let (index, true) = self.run_of(device, run) {
                    new_runs.push(index);
                }
            }
        }
        let names: Vec<(&str, &str)> = new_runs
            .iter()
            .map(|&i| {
                let (device, run) = &self.names[i as usize];
                (device.as_str(), run.as_str())
            })
            .collect();
        self.index.load(store, names).await?;
        for &i in &new_runs {
            let (device, run) = &self.names[i as usize];
            let days = self.index.get(device, run).map(|r| {
                r.days
                    .iter()
                    .filter_map(|(day, ranges)| Some((day_number(day)?, ranges.clone())))
                    .collect()
            });
            self.runs[i as usize].other_days = days.unwrap_or_default();
        }
        for (_, _, object) in parsed {
            for (_, number) in &object.rows {
                if !self.days.contains_key(number) {
                    let day = day_name(*number);
                    let own = super::output_key(&day, &self.batch.id);
                    let elsewhere = super::day_index::load(store, &day, &own).await?;
                    self.days.insert(*number, DayFile::new(day, elsewhere));
                }
            }
        }
        Ok(())
    }

    /// Routes an object's readings to their days (each reading once), keeps
    /// its bad lines, or sets the whole object aside when it cannot be read.
    async fn take(
        &mut self,
        key: String,
        body: Vec<u8>,
        object: ParsedObject,
    ) -> Result<(), CompactError> {
        if let Some(reason) = object.unreadable {
            return self.set_aside(key, &body, reason).await;
        }
        self.result.rows_in += object.rows_in;
        self.result.invalid += object.invalid_count;
        self.invalid_lines.extend_from_slice(&object.invalid);
        let runs: Vec<u32> = object
            .runs
            .iter()
            .map(|(device, run)| self.run_of(device, run).0)
            .collect();
        let mut rows = object.rows;
        for (mut row, day) in rows.drain(..) {
            let index = runs[row.run as usize];
            row.run = index;
            let Some(file) = self.days.get(&day) else {
                continue;
            };
            let state = &mut self.runs[index as usize];
            let (device, run) = &self.names[index as usize];
            let held = &state
                .on(day, || file.elsewhere.of_run(device, run).to_vec())
                .held;
            if meets(held, row.seq, row.seq) || !state.seen.insert(row.seq) {
                self.result.duplicates += 1;
                continue;
            }
            let elsewhere: Vec<i64> = state
                .other_days
                .iter()
                .filter(|(other, ranges)| *other != day && meets(ranges, row.seq, row.seq))
                .map(|(other, _)| *other)
                .collect();
            if !elsewhere.is_empty() && self.kept_on(&elsewhere, index, row.seq).await? {
                self.result.duplicates += 1;
                continue;
            }
            let state = &mut self.runs[index as usize];
            state.on(day, Vec::new).written.insert(row.seq);
            state.newest = Some(state.newest.map_or(row.millis, |n| n.max(row.millis)));
            if let Some(file) = self.days.get_mut(&day) {
                file.buffered.push(row);
                self.buffered += 1;
            }
            self.write_fullest_days()?;
        }
        self.buffers.keep_rows(rows);
        Ok(())
    }

    /// Whether one of `days` (other than the reading's own) holds the reading
    /// already, as the table stands apart from this batch.
    async fn kept_on(&mut self, days: &[i64], run: u32, seq: u64) -> Result<bool, CompactError> {
        let (device, run) = &self.names[run as usize];
        for &number in days {
            if let Some(file) = self.days.get(&number) {
                if file.elsewhere.contains(device, run, seq) {
                    return Ok(true);
                }
                continue;
            }
            if !self.other_days.contains_key(&number) {
                let day = day_name(number);
                let own = super::output_key(&day, &self.batch.id);
                let held = super::day_index::load(self.engine.store.as_ref(), &day, &own).await?;
                self.other_days.insert(number, held);
            }
            if self.other_days[&number].contains(device, run, seq) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Keeps an unreadable object byte for byte before the raw one is deleted.
    async fn set_aside(
        &mut self,
        key: String,
        body: &[u8],
        reason: String,
    ) -> Result<(), CompactError> {
        let kept = format!(
            "{}compaction/batch-{}/{}",
            crate::store::REJECTED,
            self.batch.id,
            key.rsplit('/').next().unwrap_or(&key)
        );
        self.engine.store.put(&kept, body).await?;
        tracing::warn!("raw object {key} {reason}: set aside as {kept}");
        self.result.set_aside.push(SetAside {
            key,
            reason,
            kept_at: Some(kept),
        });
        Ok(())
    }

    /// One budget for all days (a batch may span many): while it is used
    /// up, the fullest day is written out as a row group.
    fn write_fullest_days(&mut self) -> Result<(), CompactError> {
        let row_group_rows = self.engine.row_group_rows;
        while self.buffered >= row_group_rows {
            let Some(fullest) = self.days.values_mut().max_by_key(|f| f.buffered.len()) else {
                break;
            };
            self.buffered -= fullest.buffered.len();
            fullest.flush(&self.names, &self.encoders)?;
        }
        Ok(())
    }

    /// Writes each day's file and its key-range sidecar, and the batch's
    /// bad lines under `rejected/compaction/`.
    async fn finish(mut self) -> Result<Compaction, CompactError> {
        let mut newest: std::collections::HashMap<u32, i64> = std::collections::HashMap::new();
        for state in &self.runs {
            if let Some(millis) = state.newest {
                let at = newest.entry(state.device).or_insert(millis);
                *at = (*at).max(millis);
            }
        }
        for (device, id) in &self.ids.ids {
            let taken = newest.get(id).and_then(|millis| {
                time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(*millis) * 1_000_000)
                    .ok()
            });
            if let Some(taken) = taken {
                self.result.saw(device, &crate::payload::format_ts(taken));
            }
        }
        // Each day file's readings, for its sidecar and the run index.
        for (state, (device, run)) in self.runs.iter().zip(&self.names) {
            for on in &state.days {
                if let Some(file) = self.days.get_mut(&on.day) {
                    for (lo, hi) in on.written.ranges() {
                        file.ranges.insert_range(device, run, lo, hi);
                    }
                }
            }
        }
        let store = self.engine.store.as_ref();
        // Written ahead of the files, so the index never lacks what they hold.
        for file in self.days.values() {
            for (device, run, lo, hi) in file.ranges.ranges() {
                self.index.add(&file.day, device, run, lo, hi);
            }
        }
        self.still_held()?;
        self.index.save(store).await?;
        for file in std::mem::take(&mut self.days).into_values() {
            let day = file.day.clone();
            let key = super::output_key(&day, &self.batch.id);
            match file.finish(&self.names, &self.encoders)? {
                Some((bytes, rows, ranges)) => {
                    self.still_held()?;
                    store.put(&key, &bytes).await?;
                    let size = bytes.len() as u64;
                    super::day_index::record(store, &day, &key, size, ranges).await?;
                    self.result.rows_out += rows;
                    self.result.bytes_out += size;
                    self.result.outputs.push(OutputFile { key, rows });
                }
                // An earlier attempt may have written this day before another
                // batch did: its rows now live there.
                None => {
                    self.still_held()?;
                    store.delete(&key).await?;
                    store
                        .delete(&super::day_index::sidecar_key(&day, &key))
                        .await?;
                }
            }
        }
        if !self.invalid_lines.is_empty() {
            let key = format!(
                "{}compaction/batch-{}.jsonl",
                crate::store::REJECTED,
                self.batch.id
            );
            store.put(&key, &self.invalid_lines).await?;
            tracing::warn!(
                "{} rows of batch {} are not schema v1; kept in {key}",
                self.result.invalid,
                self.batch.id
            );
        }
        Ok(self.result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::counter::BatchState;
    use crate::store::dir::DirStore;

    /// A console "folder" counted before such keys were refused is set aside
    /// with its reason, and its batch completes with the real objects.
    #[tokio::test]
    async fn a_folder_key_in_a_batch_is_set_aside_and_the_batch_completes() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(DirStore::new(dir.path()));
        let object = "raw/2026/01/01/00/a.jsonl";
        let line = r#"{"v":1,"device_id":"pi","run_id":"r","seq":7,"ts":"2026-01-01T00:00:00.000Z","temperature_c":20.5}"#;
        store
            .put(object, format!("{line}\n").as_bytes())
            .await
            .unwrap();
        let batch = Batch {
            id: "b1".into(),
            state: BatchState::Claimed,
            keys: vec![object.into(), "raw/2026/01/01/00/folder/".into()],
            bytes: 0,
            claimed_at: "2026-01-01T00:00:00.000Z".into(),
            done_at: None,
            error: None,
            retired: false,
        };
        let engine = LocalEngine::new(store.clone(), Some(1));
        let done = engine
            .compact(&batch, &crate::progress::Silent, &Cancel::never())
            .await
            .unwrap();
        assert_eq!(done.rows_out, 1);
        assert_eq!(done.set_aside.len(), 1, "{:?}", done.set_aside);
        assert_eq!(done.set_aside[0].key, "raw/2026/01/01/00/folder/");
        assert!(
            done.set_aside[0].reason.starts_with("not an object"),
            "{:?}",
            done.set_aside
        );
    }
}
