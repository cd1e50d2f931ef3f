//! Sets of readings as `seq` ranges per device and run: readings of a run are
//! numbered one after another, so a run of any length is usually one range.
//! What `up` tracks for days at 1 Hz, and what a compacted day holds, in a few
//! bytes per run instead of one key per reading.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::ReadingKey;

type Map<K, V> = HashMap<K, V, ahash::RandomState>;

/// Adds `seq` to sorted, disjoint inclusive ranges, joining its neighbours;
/// false if it was there already.
pub fn insert_seq(ranges: &mut Vec<(u64, u64)>, seq: u64) -> bool {
    // Readings mostly come in order: the last range grows.
    if let Some(last) = ranges.last_mut() {
        if last.1.checked_add(1) == Some(seq) {
            last.1 = seq;
            return true;
        }
        if last.0 <= seq && seq <= last.1 {
            return false;
        }
    }
    let at = ranges.partition_point(|(lo, _)| *lo <= seq);
    if at > 0 && ranges[at - 1].1 >= seq {
        return false;
    }
    // Here ranges[at - 1].1 < seq < ranges[at].0: no overflow below.
    let joins_before = at > 0 && ranges[at - 1].1 + 1 == seq;
    let joins_after = at < ranges.len() && seq + 1 == ranges[at].0;
    match (joins_before, joins_after) {
        (true, true) => {
            ranges[at - 1].1 = ranges[at].1;
            ranges.remove(at);
        }
        (true, false) => ranges[at - 1].1 = seq,
        (false, true) => ranges[at].0 = seq,
        (false, false) => ranges.insert(at, (seq, seq)),
    }
    true
}

/// Adds the inclusive range `lo..=hi` to sorted, disjoint ranges, joining
/// those it overlaps or touches: a binary search, where [`merge`] sorts all.
pub fn insert_range(ranges: &mut Vec<(u64, u64)>, lo: u64, hi: u64) {
    // Disjoint and not touching, so sorted by their ends too.
    let start = ranges.partition_point(|&(_, end)| end.saturating_add(1) < lo);
    let joined = ranges[start..]
        .iter()
        .take_while(|&&(begin, _)| begin <= hi.saturating_add(1))
        .count();
    if joined == 0 {
        ranges.insert(start, (lo, hi));
        return;
    }
    let end = start + joined;
    let merged = (lo.min(ranges[start].0), hi.max(ranges[end - 1].1));
    ranges.splice(start..end, std::iter::once(merged));
}

/// Sorts inclusive ranges and merges those that overlap or touch.
pub fn merge(ranges: &mut Vec<(u64, u64)>) {
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

/// Inclusive `seq` ranges per device and run, sorted and disjoint.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyRanges {
    runs: Map<String, Map<String, Vec<(u64, u64)>>>,
}

impl KeyRanges {
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// How many readings.
    pub fn len(&self) -> u64 {
        self.ranges().map(|(_, _, lo, hi)| hi - lo + 1).sum()
    }

    pub fn contains(&self, device_id: &str, run_id: &str, seq: u64) -> bool {
        let Some(ranges) = self.runs.get(device_id).and_then(|r| r.get(run_id)) else {
            return false;
        };
        // The last range starting at or before seq.
        let at = ranges.partition_point(|(lo, _)| *lo <= seq);
        at > 0 && ranges[at - 1].1 >= seq
    }

    /// The ranges of one run.
    pub fn of_run(&self, device_id: &str, run_id: &str) -> &[(u64, u64)] {
        self.runs
            .get(device_id)
            .and_then(|runs| runs.get(run_id))
            .map_or(&[], Vec::as_slice)
    }

    /// Adds readings `lo..=hi` of a run.
    pub fn insert_range(&mut self, device_id: &str, run_id: &str, lo: u64, hi: u64) {
        let mut range = KeyRanges::default();
        range.push(device_id, run_id, (lo, hi));
        self.extend(range);
    }

    /// Adds one reading, keeping the ranges sorted and merged.
    pub fn insert(&mut self, device_id: &str, run_id: &str, seq: u64) {
        let runs = match self.runs.get_mut(device_id) {
            Some(runs) => runs,
            None => self.runs.entry(device_id.to_string()).or_default(),
        };
        let ranges = match runs.get_mut(run_id) {
            Some(ranges) => ranges,
            None => runs.entry(run_id.to_string()).or_default(),
        };
        insert_seq(ranges, seq);
    }

    pub fn insert_key(&mut self, key: &ReadingKey) {
        self.insert(&key.device_id, &key.run_id, key.seq);
    }

    /// Adds every reading of `other`.
    pub fn extend(&mut self, other: KeyRanges) {
        for (device, runs) in other.runs {
            let into = self.runs.entry(device).or_default();
            for (run, ranges) in runs {
                let merged = into.entry(run).or_default();
                merged.extend(ranges);
                merge(merged);
            }
        }
    }

    /// The readings of `self` that `other` lacks.
    pub fn difference(&self, other: &KeyRanges) -> KeyRanges {
        let mut missing = KeyRanges::default();
        for (device, run, lo, hi) in self.ranges() {
            let theirs: &[(u64, u64)] = other
                .runs
                .get(device)
                .and_then(|runs| runs.get(run))
                .map_or(&[], Vec::as_slice);
            // The first seq not yet known to be covered; None: all of them are.
            let mut next = Some(lo);
            let first = theirs.partition_point(|(_, their_hi)| *their_hi < lo);
            for &(their_lo, their_hi) in &theirs[first..] {
                let Some(from) = next else { break };
                if their_lo > hi {
                    break;
                }
                if their_lo > from {
                    missing.push(device, run, (from, their_lo - 1));
                }
                next = (their_hi < hi).then(|| from.max(their_hi + 1));
            }
            if let Some(from) = next {
                missing.push(device, run, (from, hi));
            }
        }
        missing
    }

    /// The readings missing between the first and the last of each run.
    pub fn holes(&self) -> KeyRanges {
        let mut holes = KeyRanges::default();
        for (device, runs) in &self.runs {
            for (run, ranges) in runs {
                for pair in ranges.windows(2) {
                    holes.push(device, run, (pair[0].1 + 1, pair[1].0 - 1));
                }
            }
        }
        holes
    }

    /// The readings in both.
    pub fn intersection(&self, other: &KeyRanges) -> KeyRanges {
        self.difference(&self.difference(other))
    }

    /// Appends a range after every range of the run (callers go in order).
    fn push(&mut self, device: &str, run: &str, range: (u64, u64)) {
        self.runs
            .entry(device.to_string())
            .or_default()
            .entry(run.to_string())
            .or_default()
            .push(range);
    }

    /// Every range: device, run, first and last seq.
    pub fn ranges(&self) -> impl Iterator<Item = (&str, &str, u64, u64)> {
        self.runs.iter().flat_map(|(device, runs)| {
            runs.iter().flat_map(move |(run, ranges)| {
                ranges
                    .iter()
                    .map(move |&(lo, hi)| (device.as_str(), run.as_str(), lo, hi))
            })
        })
    }

    /// Up to `limit` readings, by key, sorted.
    pub fn keys(&self, limit: usize) -> Vec<ReadingKey> {
        let mut keys = Vec::new();
        let mut ranges: Vec<_> = self.ranges().collect();
        ranges.sort_unstable();
        for (device, run, lo, hi) in ranges {
            for seq in lo..=hi {
                if keys.len() == limit {
                    return keys;
                }
                keys.push(ReadingKey {
                    device_id: device.to_string(),
                    run_id: run.to_string(),
                    seq,
                });
            }
        }
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holes_are_what_a_run_skipped_between_its_first_and_last() {
        let mut seen = of("d", "r", [3, 4, 5, 9, 12, 13]);
        seen.extend(of("d", "other", [0, 1, 2]));
        assert_eq!(seen.holes(), of("d", "r", [6, 7, 8, 10, 11]));
        let late = of("d", "r", [7, 8, 11, 40]);
        assert_eq!(seen.holes().intersection(&late), of("d", "r", [7, 8, 11]));
    }

    fn of(device: &str, run: &str, seqs: impl IntoIterator<Item = u64>) -> KeyRanges {
        let mut ranges = KeyRanges::default();
        for seq in seqs {
            ranges.insert(device, run, seq);
        }
        ranges
    }

    #[test]
    fn ranges_stay_sorted_and_merged_in_any_order() {
        let mut ranges = of("pi", "r1", (0..100).chain(200..300).chain([150, 99, 101]));
        ranges.insert("pi", "r2", 5);
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
        ranges.insert("pi", "r1", 100);
        assert_eq!(ranges.runs["pi"]["r1"], [(0, 101), (150, 150), (200, 299)]);
        ranges.extend(of("pi", "r1", [149, 151, 152, 400]));
        assert_eq!(
            ranges.runs["pi"]["r1"],
            [(0, 101), (149, 152), (200, 299), (400, 400)]
        );
        assert_eq!(ranges.len(), 102 + 4 + 100 + 1 + 1);
        // Reversed input ends as one range.
        let reversed = of("pi", "r", (0..1000).rev());
        assert_eq!(reversed.runs["pi"]["r"], [(0, 999)]);
    }

    proptest::proptest! {
        #[test]
        fn inserting_a_range_is_merging_it_in(
            added in proptest::collection::vec((0u64..200, 0u64..20), 0..40)
        ) {
            let mut inserted = Vec::new();
            let mut merged = Vec::new();
            for (lo, len) in added {
                insert_range(&mut inserted, lo, lo + len);
                merged.push((lo, lo + len));
                merge(&mut merged);
                proptest::prop_assert_eq!(&inserted, &merged);
            }
        }
    }

    #[test]
    fn the_difference_is_what_the_other_lacks() {
        let mut acked = of("pi", "r1", 0..100);
        acked.extend(of("sim-1", "r2", 0..10));
        let mut landed = of("pi", "r1", (0..10).chain(20..50).chain(60..200));
        landed.extend(of("other", "r9", 0..5));
        let missing = acked.difference(&landed);
        assert_eq!(missing.runs["pi"]["r1"], [(10, 19), (50, 59)]);
        assert_eq!(missing.runs["sim-1"]["r2"], [(0, 9)]);
        assert_eq!(missing.len(), 30);
        let keys = missing.keys(3);
        assert_eq!(
            keys.iter()
                .map(|k| (k.device_id.as_str(), k.seq))
                .collect::<Vec<_>>(),
            [("pi", 10), ("pi", 11), ("pi", 12)]
        );
        assert!(landed.difference(&landed).is_empty());
        assert_eq!(
            of("pi", "r", [u64::MAX])
                .difference(&of("pi", "r", [u64::MAX]))
                .len(),
            0
        );
    }
}
