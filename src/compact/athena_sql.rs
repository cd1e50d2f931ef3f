//! The SQL of the Athena engine. Compaction: `INSERT INTO` the Parquet table,
//! selecting only the batch's objects with `WHERE "$path" IN (...)` so a query
//! scans the batch, not the history; object paths are SQL string literals
//! (quotes doubled); a batch is split into several statements when one would
//! exceed Athena's 262,144-byte query limit or write more than 100 partitions.
//! Set-up: the DDL of the database and both tables (`iotpipe compact --init`).

use std::collections::BTreeSet;

use crate::payload::measurement_names;

/// Athena's limit on the length of a query string.
pub const MAX_QUERY_BYTES: usize = 262_144;
/// Athena writes at most 100 partitions per INSERT INTO / CTAS.
pub const MAX_PARTITIONS: usize = 100;

/// The tables compaction reads and writes.
#[derive(Debug, Clone)]
pub struct Target {
    pub database: String,
    /// The JSON table over the raw objects.
    pub raw_table: String,
    /// The Parquet table, partitioned by `dt` and `batch`.
    pub table: String,
    /// `s3://bucket/raw/`
    pub raw_location: String,
    /// `s3://bucket/compacted/`
    pub compacted_location: String,
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

/// A Hive DDL identifier (CREATE statements use backquotes).
fn ddl_identifier(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// The day of a raw key `raw/YYYY/MM/DD/HH/...` and the day before it: the
/// `dt` partitions its readings can fall in (Firehose names objects by arrival,
/// readings are at most minutes older).
fn key_days(key: &str) -> Vec<time::Date> {
    let parts: Vec<&str> = key.split('/').collect();
    if parts.len() < 5 {
        return Vec::new();
    }
    let number = |s: &str| s.parse::<i32>().ok();
    let day = (|| {
        let month = time::Month::try_from(u8::try_from(number(parts[2])?).ok()?).ok()?;
        time::Date::from_calendar_date(
            number(parts[1])?,
            month,
            u8::try_from(number(parts[3])?).ok()?,
        )
        .ok()
    })();
    day.map(|d| [d.previous_day(), Some(d)].into_iter().flatten().collect())
        .unwrap_or_default()
}

fn statement(target: &Target, batch_id: &str, paths: &[String]) -> String {
    let mut columns = vec!["v", "device_id", "run_id", "seq"]
        .into_iter()
        .map(identifier)
        .collect::<Vec<_>>();
    columns.push("CAST(from_iso8601_timestamp(\"ts\") AS timestamp) AS \"ts\"".into());
    columns.extend(measurement_names().map(identifier));
    columns.push("date_format(from_iso8601_timestamp(\"ts\"), '%Y-%m-%d') AS \"dt\"".into());
    columns.push(format!("{} AS \"batch\"", literal(batch_id)));
    // Firehose and the sink deliver at least once: keep one row per reading.
    columns.push(
        "row_number() OVER (PARTITION BY \"device_id\", \"run_id\", \"seq\" ORDER BY \"$path\") AS \"copy\""
            .into(),
    );
    let mut out = vec!["v", "device_id", "run_id", "seq", "ts"];
    out.extend(measurement_names());
    out.extend(["dt", "batch"]);
    format!(
        "INSERT INTO {}.{}\nSELECT {}\nFROM (\n  SELECT {}\n  FROM {}.{}\n  WHERE \"$path\" IN ({})\n)\nWHERE \"copy\" = 1",
        identifier(&target.database),
        identifier(&target.table),
        out.into_iter()
            .map(identifier)
            .collect::<Vec<_>>()
            .join(", "),
        columns.join(", "),
        identifier(&target.database),
        identifier(&target.raw_table),
        paths.join(", ")
    )
}

/// The statements that compact a batch's `keys` (each read at `uri(key)`), each
/// within Athena's limits, together covering every key exactly once.
pub fn insert_statements(
    target: &Target,
    batch_id: &str,
    keys: &[String],
    uri: impl Fn(&str) -> String,
) -> Result<Vec<String>, SqlError> {
    let overhead = statement(target, batch_id, &[]).len();
    let mut statements = Vec::new();
    let mut paths: Vec<String> = Vec::new();
    let mut length = overhead;
    let mut days: BTreeSet<time::Date> = BTreeSet::new();
    for key in keys {
        if key.chars().any(char::is_control) {
            return Err(SqlError::ControlCharacter(key.clone()));
        }
        let path = literal(&uri(key));
        if overhead + path.len() > MAX_QUERY_BYTES {
            return Err(SqlError::KeyTooLong(key.clone()));
        }
        let key_days = key_days(key);
        let new_days = key_days.iter().filter(|d| !days.contains(d)).count();
        let too_long = length + path.len() + 2 > MAX_QUERY_BYTES;
        let too_many_days = days.len() + new_days > MAX_PARTITIONS;
        if !paths.is_empty() && (too_long || too_many_days) {
            statements.push(statement(target, batch_id, &paths));
            paths.clear();
            days.clear();
            length = overhead;
        }
        length += path.len() + 2;
        paths.push(path);
        days.extend(key_days);
    }
    if !paths.is_empty() {
        statements.push(statement(target, batch_id, &paths));
    }
    Ok(statements)
}

/// The Athena type of each compacted column (the local engine's Parquet schema).
fn columns(ts_type: &str) -> Vec<String> {
    let mut columns = vec![
        format!("{} int", ddl_identifier("v")),
        format!("{} string", ddl_identifier("device_id")),
        format!("{} string", ddl_identifier("run_id")),
        format!("{} bigint", ddl_identifier("seq")),
        format!("{} {ts_type}", ddl_identifier("ts")),
    ];
    columns.extend(measurement_names().map(|name| format!("{} double", ddl_identifier(name))));
    columns
}

/// `CREATE DATABASE` and both tables, each idempotent (`IF NOT EXISTS`).
pub fn ddl(target: &Target) -> Vec<String> {
    let database = ddl_identifier(&target.database);
    vec![
        format!("CREATE DATABASE IF NOT EXISTS {database}"),
        format!(
            "CREATE EXTERNAL TABLE IF NOT EXISTS {database}.{} (\n  {}\n)\n\
             ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'\n\
             LOCATION {}",
            ddl_identifier(&target.raw_table),
            columns("string").join(",\n  "),
            literal(&target.raw_location),
        ),
        format!(
            "CREATE EXTERNAL TABLE IF NOT EXISTS {database}.{} (\n  {}\n)\n\
             PARTITIONED BY ({} string, {} string)\n\
             STORED AS PARQUET\n\
             LOCATION {}\n\
             TBLPROPERTIES ('parquet.compression' = 'ZSTD')",
            ddl_identifier(&target.table),
            columns("timestamp").join(",\n  "),
            ddl_identifier("dt"),
            ddl_identifier("batch"),
            literal(&target.compacted_location),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target {
            database: "iotpipe".into(),
            raw_table: "raw_readings".into(),
            table: "readings".into(),
            raw_location: "s3://my-bucket/raw/".into(),
            compacted_location: "s3://my-bucket/compacted/".into(),
        }
    }

    fn uri(key: &str) -> String {
        format!("s3://my-bucket/{key}")
    }

    #[test]
    fn keys_are_escaped_as_literals() {
        let keys = vec!["raw/2026/01/01/00/it's a key.jsonl.gz".to_string()];
        let sql = insert_statements(&target(), "b'1", &keys, uri).unwrap();
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
        assert!(sql[0].contains("'b''1' AS \"batch\""), "{}", sql[0]);
        assert!(sql[0].ends_with("WHERE \"copy\" = 1"), "{}", sql[0]);
        assert_eq!(identifier("we\"ird"), "\"we\"\"ird\"");
        let bad = vec!["raw/2026/01/01/00/a\nb".to_string()];
        assert!(matches!(
            insert_statements(&target(), "b", &bad, uri),
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
        let sql = insert_statements(&target(), "b", &keys, uri).unwrap();
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
        let days: Vec<time::Date> = (0..250)
            .map(|d| time::Date::from_ordinal_date(2026, d + 1).unwrap())
            .collect();
        let keys: Vec<String> = days
            .iter()
            .map(|day| {
                format!(
                    "raw/{:04}/{:02}/{:02}/00/o.jsonl.gz",
                    day.year(),
                    day.month() as u8,
                    day.day()
                )
            })
            .collect();
        let sql = insert_statements(&target(), "b", &keys, uri).unwrap();
        // Each key's readings may fall on its day or the day before.
        let per_statement: Vec<usize> = sql.iter().map(|s| s.matches("s3://").count()).collect();
        assert_eq!(per_statement, [99, 99, 52]);
        assert_eq!(per_statement.iter().sum::<usize>(), 250);
    }

    #[test]
    fn a_key_too_long_for_any_query_is_an_error() {
        let key = format!("raw/2026/01/01/00/{}", "k".repeat(MAX_QUERY_BYTES));
        assert!(matches!(
            insert_statements(&target(), "b", &[key], uri),
            Err(SqlError::KeyTooLong(_))
        ));
    }

    #[test]
    fn ddl_creates_the_database_and_both_tables_once() {
        let ddl = ddl(&target());
        assert_eq!(ddl[0], "CREATE DATABASE IF NOT EXISTS `iotpipe`");
        assert!(ddl[1].starts_with("CREATE EXTERNAL TABLE IF NOT EXISTS `iotpipe`.`raw_readings`"));
        assert!(
            ddl[1].contains("`ts` string") && ddl[1].contains("LOCATION 's3://my-bucket/raw/'")
        );
        assert!(ddl[2].contains("`ts` timestamp"), "{}", ddl[2]);
        assert!(ddl[2].contains("PARTITIONED BY (`dt` string, `batch` string)"));
        assert!(ddl[2].contains("LOCATION 's3://my-bucket/compacted/'"));
        for name in measurement_names() {
            assert!(ddl[1].contains(&format!("`{name}` double")), "{name}");
            assert!(ddl[2].contains(&format!("`{name}` double")), "{name}");
        }
    }
}
