//! What a day of the compacted table already holds, as ranges of `seq` per
//! `(device_id, run_id)`: readings of a run are numbered one after another, so
//! a whole device-day is usually one range, however many batches wrote it.
//!
//! Each Parquet file of a day has a sidecar `compacted/dt=<day>/.keys/<file>.ranges`
//! (JSON: the file's size and its ranges), written by the local engine beside
//! its output and rebuilt from the file's key columns when missing or stale
//! (files Athena wrote, files of older versions). A batch then reads a few
//! small sidecars instead of every row key of the day, so its dedup costs the
//! same whether it is the first batch of the day or the hundredth. Names
//! starting with `.` are skipped by Athena, Hive and DuckDB's `*.parquet` globs.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::CompactError;
use crate::store::{COMPACTED, Store};

type Map<K, V> = HashMap<K, V, ahash::RandomState>;

/// Inclusive `seq` ranges per device and run.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyRanges {
    runs: Map<String, Map<String, Vec<(u64, u64)>>>,
}

impl KeyRanges {
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    pub fn contains(&self, device_id: &str, run_id: &str, seq: u64) -> bool {
        let Some(ranges) = self.runs.get(device_id).and_then(|r| r.get(run_id)) else {
            return false;
        };
        // Ranges are sorted and disjoint: the last one starting at or before seq.
        let at = ranges.partition_point(|(lo, _)| *lo <= seq);
        at > 0 && ranges[at - 1].1 >= seq
    }

    /// Adds one reading (ranges are merged by [`KeyRanges::normalize`]).
    pub fn insert(&mut self, device_id: &str, run_id: &str, seq: u64) {
        let runs = match self.runs.get_mut(device_id) {
            Some(runs) => runs,
            None => self.runs.entry(device_id.to_string()).or_default(),
        };
        let ranges = match runs.get_mut(run_id) {
            Some(ranges) => ranges,
            None => runs.entry(run_id.to_string()).or_default(),
        };
        // Readings mostly come in order: extend the last range when we can.
        if let Some(last) = ranges.last_mut() {
            if seq == last.1.wrapping_add(1) {
                last.1 = seq;
                return;
            }
            if (last.0..=last.1).contains(&seq) {
                return;
            }
        }
        ranges.push((seq, seq));
    }

    /// Sorts and merges overlapping or adjacent ranges.
    pub fn normalize(&mut self) {
        for runs in self.runs.values_mut() {
            for ranges in runs.values_mut() {
                ranges.sort_unstable();
                let mut merged: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
                for &(lo, hi) in ranges.iter() {
                    match merged.last_mut() {
                        Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                        _ => merged.push((lo, hi)),
                    }
                }
                *ranges = merged;
            }
        }
    }

    pub fn extend(&mut self, other: KeyRanges) {
        for (device, runs) in other.runs {
            let into = self.runs.entry(device).or_default();
            for (run, ranges) in runs {
                into.entry(run).or_default().extend(ranges);
            }
        }
        self.normalize();
    }

    /// The ranges of a compacted Parquet file, from its key columns.
    pub fn of_parquet(body: Vec<u8>) -> Result<KeyRanges, String> {
        use arrow_array::{Int64Array, StringArray};
        let mut ranges = KeyRanges::default();
        for batch in crate::store::content::parquet_columns(body, &["device_id", "run_id", "seq"])?
        {
            let batch = batch?;
            let devices = crate::store::content::column::<StringArray>(&batch, "device_id")?;
            let runs = crate::store::content::column::<StringArray>(&batch, "run_id")?;
            let seqs = crate::store::content::column::<Int64Array>(&batch, "seq")?;
            for i in 0..batch.num_rows() {
                ranges.insert(devices.value(i), runs.value(i), seqs.value(i).max(0) as u64);
            }
        }
        ranges.normalize();
        Ok(ranges)
    }
}

/// A sidecar: the ranges of one data file, and the size it had.
#[derive(Serialize, Deserialize)]
struct Sidecar {
    size: u64,
    ranges: KeyRanges,
}

fn day_dir(day: &str) -> String {
    format!("{COMPACTED}dt={day}/")
}

/// Where the ranges of `file` (a key under the day's directory) are kept.
pub fn sidecar_key(day: &str, file: &str) -> String {
    let dir = day_dir(day);
    let name = file.strip_prefix(&dir).unwrap_or(file);
    format!("{dir}.keys/{name}.ranges")
}

/// Writes the sidecar of a data file just written.
pub async fn record(
    store: &dyn Store,
    day: &str,
    file: &str,
    size: u64,
    ranges: KeyRanges,
) -> Result<(), CompactError> {
    let body = serde_json::to_vec(&Sidecar { size, ranges })
        .map_err(|e| CompactError::Engine(e.to_string()))?;
    store.put(&sidecar_key(day, file), &body).await?;
    Ok(())
}

/// Every reading the day's data files hold, except `own` (this batch's file,
/// about to be rewritten). Sidecars are used where they match their file and
/// rebuilt where they do not.
pub async fn load(store: &dyn Store, day: &str, own: &str) -> Result<KeyRanges, CompactError> {
    let dir = day_dir(day);
    let listing = store.list(&dir).await?;
    let sidecars: HashSet<&str> = listing
        .iter()
        .filter(|o| o.key[dir.len()..].starts_with(".keys/"))
        .map(|o| o.key.as_str())
        .collect();
    let mut index = KeyRanges::default();
    for object in &listing {
        let relative = &object.key[dir.len()..];
        let hidden = relative
            .split('/')
            .any(|part| part.is_empty() || part.starts_with(['.', '_']));
        if hidden || object.key == own {
            continue;
        }
        let side = sidecar_key(day, &object.key);
        let cached = if sidecars.contains(side.as_str()) {
            serde_json::from_slice::<Sidecar>(&store.get(&side).await?)
                .ok()
                .filter(|s| s.size == object.size)
                .map(|s| s.ranges)
        } else {
            None
        };
        let ranges = match cached {
            Some(ranges) => ranges,
            None => {
                let body = store.get(&object.key).await?;
                let ranges =
                    KeyRanges::of_parquet(body).map_err(|reason| CompactError::Corrupt {
                        key: object.key.clone(),
                        reason,
                    })?;
                // A cache: failing to write it costs the next batch a re-read.
                if let Err(e) = record(store, day, &object.key, object.size, ranges.clone()).await {
                    tracing::warn!("keeping the key ranges of {}: {e}", object.key);
                }
                ranges
            }
        };
        index.extend(ranges);
    }
    Ok(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_merge_and_answer_membership() {
        let mut ranges = KeyRanges::default();
        for seq in (0..100).chain(200..300).chain([150, 99, 101]) {
            ranges.insert("pi", "r1", seq);
        }
        ranges.insert("pi", "r2", 5);
        ranges.normalize();
        assert_eq!(
            ranges.runs["pi"]["r1"],
            [(0, 99), (101, 101), (150, 150), (200, 299)]
        );
        for (seq, inside) in [
            (0, true),
            (99, true),
            (100, false),
            (101, true),
            (102, false),
            (150, true),
            (199, false),
            (299, true),
            (300, false),
        ] {
            assert_eq!(ranges.contains("pi", "r1", seq), inside, "{seq}");
        }
        assert!(ranges.contains("pi", "r2", 5));
        assert!(!ranges.contains("pi", "r3", 5));
        assert!(!ranges.contains("other", "r1", 5));
        let mut more = KeyRanges::default();
        more.insert("pi", "r1", 100);
        more.insert("pi", "r1", 149);
        ranges.extend(more);
        assert_eq!(ranges.runs["pi"]["r1"], [(0, 101), (149, 150), (200, 299)]);
    }
}
