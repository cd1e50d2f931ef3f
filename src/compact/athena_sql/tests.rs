//! The statements checked as text: escaping, lengths, splits, the DDL.

use super::*;

fn target() -> Target {
    Target {
        database: "iotpipe".into(),
        raw_table: "raw_readings".into(),
        lines_table: "raw_readings_lines".into(),
        table: "readings".into(),
        raw_location: "s3://my-bucket/raw/".into(),
        compacted_location: "s3://my-bucket/compacted/".into(),
    }
}

fn uri(key: &str) -> String {
    format!("s3://my-bucket/{key}")
}

#[test]
fn an_object_of_more_days_than_an_insert_may_write_is_split_by_day() {
    let days = |from: usize, n: usize| -> BTreeSet<String> {
        (from..from + n)
            .map(|d| format!("2026-day-{d:04}"))
            .collect()
    };
    let backfill = uri("raw/2026/01/01/00/backfill.jsonl");
    let small = uri("raw/2026/01/01/00/small.jsonl");
    let runs = inserts(&[
        (backfill.clone(), days(0, 120)),
        (small.clone(), days(500, 3)),
    ]);
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!(runs[0].uris, std::slice::from_ref(&backfill));
    assert_eq!(runs[0].days, days(0, 100));
    assert_eq!(runs[1].uris, [backfill.clone(), small]);
    assert_eq!(runs[1].days.len(), 23);
    // Every statement, the verifications included, fits Athena's limit.
    let target = target();
    let many: Vec<String> = (0..4000)
        .map(|i| {
            uri(&format!(
                "raw/2026/01/01/00/stream-1-2026-01-01-00-00-00-{i:08}"
            ))
        })
        .collect();
    for chunk in chunks(&target, "b1", &many).unwrap() {
        let objects: Vec<(String, BTreeSet<String>)> =
            chunk.iter().map(|u| (u.clone(), days(0, 150))).collect();
        assert!(survey(&target, &chunk).len() <= MAX_QUERY_BYTES);
        for run in inserts(&objects) {
            assert!(run.days.len() <= MAX_PARTITIONS);
            // A run whose readings reach across many more days than it writes.
            let look_in: BTreeSet<String> = days(0, MAX_LOOK_IN + 200);
            let sql = insert(&target, "b1", &run.uris, &run.days, &look_in);
            assert!(sql.len() <= MAX_QUERY_BYTES, "{} bytes", sql.len());
        }
    }
    // A verification of readings in many separate ranges (every other seq of
    // 5,000 runs) is split into statements under the limit, covering each once.
    let mut expected = Expected::default();
    for run in 0..5_000u64 {
        for seq in (0..20).step_by(2) {
            expected.add("dev", &format!("run-{run:08}"), seq, seq);
        }
    }
    let look_in = days(0, MAX_LOOK_IN + 200);
    let statements = verify(&target, &expected, &look_in);
    assert!(statements.len() > 1, "{} statements", statements.len());
    let mut covered = 0;
    for sql in &statements {
        assert!(sql.len() <= MAX_QUERY_BYTES, "{} bytes", sql.len());
        covered += sql.matches("BETWEEN").count() - 1;
    }
    assert_eq!(covered as u64, expected.readings());
}

#[test]
fn result_timestamps_read_as_utc() {
    for (text, read) in [
        ("2026-03-01 23:30:00.000", "2026-03-01T23:30:00.000Z"),
        ("2026-03-01 23:30:00", "2026-03-01T23:30:00.000Z"),
        ("2026-03-01 23:30:00.123000", "2026-03-01T23:30:00.123Z"),
    ] {
        assert_eq!(result_timestamp(text).as_deref(), Some(read), "{text}");
    }
    assert_eq!(result_timestamp("yesterday"), None);
}

#[test]
fn the_projected_days_are_the_days_a_reading_may_have() {
    assert_eq!(
        PROJECTED_DAYS,
        format!(
            "{},NOW+{}DAYS",
            crate::payload::EARLIEST_DAY,
            crate::payload::DAYS_AHEAD
        )
    );
}

#[test]
fn keys_are_escaped_as_literals() {
    let keys = vec!["raw/2026/01/01/00/it's a key.jsonl.gz".to_string()];
    let sql = planned_statements(&target(), "b'1", &keys, uri).unwrap();
    assert_eq!(sql.len(), 3, "survey, insert, verify: {sql:?}");
    // The verification reads the table alone, for the survey's readings.
    for statement in &sql[..2] {
        assert!(
            statement.contains(
                "WHERE \"$path\" IN ('s3://my-bucket/raw/2026/01/01/00/it''s a key.jsonl.gz')"
            ),
            "{statement}"
        );
    }
    assert!(
        sql[0].starts_with("SELECT \"object\", \"dt\", \"device_id\", \"run_id\""),
        "{}",
        sql[0]
    );
    assert!(
        sql[0].contains("FROM \"iotpipe\".\"raw_readings_lines\""),
        "the survey reads lines: {}",
        sql[0]
    );
    assert!(
        sql[1].starts_with("INSERT INTO \"iotpipe\".\"readings\"\nSELECT \"v\", \"device_id\""),
        "{}",
        sql[1]
    );
    assert!(sql[1].contains("FROM \"iotpipe\".\"raw_readings\""));
    assert!(sql[1].contains("'b''1' AS \"batch\""), "{}", sql[1]);
    assert!(
        sql[1].contains("WHERE \"kept\".\"dt\" IN ('2025-12-31', '2026-01-01')"),
        "the key's day and the day before: {}",
        sql[1]
    );
    assert!(
        sql[2].starts_with("SELECT count(*) AS \"found\"") && !sql[2].contains("raw_readings"),
        "{}",
        sql[2]
    );
    assert_eq!(identifier("we\"ird"), "\"we\"\"ird\"");
    let bad = vec!["raw/2026/01/01/00/a\nb".to_string()];
    assert!(matches!(
        planned_statements(&target(), "b", &bad, uri),
        Err(SqlError::ControlCharacter(_))
    ));
}

#[test]
fn long_key_lists_are_split_below_the_query_limit_covering_each_key_once() {
    let keys: Vec<String> = (0..5000)
        .map(|i| format!("raw/2026/01/01/00/iotpipe-sink-1-2026-01-01-00-00-00-{i:036}.jsonl.gz"))
        .collect();
    let sql = planned_statements(&target(), "b", &keys, uri).unwrap();
    let surveys: Vec<&String> = sql
        .iter()
        .filter(|s| s.starts_with("SELECT \"object\""))
        .collect();
    let inserts: Vec<&String> = sql.iter().filter(|s| s.starts_with("INSERT")).collect();
    assert!(surveys.len() > 1, "5000 keys do not fit one query");
    for statement in &sql {
        assert!(
            statement.len() <= MAX_QUERY_BYTES,
            "{} bytes",
            statement.len()
        );
    }
    for group in [&surveys, &inserts] {
        let seen: usize = group
            .iter()
            .map(|s| s.matches("'s3://my-bucket/").count())
            .sum();
        assert_eq!(seen, keys.len());
    }
    for key in keys.iter().step_by(97) {
        let found = inserts
            .iter()
            .filter(|s| s.contains(&format!("/{key}'")))
            .count();
        assert_eq!(found, 1, "{key}");
    }
}

#[test]
fn at_most_100_partitions_per_insert() {
    let objects: Vec<(String, BTreeSet<String>)> = (0..250)
        .map(|d| {
            let day = time::Date::from_ordinal_date(2026, d + 1).unwrap();
            (format!("s3://b/raw/{d}"), BTreeSet::from([day.to_string()]))
        })
        .collect();
    let runs = inserts(&objects);
    let sizes: Vec<usize> = runs.iter().map(|r| r.uris.len()).collect();
    assert_eq!(sizes, [100, 100, 50]);
    assert!(runs.iter().all(|r| r.days.len() <= MAX_PARTITIONS));
    let all: Vec<&String> = runs.iter().flat_map(|r| &r.uris).collect();
    assert_eq!(all, objects.iter().map(|(u, _)| u).collect::<Vec<_>>());
    // An object holding several days counts each.
    let wide = vec![
        (
            "a".to_string(),
            (0..60).map(|i| format!("d{i:03}")).collect(),
        ),
        (
            "b".to_string(),
            (30..90).map(|i| format!("d{i:03}")).collect(),
        ),
        (
            "c".to_string(),
            (90..140).map(|i| format!("d{i:03}")).collect(),
        ),
    ];
    let runs = inserts(&wide);
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].days.len(), 90);
}

#[test]
fn a_key_too_long_for_any_query_is_an_error() {
    let key = format!("raw/2026/01/01/00/{}", "k".repeat(MAX_QUERY_BYTES));
    assert!(matches!(
        planned_statements(&target(), "b", &[key], uri),
        Err(SqlError::KeyTooLong(_))
    ));
}

#[test]
fn ddl_creates_the_database_and_both_tables_once() {
    let ddl = ddl(&target());
    assert_eq!(ddl[0], "CREATE DATABASE IF NOT EXISTS `iotpipe`");
    assert!(ddl[1].starts_with("CREATE EXTERNAL TABLE IF NOT EXISTS `iotpipe`.`raw_readings`"));
    assert!(ddl[1].contains("`ts` string") && ddl[1].contains("LOCATION 's3://my-bucket/raw/'"));
    assert!(ddl[2].contains("`ts` timestamp"), "{}", ddl[2]);
    assert!(ddl[2].contains("`batch` string\n)"), "{}", ddl[2]);
    assert!(ddl[2].contains("PARTITIONED BY (`dt` string)"));
    assert!(
        ddl[2].contains("'projection.dt.type' = 'date'"),
        "{}",
        ddl[2]
    );
    assert!(ddl[2].contains("LOCATION 's3://my-bucket/compacted/'"));
    for name in measurement_names() {
        assert!(ddl[1].contains(&format!("`{name}` double")), "{name}");
        assert!(ddl[2].contains(&format!("`{name}` double")), "{name}");
    }
}
