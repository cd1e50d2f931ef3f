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

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::CompactError;
pub use crate::payload::KeyRanges;
use crate::store::{COMPACTED, Store};

/// The ranges of a compacted Parquet file, from its key columns.
pub fn of_parquet(body: Vec<u8>) -> Result<KeyRanges, String> {
    use arrow_array::{Int64Array, StringArray};
    let mut ranges = KeyRanges::default();
    for batch in crate::store::content::parquet_columns(body, &["device_id", "run_id", "seq"])? {
        let batch = batch?;
        let devices = crate::store::content::column::<StringArray>(&batch, "device_id")?;
        let runs = crate::store::content::column::<StringArray>(&batch, "run_id")?;
        let seqs = crate::store::content::column::<Int64Array>(&batch, "seq")?;
        for i in 0..batch.num_rows() {
            ranges.insert(devices.value(i), runs.value(i), seqs.value(i).max(0) as u64);
        }
    }
    Ok(ranges)
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
                let ranges = of_parquet(body).map_err(|reason| CompactError::Corrupt {
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
