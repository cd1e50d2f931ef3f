//! Which days of the compacted table hold each run's readings, as `seq`
//! ranges per day: the table keeps one row per `(device_id, run_id, seq)`
//! whatever its day (a reading sent again with another `ts`, a clock that
//! jumped), and this is how a batch finds a copy on a day it does not write
//! without reading every day. One small object per run,
//! `compacted/.runs/<device>/<run>.json`, device and run percent-encoded.
//!
//! Written ahead, under the writer lock: a writer adds the ranges it is about
//! to write before it writes them, so the index never lacks a reading the
//! table holds. It may name readings the table lacks (an attempt that failed,
//! a copy dropped as a duplicate, Athena's first-to-last `seq` of an object):
//! a hit is a day to look in, confirmed there. A table compacted before the
//! index existed gets it built once from every day's key ranges
//! (`compacted/.runs/.complete` says it was).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::CompactError;
use crate::store::{COMPACTED, Store, StoreError};

/// Inclusive `seq` ranges, sorted and disjoint.
pub type Ranges = Vec<(u64, u64)>;

/// One run's days: day (`YYYY-MM-DD`) to the ranges it holds there.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunDays {
    pub days: BTreeMap<String, Ranges>,
}

impl RunDays {
    /// The days other than `except` whose ranges meet `lo..=hi`.
    pub fn days_meeting<'a>(
        &'a self,
        lo: u64,
        hi: u64,
        except: &'a str,
    ) -> impl Iterator<Item = &'a str> + 'a {
        self.days
            .iter()
            .filter(move |(day, ranges)| day.as_str() != except && meets(ranges, lo, hi))
            .map(|(day, _)| day.as_str())
    }
}

/// Whether any of `ranges` meets `lo..=hi`.
pub fn meets(ranges: &[(u64, u64)], lo: u64, hi: u64) -> bool {
    // The first range ending at or after lo.
    let at = ranges.partition_point(|(_, end)| *end < lo);
    at < ranges.len() && ranges[at].0 <= hi
}

fn add(ranges: &mut Ranges, lo: u64, hi: u64) {
    crate::payload::ranges::insert_range(ranges, lo, hi);
}

type Run = (String, String);

/// The runs a writer reads and extends.
#[derive(Default)]
pub struct RunIndex {
    runs: HashMap<Run, RunDays>,
    changed: std::collections::BTreeSet<Run>,
    built: bool,
}

const RUNS: &str = ".runs/";
const COMPLETE: &str = ".runs/.complete";

fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_' {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn run_key(device: &str, run: &str) -> String {
    format!("{COMPACTED}{RUNS}{}/{}.json", encode(device), encode(run))
}

impl RunIndex {
    /// The days of `device`/`run`, once loaded.
    pub fn get(&self, device: &str, run: &str) -> Option<&RunDays> {
        self.runs.get(&(device.to_string(), run.to_string()))
    }

    /// Loads the runs not loaded yet (building the index first if the table
    /// predates it).
    pub async fn load<'a>(
        &mut self,
        store: &dyn Store,
        runs: Vec<(&'a str, &'a str)>,
    ) -> Result<(), CompactError> {
        if !self.built {
            build_if_missing(store).await?;
            self.built = true;
        }
        for (device, run) in runs {
            let id = (device.to_string(), run.to_string());
            if self.runs.contains_key(&id) {
                continue;
            }
            let days = match store.get(&run_key(device, run)).await {
                Ok(body) => serde_json::from_slice(&body).map_err(|e| CompactError::Corrupt {
                    key: run_key(device, run),
                    reason: e.to_string(),
                })?,
                Err(StoreError::NotFound { .. }) => RunDays::default(),
                Err(e) => return Err(e.into()),
            };
            self.runs.insert(id, days);
        }
        Ok(())
    }

    /// Notes readings `lo..=hi` of a run on `day` (written by [`save`](Self::save)).
    pub fn add(&mut self, day: &str, device: &str, run: &str, lo: u64, hi: u64) {
        let id = (device.to_string(), run.to_string());
        let ranges = self
            .runs
            .entry(id.clone())
            .or_default()
            .days
            .entry(day.to_string())
            .or_default();
        if meets(ranges, lo, hi) && ranges.iter().any(|&(a, b)| a <= lo && hi <= b) {
            return;
        }
        add(ranges, lo, hi);
        self.changed.insert(id);
    }

    /// Writes the runs that changed: before the readings they name.
    pub async fn save(&mut self, store: &dyn Store) -> Result<(), CompactError> {
        for id in std::mem::take(&mut self.changed) {
            let body = serde_json::to_vec(&self.runs[&id])
                .map_err(|e| CompactError::Engine(e.to_string()))?;
            store.put(&run_key(&id.0, &id.1), &body).await?;
        }
        Ok(())
    }
}

/// Builds the index of a table compacted before it existed, from every day's
/// key ranges (sidecars where they match, the files' key columns elsewhere).
async fn build_if_missing(store: &dyn Store) -> Result<(), CompactError> {
    let complete = format!("{COMPACTED}{COMPLETE}");
    match store.get(&complete).await {
        Ok(_) => return Ok(()),
        Err(StoreError::NotFound { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    let days: std::collections::BTreeSet<String> = store
        .list(COMPACTED)
        .await?
        .iter()
        .filter_map(|o| o.key[COMPACTED.len()..].strip_prefix("dt="))
        .filter_map(|rest| rest.split_once('/').map(|(day, _)| day.to_string()))
        .collect();
    if !days.is_empty() {
        tracing::info!("indexing the runs of {} compacted days (once)", days.len());
    }
    let mut index = RunIndex {
        built: true,
        ..RunIndex::default()
    };
    for day in &days {
        let held = super::day_index::load(store, day, "").await?;
        for (device, run, lo, hi) in held.ranges() {
            index.add(day, device, run, lo, hi);
        }
    }
    index.save(store).await?;
    store.put(&complete, b"{}").await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_merge_and_meet() {
        let mut ranges = Ranges::new();
        add(&mut ranges, 10, 20);
        add(&mut ranges, 21, 30);
        add(&mut ranges, 50, 60);
        assert_eq!(ranges, [(10, 30), (50, 60)]);
        assert!(meets(&ranges, 0, 10));
        assert!(meets(&ranges, 30, 40));
        assert!(!meets(&ranges, 31, 49));
        assert!(meets(&ranges, 31, 50));
        assert!(!meets(&ranges, 61, u64::MAX));
    }

    #[test]
    fn names_are_encoded_into_one_safe_segment() {
        assert_eq!(
            run_key("pi/kitchen", "../r"),
            "compacted/.runs/pi%2Fkitchen/%2E%2E%2Fr.json"
        );
        crate::store::check_key(&run_key("..", ".")).unwrap();
    }
}
