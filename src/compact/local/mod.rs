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

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use super::{CompactError, Compaction, Compactor, OutputFile, Progress, SetAside};
use crate::counter::Batch;
use crate::signal::Cancel;
use crate::store::{Store, StoreError};
use parquet::{DayFile, day_name};
use parse::{Parsing, parse_in_background, parsed};

pub use parquet::schema;
pub use parse::problem;

pub struct LocalEngine {
    store: Arc<dyn Store>,
    threads: usize,
    row_group_rows: usize,
}

/// Rows per row group (and the most rows a day buffers) unless configured.
pub const ROW_GROUP_ROWS: usize = 16_384;

impl LocalEngine {
    /// `threads`: how many objects to parse at once (None: one per core).
    pub fn new(store: Arc<dyn Store>, threads: Option<usize>) -> LocalEngine {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        LocalEngine {
            store,
            threads: threads.unwrap_or(cores).max(1),
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
                Err(e) => return Err(e.into()),
            };
            result.bytes_in += body.len() as u64;
            progress.advance(body.len() as u64);
            bodies.push((key.clone(), body));
        }
        Ok(parse_in_background(bodies))
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
        // Nothing runs elsewhere to stop: the pipeline checks the lease before marking.
        _lost: &Cancel,
    ) -> Result<Compaction, CompactError> {
        let mut result = Compaction::default();
        let mut ids = Interner::default();
        let mut seen: HashSet<(u32, u32, u64), ahash::RandomState> = HashSet::default();
        let mut days: BTreeMap<i64, DayFile> = BTreeMap::new();
        // Rows waiting in the days' buffers, together at most `row_group_rows`.
        let mut buffered = 0;
        let mut invalid_lines: Vec<u8> = Vec::new();
        // A window of objects at a time, one per thread, so memory does not
        // grow with the batch.
        let windows: Vec<&[String]> = batch.keys.chunks(self.threads).collect();
        let mut next: Option<Parsing> = None;
        for (i, window) in windows.iter().enumerate() {
            let parsing = match next.take() {
                Some(parsing) => parsing,
                None => self.start_window(window, &mut result, progress).await?,
            };
            // The next window parses while this one is routed and encoded.
            if let Some(following) = windows.get(i + 1) {
                next = Some(self.start_window(following, &mut result, progress).await?);
            }
            let parsed = parsed(parsing).await?;
            for (_, _, object) in &parsed {
                for (_, number) in &object.rows {
                    if !days.contains_key(number) {
                        // What the day holds already (a sink that crashed re-lands
                        // what it had journaled; the other engine): kept there.
                        let day = day_name(*number);
                        let own = super::output_key(&day, &batch.id);
                        let elsewhere =
                            super::day_index::load(self.store.as_ref(), &day, &own).await?;
                        days.insert(*number, DayFile::new(day, elsewhere));
                    }
                }
            }
            for (key, body, object) in parsed {
                if let Some(reason) = object.unreadable {
                    // Kept byte for byte before the raw object is deleted.
                    let kept = format!(
                        "{}compaction/batch-{}/{}",
                        crate::store::REJECTED,
                        batch.id,
                        key.rsplit('/').next().unwrap_or(&key)
                    );
                    self.store.put(&kept, &body).await?;
                    tracing::warn!("raw object {key} {reason}: set aside as {kept}");
                    result.set_aside.push(SetAside {
                        key,
                        reason,
                        kept_at: Some(kept),
                    });
                    continue;
                }
                result.rows_in += object.rows_in;
                result.invalid += object.invalid_count;
                invalid_lines.extend_from_slice(&object.invalid);
                for (row, day) in object.rows {
                    let r = &row.reading;
                    let Some(file) = days.get_mut(&day) else {
                        continue;
                    };
                    let (device, run) = ids.pair(&r.device_id, &r.run_id);
                    if !seen.insert((device, run, r.seq))
                        || (!file.elsewhere.is_empty()
                            && file.elsewhere.contains(&r.device_id, &r.run_id, r.seq))
                    {
                        result.duplicates += 1;
                        continue;
                    }
                    file.ranges.insert(&r.device_id, &r.run_id, r.seq);
                    file.buffered.push(row);
                    buffered += 1;
                    // One budget for all days (a batch may span many): the
                    // fullest day is written out first.
                    while buffered >= self.row_group_rows {
                        let Some(fullest) = days.values_mut().max_by_key(|f| f.buffered.len())
                        else {
                            break;
                        };
                        buffered -= fullest.buffered.len();
                        fullest.flush(self.row_group_rows)?;
                    }
                }
            }
        }
        for file in days.into_values() {
            let day = file.day.clone();
            let key = super::output_key(&day, &batch.id);
            match file.finish(self.row_group_rows)? {
                Some((bytes, rows, ranges)) => {
                    self.store.put(&key, &bytes).await?;
                    super::day_index::record(
                        self.store.as_ref(),
                        &day,
                        &key,
                        bytes.len() as u64,
                        ranges,
                    )
                    .await?;
                    result.rows_out += rows;
                    result.bytes_out += bytes.len() as u64;
                    result.outputs.push(OutputFile { key, rows });
                }
                // An earlier attempt may have written this day before another
                // batch did: its rows now live there.
                None => {
                    self.store.delete(&key).await?;
                    self.store
                        .delete(&super::day_index::sidecar_key(&day, &key))
                        .await?;
                }
            }
        }
        if !invalid_lines.is_empty() {
            let key = format!(
                "{}compaction/batch-{}.jsonl",
                crate::store::REJECTED,
                batch.id
            );
            self.store.put(&key, &invalid_lines).await?;
            tracing::warn!(
                "{} rows of batch {} are not schema v1; kept in {key}",
                result.invalid,
                batch.id
            );
        }
        Ok(result)
    }
}
