//! What a batch knows of each run it routes (one `(device_id, run_id)`): the
//! `seq`s it has seen, what each day already held of the run and what the
//! batch writes there, the other days the run index names, and the run's
//! newest reading. Rows find their run by index, so no row hashes its ids.

use std::collections::HashSet;

use crate::payload::ranges::insert_seq;

/// A set of `seq`s: sorted ranges while they are few (a run numbers its
/// readings one after another, so a whole run is usually one range), a hash
/// set past that (readings in any order cost no more than before).
pub(super) enum SeqSet {
    Ranges(Vec<(u64, u64)>),
    Hashed(HashSet<u64, ahash::RandomState>),
}

/// Past this many ranges, a hash set is cheaper than keeping them sorted.
const MAX_RANGES: usize = 1024;

impl Default for SeqSet {
    fn default() -> SeqSet {
        SeqSet::Ranges(Vec::new())
    }
}

impl SeqSet {
    /// Adds `seq`; false if it was there already.
    pub(super) fn insert(&mut self, seq: u64) -> bool {
        let ranges = match self {
            SeqSet::Hashed(set) => return set.insert(seq),
            SeqSet::Ranges(ranges) => ranges,
        };
        if !insert_seq(ranges, seq) {
            return false;
        }
        if ranges.len() > MAX_RANGES {
            let set = ranges.iter().flat_map(|&(lo, hi)| lo..=hi).collect();
            *self = SeqSet::Hashed(set);
        }
        true
    }

    /// The set as sorted, disjoint ranges.
    pub(super) fn ranges(&self) -> Vec<(u64, u64)> {
        match self {
            SeqSet::Ranges(ranges) => ranges.clone(),
            SeqSet::Hashed(set) => {
                let mut seqs: Vec<u64> = set.iter().copied().collect();
                seqs.sort_unstable();
                let mut ranges: Vec<(u64, u64)> = Vec::new();
                for seq in seqs {
                    match ranges.last_mut() {
                        Some(last) if last.1 + 1 == seq => last.1 = seq,
                        _ => ranges.push((seq, seq)),
                    }
                }
                ranges
            }
        }
    }
}

/// One run of the batch.
pub(super) struct RunState {
    /// Its device, as the batch's interner numbers it.
    pub(super) device: u32,
    pub(super) seen: SeqSet,
    pub(super) days: Vec<RunDay>,
    /// The other days the run index names, with the run's ranges there.
    pub(super) other_days: Vec<(i64, Vec<(u64, u64)>)>,
    /// Its newest reading routed, in milliseconds.
    pub(super) newest: Option<i64>,
}

/// One run on one day.
pub(super) struct RunDay {
    pub(super) day: i64,
    /// What the day held of the run before this batch.
    pub(super) held: Vec<(u64, u64)>,
    /// What this batch writes of it there.
    pub(super) written: SeqSet,
}

impl RunState {
    pub(super) fn new(device: u32) -> RunState {
        RunState {
            device,
            seen: SeqSet::default(),
            days: Vec::new(),
            other_days: Vec::new(),
            newest: None,
        }
    }

    /// The run on `day`; `held` tells what the day held, the first time.
    pub(super) fn on(&mut self, day: i64, held: impl FnOnce() -> Vec<(u64, u64)>) -> &mut RunDay {
        // A run is on a day or two: a scan beats a map.
        let at = match self.days.iter().position(|d| d.day == day) {
            Some(at) => at,
            None => {
                self.days.push(RunDay {
                    day,
                    held: held(),
                    written: SeqSet::default(),
                });
                self.days.len() - 1
            }
        };
        &mut self.days[at]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seqs_in_any_order_are_each_new_once() {
        let mut order: Vec<u64> = (0..5000).collect();
        fastrand::seed(7);
        fastrand::shuffle(&mut order);
        order.extend([0, 4999, 2500]);
        let mut set = SeqSet::default();
        let new = order.iter().filter(|&&seq| set.insert(seq)).count();
        assert_eq!(new, 5000);
        assert!(matches!(set, SeqSet::Hashed(_)), "many ranges on the way");
        assert_eq!(set.ranges(), [(0, 4999)]);
    }

    #[test]
    fn seqs_in_order_stay_one_range() {
        let mut set = SeqSet::default();
        assert!((10..1000).all(|seq| set.insert(seq)));
        assert!(!set.insert(500));
        assert!(set.insert(5) && set.insert(1001) && set.insert(u64::MAX));
        assert!(!set.insert(u64::MAX));
        assert_eq!(
            set.ranges(),
            [(5, 5), (10, 999), (1001, 1001), (u64::MAX, u64::MAX)]
        );
    }
}
