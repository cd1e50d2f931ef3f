//! One reading, one row, whatever the engine, the day or the SerDe: copies of
//! a reading that disagree, and values of the wrong type, compacted by the
//! Athena engine on the stand-in and by the local engine, with the same rows.

use std::path::Path;

use iotpipe::counter::BatchState;
use iotpipe::store::Store;
use iotpipe::store::s3::S3Store;

use super::aws::{
    batches, compact_locally, download_compacted, keys_under, land, lines,
    second_pass_changes_nothing,
};
use crate::common::{Cloud, duckdb, temp_dir};

fn reading(seq: u64, ts: &str, temperature: f64) -> String {
    format!(
        r#"{{"v":1,"device_id":"dev","run_id":"run","seq":{seq},"ts":"{ts}","temperature_c":{temperature:?}}}"#
    )
}

/// Every row of the compacted files under `compacted`: seq, UTC time, day, temperature.
fn rows(compacted: &Path) -> Vec<(i64, String, String, f64)> {
    let mut rows: Vec<(i64, String, String, f64)> = duckdb(&format!(
        "SET TimeZone = 'UTC'; SELECT seq, strftime(CAST(ts AS TIMESTAMP), '%Y-%m-%d %H:%M') AS ts, \
         CAST(dt AS VARCHAR) AS dt, temperature_c FROM read_parquet('{}/**/*.parquet', hive_partitioning = true)",
        compacted.display()
    ))
    .iter()
    .map(|r| {
        (
            r["seq"].as_i64().unwrap(),
            r["ts"].as_str().unwrap().to_string(),
            r["dt"].as_str().unwrap().to_string(),
            r["temperature_c"].as_f64().unwrap(),
        )
    })
    .collect();
    rows.sort_by(|a, b| a.partial_cmp(b).unwrap());
    rows
}

/// Batches landed one after another: each compacted before the next lands.
fn stages() -> Vec<Vec<(String, Vec<u8>)>> {
    let object = |key: &str, readings: &[String]| (format!("raw/{key}"), lines(readings));
    vec![
        vec![
            object(
                "2026/03/01/10/a.jsonl",
                &[
                    reading(1, "2026-03-01T10:00:00.000Z", 10.0),
                    reading(2, "2026-03-01T10:01:00.000Z", 10.0),
                ],
            ),
            // seq 1 again, another day and value: object a's copy is kept.
            object(
                "2026/03/01/10/b.jsonl",
                &[
                    reading(1, "2026-03-02T09:00:00.000Z", 11.0),
                    reading(3, "2026-03-01T10:02:00.000Z", 10.0),
                ],
            ),
            // seq 4 twice in one object, on two days: its first line is kept.
            object(
                "2026/03/01/10/c.jsonl",
                &[
                    reading(4, "2026-03-01T11:00:00.000Z", 12.0),
                    reading(4, "2026-03-03T11:00:00.000Z", 13.0),
                    reading(5, "2026-03-01T11:01:00.000Z", 10.0),
                ],
            ),
        ],
        // seq 1 once more, on a day the table has no row of it yet.
        vec![object(
            "2026/03/04/10/d.jsonl",
            &[
                reading(1, "2026-03-04T10:00:00.000Z", 14.0),
                reading(6, "2026-03-04T10:01:00.000Z", 10.0),
            ],
        )],
        // seq 6 again, written by the other engine two days before.
        vec![object(
            "2026/03/06/10/e.jsonl",
            &[
                reading(6, "2026-03-06T10:00:00.000Z", 15.0),
                reading(7, "2026-03-06T10:01:00.000Z", 10.0),
            ],
        )],
    ]
}

fn expected() -> Vec<(i64, String, String, f64)> {
    let row = |seq: i64, ts: &str, temperature: f64| {
        (seq, ts.to_string(), ts[..10].to_string(), temperature)
    };
    vec![
        row(1, "2026-03-01 10:00", 10.0),
        row(2, "2026-03-01 10:01", 10.0),
        row(3, "2026-03-01 10:02", 10.0),
        row(4, "2026-03-01 11:00", 12.0),
        row(5, "2026-03-01 11:01", 10.0),
        row(6, "2026-03-04 10:01", 10.0),
        row(7, "2026-03-06 10:01", 10.0),
    ]
}

/// The same key with another day or value is the same reading: the table
/// keeps one row for it whatever its day, the copy already there or the one
/// in the first object by key, and the engines choose alike. Before, the
/// Athena engine's verification counted per key and day and failed the batch
/// forever, and both engines kept a copy of seq 1 on 2026-03-04.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflicting_copies_of_a_reading_are_kept_once_whatever_their_day_or_engine() {
    let cloud = Cloud::start();
    let dir = temp_dir();
    // Athena, then the local engine on the same bucket, then Athena again.
    for (stage, engine) in stages().iter().zip(["athena", "local", "athena"]) {
        land(&cloud, dir.path(), stage).await;
        let run = cloud
            .cli(dir.path())
            .args(["compact", "--engine", engine, "--all", "-o", "jsonl"])
            .run()
            .success();
        assert_eq!(run.json_lines().len(), 1, "{}", run.stderr());
    }
    assert!(
        batches(&cloud.moto)
            .await
            .iter()
            .all(|b| b.state == BatchState::Compacted)
    );
    let athena = temp_dir();
    download_compacted(&cloud, athena.path()).await;
    assert_eq!(rows(&athena.path().join("compacted")), expected());
    // What a user's SELECT through Athena sees: each reading once.
    let seen = cloud
        .select("SELECT seq, count(*) FROM iotpipe.readings GROUP BY seq ORDER BY seq")
        .await;
    let counts: Vec<(String, String)> = seen[1..]
        .iter()
        .map(|r| (r[0].clone().unwrap(), r[1].clone().unwrap()))
        .collect();
    let once: Vec<(String, String)> = (1..=7).map(|s| (s.to_string(), "1".into())).collect();
    assert_eq!(counts, once);
    second_pass_changes_nothing(&cloud, dir.path());

    // The local engine alone, batch by batch: the same rows.
    let local = temp_dir();
    for stage in stages() {
        compact_locally(local.path(), &stage).success();
    }
    assert_eq!(rows(&local.path().join("data/compacted")), expected());
}

/// A value of the wrong type is set aside by both engines, whether the JSON
/// SerDe fails on it (OpenX) or reads it as NULL: the Athena engine judges
/// each line's JSON, not what a SerDe made of it. Before, a SerDe reading
/// `"hot"` as NULL stored the reading without its temperature, and a
/// number sent as a string (`"45.5"`, `"seq": "5"`) or an unknown field was
/// stored by Athena while the local engine set it aside.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_of_the_wrong_type_is_set_aside_whatever_the_serde_reads() {
    let good = reading(1, "2026-03-01T10:00:00.000Z", 10.0);
    let wrong = [
        r#"{"v":1,"device_id":"dev","run_id":"run","seq":2,"ts":"2026-03-01T10:01:00.000Z","temperature_c":"hot"}"#,
        r#"{"v":1,"device_id":"dev","run_id":"run","seq":3,"ts":"2026-03-01T10:02:00.000Z","humidity_pct":"45.5"}"#,
        r#"{"v":1,"device_id":"dev","run_id":"run","seq":"4","ts":"2026-03-01T10:03:00.000Z"}"#,
        r#"{"v":1,"device_id":"dev","run_id":"run","seq":5,"ts":"2026-03-01T10:04:00.000Z","Temperature_C":5}"#,
    ];
    let mut object: Vec<String> = vec![good.clone()];
    object.extend(wrong.iter().map(|l| l.to_string()));
    let objects = vec![
        ("raw/2026/03/01/10/a.jsonl".to_string(), lines(&[good])),
        (
            "raw/2026/03/01/10/b.jsonl".to_string(),
            lines(&[reading(6, "2026-03-01T10:05:00.000Z", 10.0)]),
        ),
        ("raw/2026/03/01/10/c.jsonl".to_string(), lines(&object)),
    ];
    for mismatch in ["fail", "null"] {
        let cloud = Cloud::start();
        cloud.serde_mismatch(mismatch);
        let dir = temp_dir();
        land(&cloud, dir.path(), &objects).await;
        let run = cloud
            .cli(dir.path())
            .args(["compact", "--engine", "athena", "--all", "-o", "jsonl"])
            .run()
            .expect_code(3);
        assert!(
            run.stderr().contains("4 rows set aside"),
            "{mismatch}: {}",
            run.stderr()
        );
        let seen = cloud
            .select("SELECT seq, temperature_c FROM iotpipe.readings ORDER BY seq")
            .await;
        let stored: Vec<Vec<Option<String>>> = seen[1..].to_vec();
        assert_eq!(
            stored,
            [
                vec![Some("1".to_string()), Some("10.0".to_string())],
                vec![Some("6".to_string()), Some("10.0".to_string())]
            ],
            "{mismatch}"
        );
        let store = S3Store::new(iotpipe::aws::s3(&cloud.sdk().await), "pipe");
        let mut kept: Vec<String> = Vec::new();
        for key in keys_under(&store, "rejected/compaction/").await {
            let body = String::from_utf8(store.get(&key).await.unwrap()).unwrap();
            for entry in body.lines() {
                let entry: serde_json::Value = serde_json::from_str(entry).unwrap();
                kept.push(entry["payload"].as_str().unwrap().to_string());
            }
        }
        kept.sort();
        let mut wrong: Vec<String> = wrong.iter().map(|l| l.to_string()).collect();
        wrong.sort();
        assert_eq!(kept, wrong, "{mismatch}: each set aside as it was sent");
        assert!(store.list("raw/").await.unwrap().is_empty());
    }
}

/// The survey's judgement of a line (Trino's JSON functions over the lines
/// table) never lets through a line the local engine's parser refuses: each
/// line alone in an object, compacted through Athena, ends up stored exactly
/// when iotpipe's own parser stores it, and set aside otherwise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_survey_stores_exactly_the_lines_the_local_parser_stores() {
    let line = |seq: &str, rest: &str| {
        format!(
            r#"{{"v":1,"device_id":"dev","run_id":"run","seq":{seq},"ts":"2026-03-01T10:00:00.000Z"{rest}}}"#
        )
    };
    let long_id = "é".repeat(65);
    // (line, stored)
    let cases: Vec<(String, bool)> = vec![
        (line("1", ""), true),
        (line("2", "").replace(r#""v":1"#, r#""v":1.0"#), false),
        (line("1.5", ""), false),
        (line("-1", ""), false),
        (line("5", "").replace(".000Z", ""), false),
        (line("6", "").replace(r#""dev""#, &format!("\"{long_id}\"")), false),
        (line("7", "").replace(r#""dev""#, r#""de\u0007v""#), false),
        (line("8", r#","temperature_c":null"#), true),
        (line("9", r#","temperature_c":1e1"#), true),
        (line("10", r#","temperature_c":true"#), false),
        ("{}".into(), false),
        ("[1]".into(), false),
        (format!("{}{}", line("130", ""), line("131", "")), true),
        (line("14", "").replace("\"run\"", "\"r\u{1}un\""), false),
        (line("16", "").replace(r#""2026-03-01T10:00:00.000Z""#, "1772359200"), false),
        (line("17", "").replace(r#""dev""#, "5"), false),
        (line("18", r#","humidity_pct":"45.5""#), false),
        (
            r#"{ "v" : 1 , "device_id" : "dev" , "run_id" : "run" , "seq" : 19 , "ts" : "2026-03-01T10:00:00.000Z" }"#.into(),
            true,
        ),
        (line("20", r#","pitch_deg":200"#), false),
    ];
    let cloud = Cloud::start();
    let dir = temp_dir();
    // Lines the OpenX SerDe cannot read at all fail a whole query, and each
    // object is then checked by iotpipe itself: they get a batch of their own.
    let breaks_openx = |text: &str| {
        text.starts_with('[')
            || text.contains("}{")
            || text.contains('\u{1}')
            || text.contains("true")
    };
    for breaking in [false, true] {
        let objects: Vec<(String, Vec<u8>)> = cases
            .iter()
            .enumerate()
            .filter(|(_, (text, _))| breaks_openx(text) == breaking)
            .map(|(i, (text, _))| {
                (
                    format!("raw/2026/03/01/10/{i:02}.jsonl"),
                    lines(std::slice::from_ref(text)),
                )
            })
            .collect();
        land(&cloud, dir.path(), &objects).await;
        cloud
            .cli(dir.path())
            .args(["compact", "--engine", "athena", "--all", "-o", "jsonl"])
            .run()
            .expect_code(3);
    }
    let seen = cloud
        .select("SELECT seq FROM iotpipe.readings ORDER BY seq")
        .await;
    let stored: Vec<String> = seen[1..].iter().map(|r| r[0].clone().unwrap()).collect();
    assert_eq!(stored, ["1", "8", "9", "19", "130", "131"]);
    // Every other line set aside, as it was sent.
    let store = S3Store::new(iotpipe::aws::s3(&cloud.sdk().await), "pipe");
    let mut kept = 0;
    for key in keys_under(&store, "rejected/compaction/").await {
        kept += String::from_utf8(store.get(&key).await.unwrap())
            .unwrap()
            .lines()
            .count();
    }
    assert_eq!(kept, cases.iter().filter(|(_, stored)| !stored).count());
    assert!(store.list("raw/").await.unwrap().is_empty());
}

/// The verification reads the table's key columns alone, for the exact
/// readings the survey found, not the raw objects a third time: a file lost
/// between the INSERT and it is still caught, nothing is marked or deleted,
/// and the retry writes the readings again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_verification_finds_readings_lost_after_the_insert() {
    let cloud = Cloud::start();
    let dir = temp_dir();
    let readings: Vec<String> = (0..50)
        .filter(|seq| seq % 10 != 7) // gaps: several ranges to look for
        .map(|seq| reading(seq, &format!("2026-03-01T10:{:02}:00.000Z", seq % 60), 10.0))
        .collect();
    land(
        &cloud,
        dir.path(),
        &[("raw/2026/03/01/10/a.jsonl".to_string(), lines(&readings))],
    )
    .await;
    cloud.hold_queries(1, Some("AS \"found\""));
    let mut compact = cloud
        .cli(dir.path())
        .args(["--verbose", "compact", "--engine", "athena", "--all"])
        .start();
    compact.wait_for_stderr("the verification held", |_| {
        cloud
            .queries()
            .iter()
            .any(|q| q.sql.contains("AS \"found\"") && q.state == "RUNNING")
    });
    let verification = cloud.queries().pop().unwrap();
    assert!(
        !verification.sql.contains("raw_readings"),
        "{}",
        verification.sql
    );
    let store = S3Store::new(iotpipe::aws::s3(&cloud.sdk().await), "pipe");
    let written = keys_under(&store, "compacted/").await;
    assert_eq!(written.len(), 1, "{written:?}");
    store.delete(&written[0]).await.unwrap();
    cloud.release_queries();
    let (code, stderr) = compact.wait();
    assert_ne!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("45 of the 45 readings"),
        "every reading missing: {stderr}"
    );
    assert_eq!(batches(&cloud.moto).await[0].state, BatchState::Failed);
    assert_eq!(
        store.list("raw/").await.unwrap().len(),
        1,
        "nothing deleted"
    );
    // The retry writes them again, and is verified.
    cloud
        .cli(dir.path())
        .args(["compact", "--engine", "athena", "--all"])
        .run()
        .success();
    let seen = cloud
        .select("SELECT count(*), count(DISTINCT seq) FROM iotpipe.readings")
        .await;
    assert_eq!(seen[1], [Some("45".to_string()), Some("45".to_string())]);
    assert!(store.list("raw/").await.unwrap().is_empty());
}
