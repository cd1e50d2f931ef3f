//! The SQL of the Athena engine. Every statement names the batch's objects with
//! `WHERE "$path" IN (...)`, so it scans the batch, not the history, and reads
//! only the key columns of the days the batch writes from the Parquet table.
//! Per run of objects that fits Athena's 262,144-byte query limit: a survey
//! (which days each object holds, which rows are not schema v1), the INSERTs
//! (at most 100 days each, deduplicated against the table), and a verification
//! (every reading of the objects in the table exactly once). Set-up: the DDL
//! of the database and both tables (`iotpipe compact --init`); the Parquet
//! table is partitioned by `dt` alone, with partition projection.

use std::collections::BTreeSet;

use crate::payload::measurement_names;

/// Athena's limit on the length of a query string.
pub const MAX_QUERY_BYTES: usize = 262_144;
/// Athena writes at most 100 partitions per INSERT INTO / CTAS.
pub const MAX_PARTITIONS: usize = 100;
/// The days partition projection covers: exactly the days a stored reading
/// may have (`Reading::stored_time`), so nothing is written where no query
/// sees it (Athena, "Partition projection", Considerations).
pub const PROJECTED_DAYS: &str = "2000-01-01,NOW+1DAYS";

/// The tables compaction reads and writes.
#[derive(Debug, Clone)]
pub struct Target {
    pub database: String,
    /// The JSON table over the raw objects.
    pub raw_table: String,
    /// The Parquet table, partitioned by `dt` (projected: no partition upkeep).
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

/// The days (`dt`) a raw key `raw/YYYY/MM/DD/HH/...` can hold readings of: its
/// day and the day before (Firehose names objects by arrival; readings are at
/// most minutes older). Only the dry run guesses this way; a real run asks
/// Athena which days each object holds.
pub fn key_days(key: &str) -> BTreeSet<String> {
    let parts: Vec<&str> = key.split('/').collect();
    if parts.len() < 5 {
        return BTreeSet::new();
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
    day.map(|d| {
        [d.previous_day(), Some(d)]
            .into_iter()
            .flatten()
            .map(|d| format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day()))
            .collect()
    })
    .unwrap_or_default()
}

const KEY: [&str; 3] = ["device_id", "run_id", "seq"];
/// The instant of `ts` in UTC. Trino's `from_iso8601_timestamp` keeps the
/// string's own zone, and a cast to `timestamp` or `date_format` then shows the
/// wall time there (Trino docs, "Date and time functions"): a reading sent
/// with `+02:00` would be stored two hours off and, near midnight, on another
/// day than the local engine stores it.
const UTC_TS: &str = "from_iso8601_timestamp(\"ts\") AT TIME ZONE 'UTC'";
const DAY_OF_TS: &str =
    "date_format(from_iso8601_timestamp(\"ts\") AT TIME ZONE 'UTC', '%Y-%m-%d')";

fn table(target: &Target, name: &str) -> String {
    format!("{}.{}", identifier(&target.database), identifier(name))
}

fn list(items: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    items
        .into_iter()
        .map(|i| literal(i.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `"a"."device_id" = "b"."device_id" AND ...` over the reading key and `dt`.
fn same_reading(a: &str, b: &str) -> String {
    KEY.iter()
        .chain(&["dt"])
        .map(|c| format!("\"{a}\".{} = \"{b}\".{}", identifier(c), identifier(c)))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// A raw row that is a schema v1 reading the table can show, by the rules of
/// `Reading::stored_time` (ids: 1 to 128 characters, no control characters;
/// `seq` within a signed 64-bit integer; an RFC 3339 `ts` whose UTC day is
/// from 2000-01-01 to tomorrow; every measurement absent or within its
/// plausible range).
fn valid_row() -> String {
    let id = |c: &str| {
        format!(
            "length({c}) BETWEEN 1 AND {} AND NOT regexp_like({c}, '\\p{{Cc}}')",
            crate::payload::MAX_ID_LEN,
            c = identifier(c)
        )
    };
    let mut checks = vec![
        "\"v\" = 1".to_string(),
        id("device_id"),
        id("run_id"),
        format!("\"seq\" BETWEEN 0 AND {}", crate::payload::MAX_SEQ),
        "regexp_like(\"ts\", '^\\d{4}-\\d{2}-\\d{2}[Tt]\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?([Zz]|[+-]\\d{2}:\\d{2})$')".into(),
        "try(from_iso8601_timestamp(\"ts\")) IS NOT NULL".into(),
        // The days the table shows, as `Reading::stored_time` has them.
        format!(
            "date(try(from_iso8601_timestamp(\"ts\")) AT TIME ZONE 'UTC') BETWEEN DATE {} AND \
             current_date + INTERVAL '{}' DAY",
            literal(crate::payload::EARLIEST_DAY),
            crate::payload::DAYS_AHEAD
        ),
    ];
    for (name, lo, hi) in crate::payload::measurement_bounds() {
        checks.push(format!(
            "({n} IS NULL OR {n} BETWEEN {lo:?} AND {hi:?})",
            n = identifier(name)
        ));
    }
    format!("coalesce({}, false)", checks.join(" AND "))
}

/// What Athena reads in some raw objects: per object, day and device, the
/// rows, how many of them are not schema v1 (those objects the engine reads
/// itself), and when the newest valid reading was taken (UTC).
pub fn survey(target: &Target, uris: &[String]) -> String {
    let valid = valid_row();
    format!(
        "SELECT \"$path\" AS \"object\", date_format(try(from_iso8601_timestamp(\"ts\")) AT TIME ZONE 'UTC', '%Y-%m-%d') AS \"dt\",\n  \
         count(*) AS \"rows\", count_if(NOT {valid}) AS \"invalid\", \"device_id\",\n  \
         max(CASE WHEN {valid} THEN CAST(try(from_iso8601_timestamp(\"ts\")) AT TIME ZONE 'UTC' AS timestamp) END) AS \"newest\"\n\
         FROM {}\nWHERE \"$path\" IN ({})\nGROUP BY 1, 2, 5",
        table(target, &target.raw_table),
        list(uris)
    )
}

/// A `timestamp` as Athena's results print it (`2026-03-01 23:30:00.000`),
/// in iotpipe's form (`2026-03-01T23:30:00.000Z`).
pub fn result_timestamp(text: &str) -> Option<String> {
    let format = time::macros::format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second][optional [.[subsecond]]]"
    );
    time::PrimitiveDateTime::parse(text, format)
        .ok()
        .map(|at| crate::payload::format_ts(at.assume_utc()))
}

/// The files an earlier attempt of the batch wrote (its rows carry the batch id).
pub fn own_files(target: &Target, batch_id: &str, days: &BTreeSet<String>) -> String {
    format!(
        "SELECT DISTINCT \"$path\" AS \"file\"\nFROM {}\nWHERE \"dt\" IN ({}) AND \"batch\" = {}",
        table(target, &target.table),
        list(days),
        literal(batch_id)
    )
}

/// Inserts the readings of `uris` on `days` that the table does not hold yet:
/// one row per `(device_id, run_id, seq)` of these objects (Firehose and the
/// sink deliver at least once), none that an earlier batch, an earlier
/// statement of this batch or the other engine already wrote to the same day.
/// Only the key columns of `days` are read from the table, and only rows of
/// `days` are written, so an object spanning more days than one INSERT may
/// write is inserted by several.
pub fn insert(target: &Target, batch_id: &str, uris: &[String], days: &BTreeSet<String>) -> String {
    let mut columns: Vec<String> = ["v", "device_id", "run_id", "seq"]
        .into_iter()
        .map(identifier)
        .collect();
    columns.push(format!("CAST({UTC_TS} AS timestamp) AS \"ts\""));
    columns.extend(measurement_names().map(identifier));
    columns.push(format!("{} AS \"batch\"", literal(batch_id)));
    columns.push(format!("{DAY_OF_TS} AS \"dt\""));
    columns.push(format!(
        "row_number() OVER (PARTITION BY {} ORDER BY \"$path\") AS \"copy\"",
        KEY.map(identifier).join(", ")
    ));
    let mut out = vec!["v", "device_id", "run_id", "seq", "ts"];
    out.extend(measurement_names());
    out.extend(["batch", "dt"]);
    format!(
        "INSERT INTO {}\nSELECT {}\nFROM (\n  SELECT {}\n  FROM {}\n  WHERE \"$path\" IN ({})\n) AS \"fresh\"\n\
         WHERE \"copy\" = 1 AND \"fresh\".\"dt\" IN ({days}) AND NOT EXISTS (\n  SELECT 1 FROM {} AS \"kept\"\n  WHERE \"kept\".\"dt\" IN ({days}) AND {}\n)",
        table(target, &target.table),
        out.into_iter()
            .map(identifier)
            .collect::<Vec<_>>()
            .join(", "),
        columns.join(", "),
        table(target, &target.raw_table),
        list(uris),
        table(target, &target.table),
        same_reading("kept", "fresh"),
        days = list(days),
    )
}

/// Counts, over the distinct readings of `uris` on `days` (what one INSERT
/// wrote), those the table holds not at all (`missing`) and more than once
/// (`doubled`): the proof before marking.
pub fn verify(target: &Target, uris: &[String], days: &BTreeSet<String>) -> String {
    let key = KEY.map(identifier).join(", ");
    format!(
        "SELECT count(*) AS \"readings\", count_if(\"copies\" = 0) AS \"missing\", count_if(\"copies\" > 1) AS \"doubled\"\n\
         FROM (\n  SELECT {fresh}, count(\"kept\".\"seq\") AS \"copies\"\n  FROM (\n    \
         SELECT DISTINCT {key}, {DAY_OF_TS} AS \"dt\"\n    FROM {raw}\n    WHERE \"$path\" IN ({paths}) AND {DAY_OF_TS} IN ({days})\n  ) AS \"fresh\"\n  \
         LEFT JOIN (\n    SELECT {key}, \"dt\" FROM {compacted} WHERE \"dt\" IN ({days})\n  ) AS \"kept\"\n  \
         ON {on}\n  GROUP BY 1, 2, 3, 4\n)",
        fresh = KEY
            .iter()
            .chain(&["dt"])
            .map(|c| format!("\"fresh\".{}", identifier(c)))
            .collect::<Vec<_>>()
            .join(", "),
        raw = table(target, &target.raw_table),
        paths = list(uris),
        compacted = table(target, &target.table),
        days = list(days),
        on = same_reading("kept", "fresh"),
    )
}

/// The longest any statement gets without its object list.
fn overhead(target: &Target, batch_id: &str) -> usize {
    let days: BTreeSet<String> = (0..MAX_PARTITIONS)
        .map(|i| format!("0000-00-{i:03}"))
        .collect();
    [
        survey(target, &[]).len(),
        insert(target, batch_id, &[], &days).len(),
        verify(target, &[], &days).len(),
    ]
    .into_iter()
    .max()
    .unwrap_or(0)
}

/// The batch's object URIs in runs that fit any of its statements.
pub fn chunks(
    target: &Target,
    batch_id: &str,
    uris: &[String],
) -> Result<Vec<Vec<String>>, SqlError> {
    let overhead = overhead(target, batch_id);
    let mut chunks = Vec::new();
    let mut chunk: Vec<String> = Vec::new();
    let mut length = overhead;
    for uri in uris {
        if uri.chars().any(char::is_control) {
            return Err(SqlError::ControlCharacter(uri.clone()));
        }
        let size = literal(uri).len() + 2;
        if overhead + size > MAX_QUERY_BYTES {
            return Err(SqlError::KeyTooLong(uri.clone()));
        }
        if !chunk.is_empty() && length + size > MAX_QUERY_BYTES {
            chunks.push(std::mem::take(&mut chunk));
            length = overhead;
        }
        length += size;
        chunk.push(uri.clone());
    }
    if !chunk.is_empty() {
        chunks.push(chunk);
    }
    Ok(chunks)
}

/// One INSERT of a batch: its objects and the days they write.
#[derive(Debug, Clone, PartialEq)]
pub struct Insert {
    pub uris: Vec<String>,
    pub days: BTreeSet<String>,
}

/// Groups objects (each with the days it holds) into INSERTs that write at
/// most 100 partitions each, in order: every (object, day) in exactly one. An
/// object of more days (a backfill) is split by day, since Athena refuses an
/// INSERT into more than 100 partitions (HIVE_TOO_MANY_OPEN_PARTITIONS).
pub fn inserts(objects: &[(String, BTreeSet<String>)]) -> Vec<Insert> {
    let mut out: Vec<Insert> = Vec::new();
    let mut current = Insert {
        uris: Vec::new(),
        days: BTreeSet::new(),
    };
    let split = objects.iter().flat_map(|(uri, days)| {
        let days: Vec<&String> = days.iter().collect();
        let groups: Vec<BTreeSet<String>> = if days.is_empty() {
            vec![BTreeSet::new()]
        } else {
            days.chunks(MAX_PARTITIONS)
                .map(|group| group.iter().map(|d| (*d).clone()).collect())
                .collect()
        };
        groups.into_iter().map(move |group| (uri, group))
    });
    for (uri, days) in split {
        let new_days = days.difference(&current.days).count();
        if !current.uris.is_empty() && current.days.len() + new_days > MAX_PARTITIONS {
            out.push(std::mem::replace(
                &mut current,
                Insert {
                    uris: Vec::new(),
                    days: BTreeSet::new(),
                },
            ));
        }
        if current.uris.last() != Some(uri) {
            current.uris.push(uri.clone());
        }
        current.days.extend(days);
    }
    if !current.uris.is_empty() {
        out.push(current);
    }
    out
}

/// The statements a run of a batch would send, with the days guessed from
/// the keys (the dry run: a real run surveys the objects first).
pub fn planned_statements(
    target: &Target,
    batch_id: &str,
    keys: &[String],
    uri: impl Fn(&str) -> String,
) -> Result<Vec<String>, SqlError> {
    let days: std::collections::HashMap<String, BTreeSet<String>> =
        keys.iter().map(|k| (uri(k), key_days(k))).collect();
    let uris: Vec<String> = keys.iter().map(|k| uri(k)).collect();
    let mut statements = Vec::new();
    for chunk in chunks(target, batch_id, &uris)? {
        statements.push(survey(target, &chunk));
        let objects: Vec<(String, BTreeSet<String>)> = chunk
            .iter()
            .map(|u| (u.clone(), days.get(u).cloned().unwrap_or_default()))
            .collect();
        let runs = inserts(&objects);
        for run in &runs {
            statements.push(insert(target, batch_id, &run.uris, &run.days));
        }
        for run in &runs {
            statements.push(verify(target, &run.uris, &run.days));
        }
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
            "CREATE EXTERNAL TABLE IF NOT EXISTS {database}.{} (\n  {},\n  {} string\n)\n\
             PARTITIONED BY ({} string)\n\
             STORED AS PARQUET\n\
             LOCATION {}\n\
             TBLPROPERTIES (\n  {}\n)",
            ddl_identifier(&target.table),
            columns("timestamp").join(",\n  "),
            ddl_identifier("batch"),
            ddl_identifier("dt"),
            literal(&target.compacted_location),
            [
                ("parquet.compression", "ZSTD"),
                // Days are projected, not registered: no partition upkeep, and
                // files the local engine writes are seen at once.
                ("projection.enabled", "true"),
                ("projection.dt.type", "date"),
                ("projection.dt.format", "yyyy-MM-dd"),
                ("projection.dt.range", PROJECTED_DAYS),
                ("projection.dt.interval", "1"),
                ("projection.dt.interval.unit", "DAYS"),
            ]
            .map(|(k, v)| format!("{} = {}", literal(k), literal(v)))
            .join(",\n  "),
        ),
    ]
}

#[cfg(test)]
mod tests;
