//! The verification of what a batch's INSERTs wrote: the table's key columns
//! alone, searched for the exact readings the survey found (islands of
//! consecutive `seq` per run), so the raw JSON is not read a third time.

use std::collections::BTreeSet;

use super::{MAX_QUERY_BYTES, Target, kept_days, literal, table};

/// A run's readings as the survey found them: `seq` ranges, inclusive.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Expected {
    /// (device_id, run_id) to sorted, disjoint ranges.
    pub runs: std::collections::BTreeMap<(String, String), Vec<(u64, u64)>>,
}

impl Expected {
    pub fn add(&mut self, device_id: &str, run_id: &str, first: u64, last: u64) {
        let ranges = self
            .runs
            .entry((device_id.to_string(), run_id.to_string()))
            .or_default();
        crate::payload::ranges::insert_range(ranges, first, last);
    }

    /// How many readings.
    pub fn readings(&self) -> u64 {
        self.runs
            .values()
            .flatten()
            .map(|(lo, hi)| hi - lo + 1)
            .sum()
    }
}

fn run_predicate(device_id: &str, run_id: &str, ranges: &[(u64, u64)]) -> String {
    let seqs: Vec<String> = ranges
        .iter()
        .map(|(lo, hi)| format!("\"seq\" BETWEEN {lo} AND {hi}"))
        .collect();
    format!(
        "(\"device_id\" = {} AND \"run_id\" = {} AND ({}))",
        literal(device_id),
        literal(run_id),
        seqs.join(" OR ")
    )
}

/// The verification of what INSERTs wrote: per statement, how many of the
/// `expected` readings the table holds (`found`) and how many more than once
/// (`doubled`), on any day of `look_in`. It reads the table's key columns
/// only, not the raw objects again: the readings to look for are the
/// survey's, exact ranges of `seq` per run (so a reading the INSERT missed, or
/// wrote twice, is found either way). As many statements as the ranges need
/// to stay under Athena's query length.
pub fn verify(target: &Target, expected: &Expected, look_in: &BTreeSet<String>) -> Vec<String> {
    let statement = |predicates: &[String]| {
        format!(
            "SELECT count(*) AS \"found\", count_if(\"copies\" > 1) AS \"doubled\"\n\
             FROM (\n  SELECT \"device_id\", \"run_id\", \"seq\", count(*) AS \"copies\"\n  \
             FROM {}\n  WHERE {} AND (\n    {}\n  )\n  GROUP BY 1, 2, 3\n)",
            table(target, &target.table),
            kept_days("\"dt\"", look_in),
            if predicates.is_empty() {
                "FALSE".to_string()
            } else {
                predicates.join("\n    OR ")
            },
        )
    };
    let room = MAX_QUERY_BYTES - statement(&[]).len();
    let mut statements = Vec::new();
    let mut group: Vec<String> = Vec::new();
    let mut length = 0;
    for ((device, run), ranges) in &expected.runs {
        // A run of very many ranges is split so that each part fits.
        for part in ranges.chunks(1_000) {
            let predicate = run_predicate(device, run, part);
            if !group.is_empty() && length + predicate.len() + 8 > room {
                statements.push(statement(&group));
                group.clear();
                length = 0;
            }
            length += predicate.len() + 8;
            group.push(predicate);
        }
    }
    if !group.is_empty() || statements.is_empty() {
        statements.push(statement(&group));
    }
    statements
}
