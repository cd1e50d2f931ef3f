//! The SQL an Athena compaction runs for a batch: `INSERT INTO` the Parquet
//! table, selecting only the batch's objects with `WHERE "$path" IN (...)` so a
//! query scans the batch, not the history. Keys are SQL string literals (quotes
//! doubled); a batch is split into several statements when one would exceed
//! Athena's 262,144-byte query limit or write more than 100 partitions.
//!
//! The Athena engine that submits these and polls them is not built yet
//! (docs/aws.md); this is its tested SQL generation.

use std::collections::BTreeSet;

use crate::payload::measurement_names;

/// Athena's limit on the length of a query string.
pub const MAX_QUERY_BYTES: usize = 262_144;
/// Athena writes at most 100 partitions per INSERT INTO / CTAS.
pub const MAX_PARTITIONS: usize = 100;

/// Where the compacted rows go.
#[derive(Debug, Clone)]
pub struct Target {
    pub database: String,
    pub raw_table: String,
    pub table: String,
    pub bucket: String,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SqlError {
    #[error("object key {0:?} alone makes a query longer than Athena's {MAX_QUERY_BYTES} bytes")]
    KeyTooLong(String),
    #[error("object key {0:?} contains a control character, which cannot go into a query")]
    ControlCharacter(String),
}

/// A SQL string literal: single quotes doubled.
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A quoted identifier: double quotes doubled.
pub fn identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The partition day of a raw key `raw/YYYY/MM/DD/HH/...`, if it has one.
fn key_day(key: &str) -> Option<String> {
    let parts: Vec<&str> = key.split('/').collect();
    (parts.len() > 4).then(|| format!("{}-{}-{}", parts[1], parts[2], parts[3]))
}

fn statement(target: &Target, paths: &[String]) -> String {
    let mut columns = vec!["v", "device_id", "run_id", "seq"]
        .into_iter()
        .map(identifier)
        .collect::<Vec<_>>();
    columns.push("from_iso8601_timestamp(\"ts\") AS \"ts\"".into());
    columns.extend(measurement_names().map(identifier));
    columns.push("date_format(from_iso8601_timestamp(\"ts\"), '%Y-%m-%d') AS \"dt\"".into());
    format!(
        "INSERT INTO {}.{}\nSELECT {}\nFROM {}.{}\nWHERE \"$path\" IN ({})",
        identifier(&target.database),
        identifier(&target.table),
        columns.join(", "),
        identifier(&target.database),
        identifier(&target.raw_table),
        paths.join(", ")
    )
}

/// The statements that compact `keys`, each within Athena's limits, together
/// covering every key exactly once.
pub fn insert_statements(target: &Target, keys: &[String]) -> Result<Vec<String>, SqlError> {
    let overhead = statement(target, &[]).len();
    let mut statements = Vec::new();
    let mut paths: Vec<String> = Vec::new();
    let mut length = overhead;
    let mut days: BTreeSet<String> = BTreeSet::new();
    for key in keys {
        if key.chars().any(char::is_control) {
            return Err(SqlError::ControlCharacter(key.clone()));
        }
        let path = literal(&format!("s3://{}/{key}", target.bucket));
        if overhead + path.len() > MAX_QUERY_BYTES {
            return Err(SqlError::KeyTooLong(key.clone()));
        }
        let day = key_day(key);
        let new_day = day.as_ref().is_some_and(|d| !days.contains(d));
        let too_long = length + path.len() + 2 > MAX_QUERY_BYTES;
        let too_many_days = new_day && days.len() >= MAX_PARTITIONS;
        if !paths.is_empty() && (too_long || too_many_days) {
            statements.push(statement(target, &paths));
            paths.clear();
            days.clear();
            length = overhead;
        }
        length += path.len() + 2;
        paths.push(path);
        days.extend(day);
    }
    if !paths.is_empty() {
        statements.push(statement(target, &paths));
    }
    Ok(statements)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target {
            database: "iotpipe".into(),
            raw_table: "raw_readings".into(),
            table: "readings".into(),
            bucket: "my-bucket".into(),
        }
    }

    #[test]
    fn keys_are_escaped_as_literals() {
        let keys = vec!["raw/2026/01/01/00/it's a key.jsonl.gz".to_string()];
        let sql = insert_statements(&target(), &keys).unwrap();
        assert_eq!(sql.len(), 1);
        assert!(
            sql[0].contains(
                "WHERE \"$path\" IN ('s3://my-bucket/raw/2026/01/01/00/it''s a key.jsonl.gz')"
            ),
            "{}",
            sql[0]
        );
        assert!(
            sql[0].starts_with("INSERT INTO \"iotpipe\".\"readings\"\nSELECT \"v\", \"device_id\""),
            "{}",
            sql[0]
        );
        assert!(sql[0].contains("FROM \"iotpipe\".\"raw_readings\""));
        assert_eq!(identifier("we\"ird"), "\"we\"\"ird\"");
        let bad = vec!["raw/2026/01/01/00/a\nb".to_string()];
        assert!(matches!(
            insert_statements(&target(), &bad),
            Err(SqlError::ControlCharacter(_))
        ));
    }

    #[test]
    fn long_key_lists_are_split_below_the_query_limit_covering_each_key_once() {
        let keys: Vec<String> = (0..5000)
            .map(|i| {
                format!("raw/2026/01/01/00/iotpipe-sink-1-2026-01-01-00-00-00-{i:036}.jsonl.gz")
            })
            .collect();
        let sql = insert_statements(&target(), &keys).unwrap();
        assert!(sql.len() > 1, "5000 keys do not fit one query");
        let mut seen = 0;
        for statement in &sql {
            assert!(
                statement.len() <= MAX_QUERY_BYTES,
                "{} bytes",
                statement.len()
            );
            seen += statement.matches("'s3://my-bucket/").count();
        }
        assert_eq!(seen, keys.len());
        for key in &keys {
            let found = sql
                .iter()
                .filter(|s| s.contains(&format!("/{key}'")))
                .count();
            assert_eq!(found, 1, "{key}");
        }
    }

    #[test]
    fn at_most_100_partitions_per_statement() {
        let keys: Vec<String> = (0..250)
            .map(|d| {
                let day = time::Date::from_ordinal_date(2026, d + 1).unwrap();
                format!(
                    "raw/{:04}/{:02}/{:02}/00/o.jsonl.gz",
                    day.year(),
                    day.month() as u8,
                    day.day()
                )
            })
            .collect();
        let sql = insert_statements(&target(), &keys).unwrap();
        assert_eq!(sql.len(), 3, "250 days: 100 + 100 + 50");
        assert_eq!(
            sql.iter()
                .map(|s| s.matches("s3://").count())
                .collect::<Vec<_>>(),
            [100, 100, 50]
        );
    }

    #[test]
    fn a_key_too_long_for_any_query_is_an_error() {
        let key = format!("raw/2026/01/01/00/{}", "k".repeat(MAX_QUERY_BYTES));
        assert!(matches!(
            insert_statements(&target(), &[key]),
            Err(SqlError::KeyTooLong(_))
        ));
    }
}
