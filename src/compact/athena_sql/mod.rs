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
    /// The same objects as lines of text (`<raw_table>_lines`): what the
    /// survey checks, so a reading is judged by its JSON whatever a SerDe
    /// makes of it.
    pub lines_table: String,
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

/// `"a"."device_id" = "b"."device_id" AND ...`: the same reading, whatever
/// its day (one row per key in the table, not per key and day).
fn same_reading(a: &str, b: &str) -> String {
    KEY.iter()
        .map(|c| format!("\"{a}\".{} = \"{b}\".{}", identifier(c), identifier(c)))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// Where the table may already hold a reading of these objects: the days they
/// write and the other days the run index names for their runs. Up to
/// `MAX_LOOK_IN` days listed; past that, every day between the first and the
/// last (a larger scan, the same answer).
fn kept_days(column: &str, look_in: &BTreeSet<String>) -> String {
    match (look_in.first(), look_in.last()) {
        (Some(first), Some(last)) if look_in.len() > MAX_LOOK_IN => {
            format!("{column} BETWEEN {} AND {}", literal(first), literal(last))
        }
        _ => format!("{column} IN ({})", list(look_in)),
    }
}

/// The most days a statement lists to look for kept readings in.
pub const MAX_LOOK_IN: usize = 1_000;

/// A JSON value's text as `json_format` writes it: `"..."` for a string, a
/// digit or `-` for a number, `null`, `true`, `{`, `[`.
fn json_text(field: &str) -> String {
    format!("json_format(json_extract(\"json\", '$.{field}'))")
}

fn json_scalar(field: &str) -> String {
    format!("json_extract_scalar(\"json\", '$.{field}')")
}

/// A raw line that is a schema v1 reading the table can show, judged on its
/// JSON as `Reading::stored_time` judges it, whatever a SerDe would make of
/// it: one JSON object (no `}{` on a line, no field separator) with only v1's
/// fields; `v` the number 1; ids strings of 1 to 128 bytes without control
/// characters; `seq` an integer within a signed 64-bit integer; `ts` an RFC
/// 3339 string whose UTC day is from 2000-01-01 to tomorrow; every
/// measurement absent, null, or a number within its plausible range. A
/// string `"21.5"` is not a number, though the OpenX SerDe reads it as one,
/// and `"hot"` is not a missing value, though another SerDe reads it as NULL:
/// which is why the survey reads lines.
fn valid_line() -> String {
    let mut fields = vec!["v", "device_id", "run_id", "seq", "ts"];
    fields.extend(measurement_names());
    let id = |c: &str| {
        format!(
            "regexp_like({text}, '^\"') AND length(to_utf8({c})) BETWEEN 1 AND {} \
             AND NOT regexp_like({c}, '\\p{{Cc}}')",
            crate::payload::MAX_ID_LEN,
            text = json_text(c),
            c = json_scalar(c)
        )
    };
    let mut checks = vec![
        "\"rest\" IS NULL".to_string(),
        format!(
            "cardinality(filter(map_keys(CAST(\"json\" AS map(varchar, json))), k -> NOT contains(ARRAY[{}], k))) = 0",
            list(&fields)
        ),
        format!("{} = '1'", json_text("v")),
        id("device_id"),
        id("run_id"),
        format!("regexp_like({}, '^[0-9]+$')", json_text("seq")),
        format!(
            "try_cast({} AS bigint) BETWEEN 0 AND {}",
            json_scalar("seq"),
            crate::payload::MAX_SEQ
        ),
        format!("regexp_like({}, '^\"')", json_text("ts")),
        format!(
            "regexp_like({}, '^\\d{{4}}-\\d{{2}}-\\d{{2}}[Tt]\\d{{2}}:\\d{{2}}:\\d{{2}}(\\.\\d+)?([Zz]|[+-]\\d{{2}}:\\d{{2}})$')",
            json_scalar("ts")
        ),
        // The days the table shows, as `Reading::stored_time` has them.
        format!(
            "date(try(from_iso8601_timestamp({})) AT TIME ZONE 'UTC') BETWEEN DATE {} AND \
             current_date + INTERVAL '{}' DAY",
            json_scalar("ts"),
            literal(crate::payload::EARLIEST_DAY),
            crate::payload::DAYS_AHEAD
        ),
    ];
    for (name, lo, hi) in crate::payload::measurement_bounds() {
        checks.push(format!(
            "({text} IS NULL OR {text} = 'null' OR (regexp_like({text}, '^-?[0-9]') AND \
             try_cast({value} AS double) BETWEEN {lo:?} AND {hi:?}))",
            text = json_text(name),
            value = json_scalar(name),
        ));
    }
    format!("coalesce(try({}), false)", checks.join("\n      AND "))
}

/// What Athena reads in some raw objects, from their lines: per object, day,
/// device and run, the rows, how many are not schema v1, the first and last
/// `seq`, when the newest valid reading was taken (UTC), and the most
/// different lines one key has in the object (`versions`: above 1, the object
/// holds conflicting copies of a reading, and only iotpipe itself can keep
/// the first of them, as it does in every object; Athena cannot see line
/// order). Objects with invalid rows or conflicting copies are compacted by
/// the local engine, which keeps their bad lines aside.
pub fn survey(target: &Target, uris: &[String]) -> String {
    let utc = format!(
        "try(from_iso8601_timestamp({})) AT TIME ZONE 'UTC'",
        json_scalar("ts")
    );
    // Per object, day and run, each island of consecutive `seq`s (`seq`
    // minus its rank is the same along one): the exact readings, which the
    // verification then looks for in the table alone.
    format!(
        "SELECT \"object\", \"dt\", \"device_id\", \"run_id\", sum(\"copies\") AS \"rows\",\n  \
         sum(\"invalid\") AS \"invalid\", min(\"seq\") AS \"first\", max(\"seq\") AS \"last\",\n  \
         max(\"newest\") AS \"newest\", max(\"versions\") AS \"versions\"\n\
         FROM (\n  \
         SELECT *, \"seq\" - row_number() OVER (PARTITION BY \"object\", \"dt\", \"device_id\", \"run_id\" ORDER BY \"seq\") AS \"island\"\n  \
         FROM (\n  \
         SELECT \"object\", \"device_id\", \"run_id\", \"seq\", min(\"dt\") AS \"dt\", count(*) AS \"copies\",\n    \
         count_if(NOT \"valid\") AS \"invalid\", max(CASE WHEN \"valid\" THEN \"at\" END) AS \"newest\",\n    \
         count(DISTINCT \"line\") AS \"versions\"\n  \
         FROM (\n    \
         SELECT \"object\", \"line\", {device} AS \"device_id\", {run} AS \"run_id\",\n      \
         try_cast({seq} AS bigint) AS \"seq\", date_format({utc}, '%Y-%m-%d') AS \"dt\",\n      \
         CAST({utc} AS timestamp) AS \"at\",\n      {valid} AS \"valid\"\n    \
         FROM (\n      \
         SELECT \"$path\" AS \"object\", \"line\", \"rest\", try(json_parse(\"line\")) AS \"json\"\n      \
         FROM {lines}\n      WHERE \"$path\" IN ({paths})\n    )\n  )\n  GROUP BY 1, 2, 3, 4\n  )\n)\n\
         GROUP BY \"object\", \"dt\", \"device_id\", \"run_id\", \"island\"",
        device = json_scalar("device_id"),
        run = json_scalar("run_id"),
        seq = json_scalar("seq"),
        valid = valid_line(),
        lines = table(target, &target.lines_table),
        paths = list(uris),
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
/// sink deliver at least once), the copy in the first object by key, and none
/// that an earlier batch, an earlier statement of this batch or the other
/// engine already wrote, on any day (`look_in`: where such a copy can be).
/// Only the key columns of `look_in` are read from the table, and only rows
/// of `days` are written, so an object spanning more days than one INSERT
/// may write is inserted by several.
pub fn insert(
    target: &Target,
    batch_id: &str,
    uris: &[String],
    days: &BTreeSet<String>,
    look_in: &BTreeSet<String>,
) -> String {
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
         WHERE \"copy\" = 1 AND \"fresh\".\"dt\" IN ({days}) AND NOT EXISTS (\n  SELECT 1 FROM {} AS \"kept\"\n  WHERE {} AND {}\n)",
        table(target, &target.table),
        out.into_iter()
            .map(identifier)
            .collect::<Vec<_>>()
            .join(", "),
        columns.join(", "),
        table(target, &target.raw_table),
        list(uris),
        table(target, &target.table),
        kept_days("\"kept\".\"dt\"", look_in),
        same_reading("kept", "fresh"),
        days = list(days),
    )
}

/// The longest any statement gets without its object list.
fn overhead(target: &Target, batch_id: &str) -> usize {
    let day = |i: usize| format!("0000-00-{i:04}");
    let days: BTreeSet<String> = (0..MAX_PARTITIONS).map(day).collect();
    let look_in: BTreeSet<String> = (0..MAX_LOOK_IN).map(day).collect();
    [
        survey(target, &[]).len(),
        insert(target, batch_id, &[], &days, &look_in).len(),
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
            statements.push(insert(target, batch_id, &run.uris, &run.days, &run.days));
        }
        // The verification looks for the readings the survey finds: none
        // are known before it runs.
        for run in &runs {
            statements.extend(verify(target, &Expected::default(), &run.days));
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

/// `CREATE DATABASE` and the three tables, each idempotent (`IF NOT EXISTS`).
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
        // Each line whole: `rest` is what follows a \x01 (the text SerDe's
        // field separator, which no JSON line holds unescaped), so a line
        // with one is seen whole enough to be refused.
        format!(
            "CREATE EXTERNAL TABLE IF NOT EXISTS {database}.{} (\n  {} string,\n  {} string\n)\n\
             ROW FORMAT DELIMITED FIELDS TERMINATED BY '\\001'\n\
             STORED AS TEXTFILE\n\
             LOCATION {}",
            ddl_identifier(&target.lines_table),
            ddl_identifier("line"),
            ddl_identifier("rest"),
            literal(&target.raw_location),
        ),
    ]
}

mod verify;
pub use verify::{Expected, verify};

#[cfg(test)]
mod tests;
