//! The AWS backends against a real moto server: the DynamoDB counter passes the
//! same behaviour suite as the SQLite one, the S3 store lists past 1,000 keys
//! and uploads in parts, and both compaction engines follow the protocol.

use std::path::Path;
use std::sync::Arc;

use iotpipe::compact::athena_sql::literal;
use iotpipe::counter::dynamodb::DynamoCounter;
use iotpipe::counter::suite;
use iotpipe::counter::{Batch, BatchState, Counter, Recorded};
use iotpipe::store::s3::S3Store;
use iotpipe::store::{Store, StoreError};

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::json;

use crate::common::{
    Cloud, Iotpipe, Service, duckdb, http_body, http_get, http_post, iotpipe, iotpipe_on_aws, moto,
    python, s3_table_rows, sdk, temp_dir,
};

async fn counter_opener(moto: &Service, table: &str) -> suite::Open {
    let client = iotpipe::aws::dynamodb(&sdk(moto).await);
    let counter = DynamoCounter::new(client.clone(), table);
    assert!(counter.create_table().await.unwrap(), "table created");
    assert!(
        !counter.create_table().await.unwrap(),
        "creating it again is a no-op"
    );
    let table = table.to_string();
    Arc::new(move || {
        Box::new(DynamoCounter::new(client.clone(), table.clone())) as Box<dyn Counter>
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamodb_counter_records_exactly_once_and_claims_in_order() {
    let moto = moto();
    suite::records_exactly_once_and_claims_in_order(counter_opener(&moto, "counter-a").await).await;
    suite::keys_that_are_not_objects_are_never_recorded(counter_opener(&moto, "counter-a2").await)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamodb_counter_claims_batches_larger_than_a_transaction() {
    let moto = moto();
    // Threshold 100 (what the original system used): two batches of 210 objects.
    suite::claims_of_any_size(counter_opener(&moto, "counter-large").await, 100, 210).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn dynamodb_counter_concurrent_records_and_claims_never_overlap() {
    let moto = moto();
    // 200 calls, not the 1,000 of the SQLite run: moto deep-copies the whole
    // table in every TransactWriteItems, so the full run takes minutes there.
    suite::concurrent_records_and_claims_never_overlap(
        counter_opener(&moto, "counter-b").await,
        200,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s3_store_lists_past_a_thousand_keys_and_deletes_in_batches() {
    let moto = moto();
    let client = iotpipe::aws::s3(&sdk(&moto).await);
    client
        .create_bucket()
        .bucket("landing")
        .send()
        .await
        .unwrap();
    let store = S3Store::new(client, "landing");
    let keys: Vec<String> = (0..1205)
        .map(|i| format!("raw/2026/01/01/00/o-{i:05}.jsonl"))
        .collect();
    for key in &keys {
        store.put(key, b"{}\n").await.unwrap();
    }
    store.put("rejected/x.jsonl", b"bad\n").await.unwrap();
    let listed = store.list("raw/").await.unwrap();
    assert_eq!(listed.len(), 1205, "paginated past 1,000");
    assert_eq!(listed[0].size, 3);
    assert_eq!(store.get("rejected/x.jsonl").await.unwrap(), b"bad\n");
    assert!(matches!(
        store.get("raw/missing").await,
        Err(StoreError::NotFound { .. })
    ));
    store.delete_many(&keys).await.unwrap();
    assert!(store.list("raw/").await.unwrap().is_empty());

    // Above twice the part size, puts go in parts.
    let store = store.with_part_size(5 * 1024 * 1024);
    let big: Vec<u8> = (0..11 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    store.put("compacted/big.parquet", &big).await.unwrap();
    assert_eq!(store.get("compacted/big.parquet").await.unwrap(), big);
    let head = iotpipe::aws::s3(&sdk(&moto).await)
        .head_object()
        .bucket("landing")
        .key("compacted/big.parquet")
        .send()
        .await
        .unwrap();
    assert!(
        head.e_tag().unwrap_or_default().ends_with("-3\""),
        "three parts: {:?}",
        head.e_tag()
    );
    store.delete("compacted/big.parquet").await.unwrap();
    store.delete("rejected/x.jsonl").await.unwrap();
    assert!(store.list("").await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compact_with_the_local_engine_against_s3_and_dynamodb() {
    let moto = moto();
    let client = iotpipe::aws::s3(&sdk(&moto).await);
    client.create_bucket().bucket("pipe").send().await.unwrap();
    let store = S3Store::new(client, "pipe");
    let dir = temp_dir();
    let readings = iotpipe(dir.path())
        .args(["sense", "--sim", "--count", "500", "-o", "jsonl"])
        // A fixed start: 500 s of readings begun near midnight split a batch into two days.
        .args(["--start", "2026-03-01T00:00:00Z"])
        .run()
        .success()
        .stdout();
    let lines: Vec<&str> = readings.lines().collect();
    for (i, chunk) in lines.chunks(20).enumerate() {
        let key = format!("raw/2026/03/01/00/stream-1-2026-03-01-00-00-{i:02}-{i:08}.jsonl");
        store
            .put(&key, (chunk.join("\n") + "\n").as_bytes())
            .await
            .unwrap();
    }
    let aws = |args: &[&str]| aws_cli(dir.path(), &moto, args).run();
    let init = aws(&["counters", "--init"]).success();
    assert!(
        init.stderr()
            .contains("dynamodb table pipe-counter created"),
        "{}",
        init.stderr()
    );
    // The objects landed behind the counter's back: reconcile finds and records them.
    let fixed = aws(&["counters", "--reconcile", "--fix", "-o", "json"]).success();
    let drift: serde_json::Value = serde_json::from_str(&fixed.stdout()).unwrap();
    assert_eq!(drift["fixed"], 25, "{drift}");
    let run = aws(&["compact", "--all", "-o", "jsonl"]).success();
    assert_eq!(
        run.json_lines().len(),
        2,
        "a batch of 20 and the remaining 5: {}",
        run.stderr()
    );

    assert!(
        store.list("raw/").await.unwrap().is_empty(),
        "raw objects deleted after compaction"
    );
    let compacted: Vec<_> = store
        .list("compacted/")
        .await
        .unwrap()
        .into_iter()
        .filter(|o| o.key.ends_with(".parquet"))
        .collect();
    assert_eq!(compacted.len(), 2);
    let local = dir.path().join("from-s3");
    std::fs::create_dir_all(&local).unwrap();
    for (i, object) in compacted.iter().enumerate() {
        assert!(object.key.starts_with("compacted/dt="), "{}", object.key);
        std::fs::write(
            local.join(format!("{i}.parquet")),
            store.get(&object.key).await.unwrap(),
        )
        .unwrap();
    }
    let rows = duckdb(&format!(
        "SELECT count(*) AS n, count(DISTINCT seq) AS d, min(seq) AS lo, max(seq) AS hi FROM read_parquet('{}/*.parquet')",
        local.display()
    ));
    assert_eq!(
        (rows[0]["n"].as_i64(), rows[0]["d"].as_i64()),
        (Some(500), Some(500))
    );
    assert_eq!(
        (rows[0]["lo"].as_i64(), rows[0]["hi"].as_i64()),
        (Some(0), Some(499))
    );
    let summary: serde_json::Value =
        serde_json::from_str(&aws(&["counters", "-o", "json"]).success().stdout()).unwrap();
    assert_eq!(
        (summary["pending"].as_u64(), summary["compacted"].as_u64()),
        (Some(0), Some(2))
    );
}

/// iotpipe with `backend = "aws"` on moto, running `args`.
fn aws_cli(dir: &Path, moto: &Service, args: &[&str]) -> Iotpipe {
    iotpipe_on_aws(dir, moto).args(args)
}

fn object_names(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("2026/03/01/00/stream-1-2026-03-01-00-00-00-{i:08}.jsonl"))
        .collect()
}

pub(crate) async fn batches(moto: &Service) -> Vec<Batch> {
    let counter = DynamoCounter::new(iotpipe::aws::dynamodb(&sdk(moto).await), "pipe-counter");
    let mut batches = counter.batches().await.unwrap();
    batches.reverse();
    batches
}

/// The keys under `prefix`, sorted, but for hidden ones (the key ranges and
/// run index beside the compacted files).
pub(crate) async fn keys_under(store: &S3Store, prefix: &str) -> Vec<String> {
    store
        .list(prefix)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .filter(|key| !key.split('/').any(|part| part.starts_with('.')))
        .collect()
}

/// The `$path` literals of a compaction query.
fn paths_in(query: &str) -> Vec<&str> {
    query.matches("'s3://pipe/").collect()
}

/// The compacted table in bucket `pipe` under `prefix`, read back by DuckDB.
async fn table_rows(cloud: &Cloud, prefix: &str) -> (usize, BTreeSet<(String, String, i64)>) {
    let store = S3Store::new(iotpipe::aws::s3(&cloud.sdk().await), "pipe");
    s3_table_rows(&store, prefix).await
}

/// `n` readings of device `dev`, run `run`, seq from `first`, one a minute from `day`.
fn readings(first: u64, n: u64, day: time::Date) -> Vec<String> {
    (first..first + n)
        .map(|seq| {
            let at = day.midnight().assume_utc() + time::Duration::minutes(seq as i64 % 1440);
            serde_json::json!({
                "v": 1, "device_id": "dev", "run_id": "run", "seq": seq,
                "ts": iotpipe::payload::format_ts(at), "temperature_c": 20.5,
            })
            .to_string()
        })
        .collect()
}

/// Puts `objects` (key under `raw/`, lines) in bucket `pipe` and counts them.
pub(crate) async fn land(cloud: &Cloud, dir: &Path, objects: &[(String, Vec<u8>)]) {
    let s3 = iotpipe::aws::s3(&cloud.sdk().await);
    let _ = s3.create_bucket().bucket("pipe").send().await;
    for (key, body) in objects {
        s3.put_object()
            .bucket("pipe")
            .key(key)
            .body(body.clone().into())
            .send()
            .await
            .unwrap();
    }
    cloud.cli(dir).args(["counters", "--init"]).run().success();
    cloud.cli(dir).args(["compact", "--init"]).run().success();
    let fixed = cloud
        .cli(dir)
        .args(["counters", "--reconcile", "--fix", "-o", "json"])
        .run()
        .success();
    let drift: serde_json::Value = serde_json::from_str(&fixed.stdout()).unwrap();
    assert_eq!(drift["fixed"], objects.len(), "{drift}");
}

/// `n` objects under `raw/2026/03/01/00/`, each of `per` readings of 2026-03-01,
/// seq numbers running on from object to object.
fn numbered_objects(n: usize, per: u64) -> Vec<(String, Vec<u8>)> {
    let day = time::macros::date!(2026 - 03 - 01);
    object_names(n)
        .iter()
        .enumerate()
        .map(|(i, name)| {
            (
                format!("raw/{name}"),
                lines(&readings(i as u64 * per, per, day)),
            )
        })
        .collect()
}

/// Another `compact --engine athena --all` finds nothing to do.
pub(crate) fn second_pass_changes_nothing(cloud: &Cloud, dir: &Path) {
    let again = cloud
        .cli(dir)
        .args(["compact", "--engine", "athena", "--all", "-o", "jsonl"])
        .run()
        .success();
    assert!(again.json_lines().is_empty(), "{}", again.stdout());
}

/// Puts `objects` under `root/data`, counts them and compacts them with the
/// local engine.
pub(crate) fn compact_locally(root: &Path, objects: &[(String, Vec<u8>)]) -> crate::common::Run {
    for (key, body) in objects {
        let path = root.join("data").join(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }
    iotpipe(root)
        .args(["counters", "--data-dir", "data", "--reconcile", "--fix"])
        .run()
        .success();
    iotpipe(root)
        .args(["compact", "--data-dir", "data", "--all"])
        .run()
}

pub(crate) fn lines(lines: &[String]) -> Vec<u8> {
    (lines.join("\n") + "\n").into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn athena_compaction_queries_exactly_each_batch_and_deletes_after_success() {
    let cloud = Cloud::start();
    let dir = temp_dir();
    std::fs::write(
        dir.path().join("iotpipe.toml"),
        "[aws]\nraw_prefix = \"landing/raw\"\ncompacted_prefix = \"landing/parquet/\"\n",
    )
    .unwrap();
    let mut names = object_names(44);
    names.push("2026/03/01/00/it's a key.jsonl".into());
    let day = time::macros::date!(2026 - 03 - 01);
    let objects: Vec<(String, Vec<u8>)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            (
                format!("landing/raw/{n}"),
                lines(&readings(i as u64 * 3, 3, day)),
            )
        })
        .collect();

    let init = cloud
        .cli(dir.path())
        .args(["compact", "--init", "--dry-run", "-o", "table"])
        .run()
        .success()
        .stdout();
    assert!(
        init.contains("CREATE DATABASE IF NOT EXISTS `iotpipe`;"),
        "{init}"
    );
    assert!(init.contains("LOCATION 's3://pipe/landing/raw/'"), "{init}");
    assert!(
        init.contains("LOCATION 's3://pipe/landing/parquet/'"),
        "{init}"
    );
    land(&cloud, dir.path(), &objects).await;
    let mut keys: Vec<String> = names.iter().map(|n| format!("raw/{n}")).collect();
    keys.sort();
    let ddl = cloud.queries();
    assert_eq!(ddl.len(), 4, "database and three tables: {ddl:?}");
    assert!(ddl.iter().all(|q| q.state == "SUCCEEDED"), "{ddl:?}");

    // The dry run shows the SQL of the batches the real run will claim.
    let plan = cloud
        .cli(dir.path())
        .args(["compact", "--engine", "athena", "--dry-run", "-o", "json"])
        .run()
        .success()
        .stdout();
    let plan: Vec<serde_json::Value> = serde_json::from_str(&plan).unwrap();
    assert_eq!(plan.len(), 2, "45 objects, threshold 20: {plan:?}");
    assert!(
        plan.iter()
            .all(|s| s["objects"] == 20 && s["estimated_cost_usd"].as_f64() > Some(0.0))
    );
    let script = cloud
        .cli(dir.path())
        .args(["compact", "--engine", "athena", "--dry-run", "-o", "table"])
        .run()
        .success()
        .stdout();
    assert_eq!(
        script
            .matches("-- claim and compact: batch <new batch>, 20 objects")
            .count(),
        2,
        "{script}"
    );
    assert_eq!(
        script
            .matches("INSERT INTO \"iotpipe\".\"readings\"")
            .count(),
        2
    );

    let run = cloud
        .cli(dir.path())
        .args(["compact", "--engine", "athena", "-o", "jsonl"])
        .run()
        .success();
    let reports = run.json_lines();
    assert_eq!(reports.len(), 2, "{}", run.stderr());
    for report in &reports {
        let purposes: Vec<&str> = report["queries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| q["purpose"].as_str().unwrap())
            .collect();
        assert_eq!(
            purposes,
            ["survey", "clean-up", "insert", "verify"],
            "{report}"
        );
        assert_eq!(report["queries"][0]["cost_usd"], 0.00005, "10 MB minimum");
        assert_eq!(report["deleted"], 20);
        assert_eq!(
            (&report["rows_in"], &report["rows_out"]),
            (&json!(60), &json!(60)),
            "{report}"
        );
    }
    assert!(
        run.stderr().contains("8 Athena queries"),
        "{}",
        run.stderr()
    );

    let inserts: Vec<String> = cloud
        .queries()
        .into_iter()
        .filter(|q| q.sql.starts_with("INSERT"))
        .map(|q| q.sql)
        .collect();
    let batches = batches(&cloud.moto).await;
    assert_eq!((batches.len(), inserts.len()), (2, 2));
    let planned: Vec<Vec<&str>> = plan
        .iter()
        .map(|s| paths_in(s["sql"][1].as_str().unwrap()))
        .collect();
    for (i, batch) in batches.iter().enumerate() {
        assert_eq!(batch.state, BatchState::Compacted);
        assert_eq!(
            batch.keys,
            keys[i * 20..(i + 1) * 20],
            "claimed oldest first"
        );
        let query = inserts
            .iter()
            .find(|q| q.contains(&format!("'{}' AS \"batch\"", batch.id)))
            .expect("an insert per batch");
        // The statement's own objects, and the `dt` list of the dedup read.
        assert_eq!(
            paths_in(query).len(),
            20,
            "exactly the batch's keys: {query}"
        );
        for key in &batch.keys {
            let physical = key.replacen("raw/", "landing/raw/", 1);
            assert!(
                query.contains(&literal(&format!("s3://pipe/{physical}"))),
                "{key}: {query}"
            );
        }
        assert_eq!(
            paths_in(query),
            planned[i],
            "the dry run planned this batch"
        );
        assert!(
            query.contains("\"kept\".\"dt\" IN ('2026-03-01')"),
            "{query}"
        );
    }
    assert!(
        inserts
            .iter()
            .any(|q| q.contains("'s3://pipe/landing/raw/2026/03/01/00/it''s a key.jsonl'")),
        "the quoted key is escaped: {inserts:?}"
    );

    let (rows, distinct) = table_rows(&cloud, "landing/parquet/").await;
    assert_eq!(
        (rows, distinct.len()),
        (120, 120),
        "40 objects of 3 readings, each once"
    );
    let s3 = S3Store::new(iotpipe::aws::s3(&cloud.sdk().await), "pipe");
    let left: Vec<String> = s3
        .list("landing/raw/")
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key.replacen("landing/", "", 1))
        .collect();
    assert_eq!(left, keys[40..], "only the 5 pending objects remain");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_athena_query_keeps_the_batch_retryable_and_the_retry_replaces_its_files() {
    let cloud = Cloud::start();
    let dir = temp_dir();
    land(&cloud, dir.path(), &numbered_objects(20, 5)).await;
    let store = S3Store::new(iotpipe::aws::s3(&cloud.sdk().await), "pipe");
    let keys = keys_under(&store, "raw/").await;
    // The INSERT writes its files, then the verification fails.
    let reason = "GENERIC_INTERNAL_ERROR: Query exhausted resources at this scale factor";
    cloud.fail_queries(reason, 1, Some("AS \"found\""));

    let failed = cloud
        .cli(dir.path())
        .args(["compact", "--engine", "athena"])
        .run()
        .expect_code(1);
    let stderr = failed.stderr();
    assert!(
        stderr.contains("ended FAILED") && stderr.contains(reason),
        "{stderr}"
    );
    assert!(stderr.contains("raw objects are kept"), "{stderr}");
    assert_eq!(keys_under(&store, "raw/").await, keys, "nothing deleted");
    let batch = batches(&cloud.moto).await.remove(0);
    assert_eq!(batch.state, BatchState::Failed);
    assert!(
        batch
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("GENERIC_INTERNAL_ERROR")
    );
    let written = keys_under(&store, "compacted/").await;
    assert_eq!(written.len(), 1, "the failed attempt's file: {written:?}");

    let retried = cloud
        .cli(dir.path())
        .args(["compact", "--engine", "athena", "-o", "jsonl"])
        .run()
        .success();
    let reports = retried.json_lines();
    assert_eq!(reports.len(), 1);
    assert_eq!(
        reports[0]["batch"],
        batch.id.as_str(),
        "the same batch, retried"
    );
    assert_eq!(reports[0]["rows_out"], 100, "{}", reports[0]);
    assert_eq!(batches(&cloud.moto).await[0].state, BatchState::Compacted);
    assert!(store.list("raw/").await.unwrap().is_empty());
    let compacted = keys_under(&store, "compacted/").await;
    assert_eq!(
        compacted.len(),
        1,
        "the earlier attempt's file replaced: {compacted:?}"
    );
    assert_ne!(compacted, written);
    let (rows, distinct) = table_rows(&cloud, "compacted/").await;
    assert_eq!((rows, distinct.len()), (100, 100));
    let states: Vec<String> = cloud
        .queries()
        .into_iter()
        .skip(4)
        .map(|q| q.state)
        .collect();
    assert_eq!(
        states,
        [
            "SUCCEEDED",
            "SUCCEEDED",
            "SUCCEEDED",
            "FAILED",
            "SUCCEEDED",
            "SUCCEEDED",
            "SUCCEEDED",
            "SUCCEEDED"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_the_running_athena_query() {
    let cloud = Cloud::start();
    let dir = temp_dir();
    land(&cloud, dir.path(), &numbered_objects(20, 1)).await;
    cloud.hold_queries(1, None);

    let mut compact = cloud
        .cli(dir.path())
        .args(["--verbose", "compact", "--engine", "athena"])
        .start();
    compact.wait_for_stderr("the query started", |stderr| {
        stderr.contains("started; Ctrl-C stops it")
    });
    let (code, stderr) = compact.interrupt();
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("was stopped"), "{stderr}");
    let states: Vec<String> = cloud
        .queries()
        .into_iter()
        .skip(4)
        .map(|q| q.state)
        .collect();
    assert_eq!(states, ["CANCELLED"]);
    let batch = batches(&cloud.moto).await.remove(0);
    assert_eq!(batch.state, BatchState::Failed, "retryable");
    let store = S3Store::new(iotpipe::aws::s3(&cloud.sdk().await), "pipe");
    assert_eq!(
        store.list("raw/").await.unwrap().len(),
        20,
        "nothing deleted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_athena_cannot_read_are_set_aside_and_never_block_the_batch() {
    let cloud = Cloud::start();
    let dir = temp_dir();
    let day = time::macros::date!(2026 - 03 - 01);
    let prefix = "raw/2026/03/01/00/";
    let mut half = readings(100, 3, day);
    half.insert(
        1,
        "{\"v\": 1, \"device_id\": \"dev\", \"run_id\": \"run\", \"seq\": \"x\"".into(),
    );
    let objects = vec![
        (
            format!("{prefix}a-good.jsonl"),
            lines(&readings(0, 10, day)),
        ),
        // Not JSON at all, and a gzip name over plain bytes (Athena fails on
        // it; iotpipe reads it by its content).
        (format!("{prefix}b-poison.jsonl"), b"not json\n".to_vec()),
        (
            format!("{prefix}c-not-gzip.jsonl.gz"),
            lines(&readings(200, 2, day)),
        ),
        // Valid lines around one that is not.
        (format!("{prefix}d-half.jsonl"), lines(&half)),
        // A name Athena skips, and the same readings as a-good again.
        (
            format!("{prefix}_e-hidden.jsonl"),
            lines(&readings(300, 2, day)),
        ),
        (
            format!("{prefix}f-again.jsonl"),
            lines(&readings(0, 10, day)),
        ),
        // Cut short: nobody can read it; kept byte for byte.
        (
            format!("{prefix}g-broken.jsonl.gz"),
            b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03+I-".to_vec(),
        ),
    ];
    land(&cloud, dir.path(), &objects).await;

    let run = cloud
        .cli(dir.path())
        .args(["compact", "--engine", "athena", "--all", "-o", "jsonl"])
        .run()
        .expect_code(3);
    let stderr = run.stderr();
    assert!(
        stderr.contains("1 raw objects and 2 rows set aside"),
        "{stderr}"
    );
    assert!(stderr.contains("g-broken"), "{stderr}");
    let reports = run.json_lines();
    assert_eq!(reports.len(), 1, "{stderr}");
    assert_eq!(batches(&cloud.moto).await[0].state, BatchState::Compacted);

    let (rows, distinct) = table_rows(&cloud, "compacted/").await;
    let seqs: Vec<i64> = distinct.iter().map(|(_, _, s)| *s).collect();
    let mut expected: Vec<i64> = (0..10).chain([100, 101, 102, 200, 201, 300, 301]).collect();
    expected.sort();
    assert_eq!(seqs, expected, "each valid reading once");
    assert_eq!(rows, expected.len());

    let store = S3Store::new(iotpipe::aws::s3(&cloud.sdk().await), "pipe");
    assert!(store.list("raw/").await.unwrap().is_empty());
    let rejected = keys_under(&store, "rejected/").await;
    let mut kept = String::new();
    for key in &rejected {
        kept.push_str(&String::from_utf8_lossy(&store.get(key).await.unwrap()));
    }
    assert!(kept.contains("not json"), "{rejected:?}: {kept}");
    assert!(kept.contains("\\\"seq\\\": \\\"x\\\""), "{kept}");
    assert!(
        rejected.iter().any(|k| k.ends_with("g-broken.jsonl.gz")),
        "the unreadable object kept: {rejected:?}"
    );
    // What IoT Core's impostor rule writes (examples/aws/iotpipe.yaml,
    // ImpostorRule): one JSON object per reading under rejected/identity/<topic>/.
    store
        .put(
            "rejected/identity/sensor/data/pi-attic/5f0c.json",
            br#"{"v":1,"device_id":"pi-kitchen","received_on":"sensor/data/pi-attic"}"#,
        )
        .await
        .unwrap();
    let counters = counters_json(cloud.cli(dir.path()));
    assert_eq!(
        (
            &counters["set_aside"]["objects"],
            &counters["set_aside"]["rows"],
            &counters["set_aside"]["impostors"]
        ),
        (&json!(1), &json!(2), &json!(1)),
        "{counters}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readings_in_several_batches_and_statements_land_once_at_threshold_100() {
    let cloud = Cloud::start();
    let dir = temp_dir();
    // Object i holds seq i and i + 1 on days i and i + 1: every reading but
    // the first is in two objects, each batch spans 101 days (two INSERTs),
    // and seq 100 is in both batches.
    let first = time::macros::date!(2026 - 01 - 01);
    let objects: Vec<(String, Vec<u8>)> = (0..210u64)
        .map(|i| {
            let mut body = readings(i, 1, first + time::Duration::days(i as i64));
            body.extend(readings(
                i + 1,
                1,
                first + time::Duration::days(i as i64 + 1),
            ));
            (
                format!("raw/2026/01/01/00/stream-{i:08}.jsonl"),
                lines(&body),
            )
        })
        .collect();
    land(&cloud, dir.path(), &objects).await;
    let run = cloud
        .cli(dir.path())
        .env("IOTPIPE_COUNTER_THRESHOLD", "100")
        .args(["compact", "--engine", "athena", "-o", "jsonl"])
        .run()
        .success();
    let reports = run.json_lines();
    assert_eq!(reports.len(), 2, "two full batches: {}", run.stderr());
    for report in &reports {
        let inserts = report["queries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|q| q["purpose"] == "insert")
            .count();
        assert_eq!(inserts, 2, "101 days: {report}");
    }
    let summary: serde_json::Value = serde_json::from_str(
        &cloud
            .cli(dir.path())
            .args(["counters", "-o", "json"])
            .run()
            .success()
            .stdout(),
    )
    .unwrap();
    assert_eq!(
        (summary["pending"].as_u64(), summary["compacted"].as_u64()),
        (Some(10), Some(2))
    );
    let (rows, distinct) = table_rows(&cloud, "compacted/").await;
    let seqs: Vec<i64> = distinct.iter().map(|(_, _, s)| *s).collect();
    assert_eq!(
        seqs,
        (0..=200).collect::<Vec<i64>>(),
        "seq 0 to 200, none missing"
    );
    assert_eq!(rows, 201, "each once");

    // The other engine on the rest: seq 200 is compacted already.
    let store = S3Store::new(iotpipe::aws::s3(&cloud.sdk().await), "pipe");
    cloud
        .cli(dir.path())
        .args(["compact", "--engine", "local", "--all"])
        .run()
        .success();
    let (rows, distinct) = table_rows(&cloud, "compacted/").await;
    assert_eq!(
        (rows, distinct.len()),
        (211, 211),
        "switching engines doubles nothing"
    );
    assert!(store.list("raw/").await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runners_on_one_failed_batch_never_both_work_on_it() {
    let cloud = Cloud::start();
    let dir = temp_dir();
    land(&cloud, dir.path(), &numbered_objects(20, 2)).await;
    cloud.fail_queries("GENERIC_INTERNAL_ERROR: injected", 1, Some("INSERT INTO"));
    cloud
        .cli(dir.path())
        .args(["compact", "--engine", "athena"])
        .run()
        .expect_code(1);
    let batch = batches(&cloud.moto).await.remove(0);
    assert_eq!(batch.state, BatchState::Failed);

    // A holds the batch while its survey runs; B, started meanwhile, must not touch it.
    cloud.hold_queries(1, Some("AS \"object\""));
    let mut first = cloud
        .cli(dir.path())
        .args([
            "--verbose",
            "compact",
            "--engine",
            "athena",
            "--batch",
            &batch.id,
            "-o",
            "jsonl",
        ])
        .start();
    first.wait_for_stderr("A's survey", |stderr| {
        stderr.contains("started; Ctrl-C stops it")
    });
    let second = cloud
        .cli(dir.path())
        .args(["compact", "--engine", "athena", "--batch", &batch.id])
        .run();
    assert_ne!(second.code(), 0, "{}", second.stderr());
    assert!(second.stderr().contains("another"), "{}", second.stderr());
    cloud.release_queries();
    let (code, stderr) = first.wait();
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(batches(&cloud.moto).await[0].state, BatchState::Compacted);
    let (rows, distinct) = table_rows(&cloud, "compacted/").await;
    assert_eq!((rows, distinct.len()), (40, 40));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transaction_conflicts_in_record_and_claim_are_retried_and_counted() {
    let moto = moto();
    let counter = DynamoCounter::new(iotpipe::aws::dynamodb(&sdk(&moto).await), "conflicts");
    counter.create_table().await.unwrap();
    // moto serializes requests, so DynamoDB's cancellations are injected.
    let inject = |count: u32| {
        let body = json!({"count": count, "operation": "TransactWriteItems"}).to_string();
        let response = http_post(moto.port, "/iotpipe-test/dynamodb/conflict", &body);
        assert!(response.contains(" 200 "), "{response}");
    };
    let still_to_come = || {
        let response = http_get(moto.port, "/iotpipe-test/dynamodb/conflict").unwrap();
        serde_json::from_str::<serde_json::Value>(http_body(&response)).unwrap()["pending"].clone()
    };

    inject(3);
    for i in 0..180 {
        let recorded = counter.record(&format!("raw/k{i:04}"), 10).await.unwrap();
        assert_eq!(recorded, Recorded::New, "k{i:04}");
    }
    assert_eq!((still_to_come(), counter.retried()), (json!(0), 3));
    assert_eq!(counter.pending().await.unwrap(), 180, "each counted once");

    inject(2);
    let small = counter.claim(20).await.unwrap().expect("a batch of 20");
    assert_eq!((still_to_come(), counter.retried()), (json!(0), 5));
    // A claim larger than one transaction: a conflict midway rolls back and
    // tries again; the commit retries by itself.
    inject(2);
    let large = counter.claim(120).await.unwrap().expect("a batch of 120");
    assert_eq!(still_to_come(), json!(0));
    assert!(counter.retried() >= 6, "{}", counter.retried());
    let mut keys: Vec<&String> = small.keys.iter().chain(&large.keys).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 140, "no object in two batches");
    assert_eq!(counter.pending().await.unwrap(), 40);
    assert_eq!(counter.batch(&large.id).await.unwrap().keys.len(), 120);
}

#[test]
fn every_athena_statement_parses_as_athena_sql() {
    use iotpipe::compact::athena_sql::{self, Target};
    let target = Target {
        database: "iot pipe".into(),
        raw_table: "raw_readings".into(),
        lines_table: "raw_readings_lines".into(),
        table: "readings".into(),
        raw_location: "s3://my-bucket/raw/".into(),
        compacted_location: "s3://my-bucket/compacted/".into(),
    };
    let keys = vec![
        "raw/2026/03/01/00/a.jsonl.gz".to_string(),
        "raw/2026/03/02/00/it's a key é.jsonl".to_string(),
    ];
    let mut statements = athena_sql::ddl(&target);
    statements.extend(
        athena_sql::planned_statements(&target, "b'1", &keys, |k| format!("s3://my-bucket/{k}"))
            .unwrap(),
    );
    let days = athena_sql::key_days(&keys[0]);
    statements.push(athena_sql::own_files(&target, "b'1", &days));
    assert_eq!(statements.len(), 4 + 3 + 1);
    let code = "import json, os, sqlglot\n\
                from sqlglot.errors import ErrorLevel\n\
                for sql in json.loads(os.environ['STATEMENTS']):\n\
                \x20   tree = sqlglot.parse_one(sql, read='athena', error_level=ErrorLevel.RAISE)\n\
                \x20   print(type(tree).__name__)";
    let parsed = python(code, &[("STATEMENTS", &json!(statements).to_string())]);
    assert_eq!(
        parsed.lines().collect::<Vec<_>>(),
        [
            "Create", "Create", "Create", "Create", "Select", "Insert", "Select", "Select"
        ],
        "Athena's dialect parses each"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runner_that_loses_its_lease_stops_its_query_and_touches_nothing() {
    use iotpipe::compact::{CompactError, Lease, Pipeline};

    let cloud = Cloud::start();
    let dir = temp_dir();
    land(&cloud, dir.path(), &numbered_objects(20, 1)).await;
    cloud.fail_queries("GENERIC_INTERNAL_ERROR: injected", 1, Some("AS \"object\""));
    cloud
        .cli(dir.path())
        .args(["compact", "--engine", "athena"])
        .run()
        .expect_code(1);
    let batch = batches(&cloud.moto).await.remove(0);

    let sdk = cloud.sdk().await;
    let store = Arc::new(S3Store::new(iotpipe::aws::s3(&sdk), "pipe"));
    let dynamodb = iotpipe::aws::dynamodb(&sdk);
    let counter = Arc::new(DynamoCounter::new(dynamodb.clone(), "pipe-counter"));
    let engine = cloud.athena_engine(&store).await;
    // A short lease, renewed every second while the survey is held.
    let pipeline = Pipeline {
        store: store.clone(),
        counter,
        engine,
        fail_point: None,
        claim_grace: None,
        lease: Lease {
            holder: "runner-a".into(),
            ttl: std::time::Duration::from_secs(3),
        },
    };
    cloud.hold_queries(1, Some("AS \"object\""));
    let claimed = batch.clone();
    let run = tokio::spawn(async move {
        pipeline
            .run_batch(&claimed, &iotpipe::progress::Silent)
            .await
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while cloud.queries().last().map(|q| q.state.as_str()) != Some("RUNNING") {
        assert!(
            std::time::Instant::now() < deadline,
            "{:?}",
            cloud.queries()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // Runner A stalls past its lease (a paused VM, a partition) and B takes the batch.
    dynamodb
        .update_item()
        .table_name("pipe-counter")
        .key("pk", AttributeValue::S(format!("batch#{}", batch.id)))
        .update_expression("SET lease_owner = :b, lease_until = :until")
        .expression_attribute_values(":b", AttributeValue::S("runner-b".into()))
        .expression_attribute_values(
            ":until",
            AttributeValue::S("2999-01-01T00:00:00.000Z".into()),
        )
        .send()
        .await
        .unwrap();

    let result = run.await.unwrap();
    assert!(
        matches!(result, Err(CompactError::LeaseLost { query: Some(_) })),
        "{:?}",
        result.map(|r| r.batch)
    );
    let survey = cloud.queries().pop().unwrap();
    assert_eq!(survey.state, "CANCELLED", "A stopped its query");
    let now = batches(&cloud.moto).await.remove(0);
    assert_eq!(now.state, BatchState::Failed, "not marked by A");
    assert_eq!(
        store.list("raw/").await.unwrap().len(),
        20,
        "nothing deleted"
    );
    assert!(
        store.list("compacted/").await.unwrap().is_empty(),
        "nothing written"
    );
}

/// What `iotpipe counters -o json` says, run as `command` (environment, flags).
fn counters_json(command: Iotpipe) -> serde_json::Value {
    let run = command.args(["counters", "-o", "json"]).run().success();
    serde_json::from_str(&run.stdout()).unwrap()
}

/// DynamoDB requests moto served, by operation.
fn dynamodb_requests(moto: &Service) -> serde_json::Value {
    let response = http_get(moto.port, "/iotpipe-test/dynamodb/requests").unwrap();
    serde_json::from_str(http_body(&response)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_read_the_pending_index_and_an_old_table_is_upgraded_in_place() {
    let moto = moto();
    let client = iotpipe::aws::dynamodb(&sdk(&moto).await);
    // A table as an older iotpipe made it: key pk only, no index, no TTL, and
    // objects recorded without the index attribute.
    client
        .create_table()
        .table_name("old")
        .key_schema(
            aws_sdk_dynamodb::types::KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(aws_sdk_dynamodb::types::KeyType::Hash)
                .build()
                .unwrap(),
        )
        .attribute_definitions(
            aws_sdk_dynamodb::types::AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    for i in 0..30 {
        client
            .put_item()
            .table_name("old")
            .item("pk", AttributeValue::S(format!("object#raw/k{i:03}")))
            .item("key", AttributeValue::S(format!("raw/k{i:03}")))
            .item("size", AttributeValue::N("10".into()))
            .send()
            .await
            .unwrap();
    }
    client
        .put_item()
        .table_name("old")
        .item("pk", AttributeValue::S("counter".into()))
        .item("pending", AttributeValue::N("30".into()))
        .send()
        .await
        .unwrap();
    let dir = temp_dir();
    let cli = |args: &[&str]| {
        iotpipe_on_aws(dir.path(), &moto)
            .env("IOTPIPE_COUNTER_TABLE", "old")
            .args(args)
            .run()
    };
    let doctor = cli(&["doctor", "--only", "aws"]);
    assert!(
        doctor.stdout().contains("lacks the `pending` index"),
        "{}",
        doctor.stdout()
    );
    let init = cli(&["counters", "--init"]).success();
    assert!(
        init.stderr()
            .contains("already exists; added the `pending` index and TTL on `expires_at`"),
        "{}",
        init.stderr()
    );
    let again = cli(&["counters", "--init"]).success();
    assert!(
        again.stderr().contains("already exists"),
        "{}",
        again.stderr()
    );
    let ttl = client
        .describe_time_to_live()
        .table_name("old")
        .send()
        .await
        .unwrap();
    assert_eq!(
        ttl.time_to_live_description()
            .and_then(|d| d.attribute_name()),
        Some("expires_at")
    );

    // Claims now find the waiting objects through the index, never by a scan.
    let counter = DynamoCounter::new(client.clone(), "old");
    let scans = dynamodb_requests(&moto)["Scan"].as_u64().unwrap_or(0);
    let small = counter
        .claim(20)
        .await
        .unwrap()
        .expect("20 of the 30 old objects");
    for i in 0..120 {
        counter.record(&format!("raw/n{i:03}"), 10).await.unwrap();
    }
    let large = counter.claim(110).await.unwrap().expect("a large claim");
    assert_eq!(
        dynamodb_requests(&moto)["Scan"].as_u64().unwrap_or(0),
        scans,
        "no scan: {}",
        dynamodb_requests(&moto)
    );
    assert!(dynamodb_requests(&moto)["Query"].as_u64() > Some(0));
    let expected: Vec<String> = (0..20).map(|i| format!("raw/k{i:03}")).collect();
    assert_eq!(small.keys, expected, "oldest key first");
    assert_eq!(large.keys.len(), 110);
    assert!(large.keys.iter().all(|k| !small.keys.contains(k)));
    assert_eq!(counter.pending().await.unwrap(), 20);
    // A claimed object's marker leaves the index and has no expiry until its
    // batch is done (markers_outlive_an_unfinished_batch_and_expire_once_it_is_done).
    let marker = item(&client, "old", "object#raw/k000").await.unwrap();
    assert!(!marker.contains_key("expires_at"), "{marker:?}");
    assert!(!marker.contains_key("queue"), "out of the index");
}

/// One item of the counter table, as DynamoDB has it.
async fn item(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    pk: &str,
) -> Option<std::collections::HashMap<String, AttributeValue>> {
    client
        .get_item()
        .table_name(table)
        .key("pk", AttributeValue::S(pk.into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item()
        .cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markers_outlive_an_unfinished_batch_and_expire_once_it_is_done() {
    use iotpipe::counter::{Hold, WRITER};
    let moto = moto();
    let open = counter_opener(&moto, "markers").await;
    let counter = open();
    let client = iotpipe::aws::dynamodb(&sdk(&moto).await);
    for key in ["raw/k0", "raw/k1", "raw/k2"] {
        counter.record(key, 10).await.unwrap();
    }
    let batch = counter.claim(3).await.unwrap().unwrap();
    let marker = item(&client, "markers", "object#raw/k0").await.unwrap();
    assert!(
        !marker.contains_key("expires_at"),
        "no expiry while the batch is unfinished: {marker:?}"
    );
    // The batch keeps failing (issue 27, scenario 3); a marker gone anyway (an
    // older iotpipe gave markers their expiry at the claim) is still counted,
    // so reconcile never proposes to record its object again.
    let long = std::time::Duration::from_secs(600);
    let fence = counter
        .lease(&batch.id, "me", long, None)
        .await
        .unwrap()
        .unwrap();
    let hold = Hold {
        holder: "me".into(),
        batch: fence,
        writer: None,
    };
    counter
        .mark_failed(&batch.id, &hold, "no s3:DeleteObject")
        .await
        .unwrap();
    client
        .delete_item()
        .table_name("markers")
        .key("pk", AttributeValue::S("object#raw/k0".into()))
        .send()
        .await
        .unwrap();
    let listing: Vec<iotpipe::store::ObjectInfo> = ["raw/k0", "raw/k1", "raw/k2"]
        .into_iter()
        .map(|key| iotpipe::store::ObjectInfo {
            key: key.into(),
            size: 10,
            modified: None,
        })
        .collect();
    let drift = iotpipe::counter::drift(listing, &counter.counted().await.unwrap());
    assert!(
        drift.uncounted.is_empty(),
        "an object of a failed batch is never re-recorded: {:?}",
        drift.uncounted
    );
    // Compacted and its raw objects deleted: only now do the markers expire.
    let fence = counter
        .lease(&batch.id, "me", long, None)
        .await
        .unwrap()
        .unwrap();
    let writer = counter
        .lock(WRITER, "me", long, None)
        .await
        .unwrap()
        .unwrap();
    let hold = Hold {
        holder: "me".into(),
        batch: fence,
        writer: Some(writer),
    };
    counter.mark_compacted(&batch.id, &hold).await.unwrap();
    let compacted = counter.batch(&batch.id).await.unwrap();
    assert!(!compacted.retired);
    counter.retire(&compacted).await.unwrap();
    assert!(counter.batch(&batch.id).await.unwrap().retired);
    let marker = item(&client, "markers", "object#raw/k1").await.unwrap();
    let expires: i64 = marker["expires_at"].as_n().unwrap().parse().unwrap();
    let in_days = (expires - time::OffsetDateTime::now_utc().unix_timestamp()) / 86_400;
    assert!((29..=30).contains(&in_days), "{in_days} days");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_large_claim_is_judged_by_the_expiry_its_claimer_wrote() {
    let moto = moto();
    let open = counter_opener(&moto, "claims").await;
    let counter = open();
    let client = iotpipe::aws::dynamodb(&sdk(&moto).await);
    // A large claim in progress elsewhere: begun ten minutes ago by the
    // roll-backer's clock (skew, or a slow claimer), renewed a moment ago.
    let put = |pk: &str, attributes: Vec<(&str, AttributeValue)>| {
        let mut request = client
            .put_item()
            .table_name("claims")
            .item("pk", AttributeValue::S(pk.into()));
        for (name, value) in attributes {
            request = request.item(name, value);
        }
        request.send()
    };
    let text = |t: &str| AttributeValue::S(t.into());
    let at = |minutes: i64| {
        text(&iotpipe::payload::format_ts(
            time::OffsetDateTime::now_utc() + time::Duration::minutes(minutes),
        ))
    };
    let claiming = |until: AttributeValue| {
        vec![
            ("state", text("claiming")),
            ("queue", text("claiming")),
            ("key", text("batch#elsewhere")),
            ("parts", AttributeValue::N("1".into())),
            ("bytes", AttributeValue::N("10".into())),
            ("claimed_at", at(-10)),
            ("claim_until", until),
        ]
    };
    put("batch#elsewhere", claiming(at(4))).await.unwrap();
    put(
        "part#elsewhere#0",
        vec![("keys", AttributeValue::L(vec![text("raw/theirs")]))],
    )
    .await
    .unwrap();
    put(
        "object#raw/theirs",
        vec![
            ("key", text("raw/theirs")),
            ("size", AttributeValue::N("10".into())),
            ("batch", text("elsewhere")),
        ],
    )
    .await
    .unwrap();
    // A large claim here first rolls back what is abandoned: not this one.
    for i in 0..5 {
        counter.record(&format!("raw/mine-{i}"), 10).await.unwrap();
    }
    assert!(counter.claim(99).await.unwrap().is_none(), "5 pending");
    let theirs = item(&client, "claims", "batch#elsewhere").await.unwrap();
    assert_eq!(
        theirs["state"].as_s().unwrap(),
        "claiming",
        "still its claimer's"
    );
    let marker = item(&client, "claims", "object#raw/theirs").await.unwrap();
    assert_eq!(marker["batch"].as_s().unwrap(), "elsewhere");
    // Its claimer stops renewing: once its own expiry has passed, it is rolled back.
    put("batch#elsewhere", claiming(at(-1))).await.unwrap();
    assert!(counter.claim(99).await.unwrap().is_none());
    assert!(item(&client, "claims", "batch#elsewhere").await.is_none());
    assert!(item(&client, "claims", "part#elsewhere#0").await.is_none());
    let marker = item(&client, "claims", "object#raw/theirs").await.unwrap();
    assert!(!marker.contains_key("batch"), "free again: {marker:?}");
    assert_eq!(marker["queue"].as_s().unwrap(), "waiting");
}

/// Every row of the compacted Parquet files under `compacted` (a local
/// directory), as DuckDB reads them: `(seq, ts in UTC, dt)`, sorted.
fn rows_with_times(compacted: &Path) -> Vec<(i64, String, String)> {
    let mut rows: Vec<(i64, String, String)> = duckdb(&format!(
        "SET TimeZone = 'UTC'; SELECT seq, strftime(CAST(ts AS TIMESTAMP), '%Y-%m-%d %H:%M:%S') AS ts, \
         CAST(dt AS VARCHAR) AS dt FROM read_parquet('{}/**/*.parquet', hive_partitioning = true)",
        compacted.display()
    ))
    .iter()
    .map(|r| {
        (
            r["seq"].as_i64().unwrap(),
            r["ts"].as_str().unwrap().to_string(),
            r["dt"].as_str().unwrap().to_string(),
        )
    })
    .collect();
    rows.sort();
    rows
}

/// The compacted files of bucket `pipe`, copied with their `dt=` directories
/// (named `.parquet`: Athena's own have no extension).
pub(crate) async fn download_compacted(cloud: &Cloud, to: &Path) {
    let store = S3Store::new(iotpipe::aws::s3(&cloud.sdk().await), "pipe");
    for object in store.list("compacted/").await.unwrap() {
        if object.key.split('/').any(|p| p.starts_with(['_', '.'])) {
            continue;
        }
        let mut path = to.join(&object.key);
        if path.extension().is_none_or(|e| e != "parquet") {
            path.set_extension("parquet");
        }
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, store.get(&object.key).await.unwrap()).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readings_the_table_cannot_show_are_set_aside_and_times_are_stored_in_utc() {
    let cloud = Cloud::start();
    let dir = temp_dir();
    let day = time::macros::date!(2026 - 03 - 01);
    let reading = |seq: &str, ts: &str| {
        format!(
            r#"{{"v":1,"device_id":"dev","run_id":"run","seq":{seq},"ts":"{ts}","temperature_c":20.5}}"#
        )
    };
    let ahead =
        iotpipe::payload::format_ts(time::OffsetDateTime::now_utc() + time::Duration::days(730));
    let prefix = "raw/2026/03/01/23/";
    let objects = vec![
        (format!("{prefix}a.jsonl"), lines(&readings(0, 10, day))),
        (
            format!("{prefix}b.jsonl"),
            lines(&[
                // Sent with its offset: 23:30 UTC on the day before.
                reading("50", "2026-03-02T01:30:00.000+02:00"),
                reading("51", "2019-06-01T12:00:00.000Z"),
                // A Pi whose clock was never set, and one two years ahead.
                reading("52", "1970-01-01T00:00:07.000Z"),
                reading("53", &ahead),
            ]),
        ),
        (
            format!("{prefix}c.jsonl"),
            lines(&[
                reading("54", "2026-03-01T12:00:00.000Z"),
                reading("9223372036854775808", "2026-03-01T12:00:01.000Z"),
            ]),
        ),
    ];
    land(&cloud, dir.path(), &objects).await;
    let run = cloud
        .cli(dir.path())
        .args(["compact", "--engine", "athena", "--all", "-o", "jsonl"])
        .run()
        .expect_code(3);
    assert!(
        run.stderr().contains("3 rows set aside"),
        "{}",
        run.stderr()
    );
    assert_eq!(batches(&cloud.moto).await[0].state, BatchState::Compacted);
    let athena = temp_dir();
    download_compacted(&cloud, athena.path()).await;
    let mut expected: Vec<(i64, String, String)> = (0..10)
        .map(|seq| {
            (
                seq,
                format!("2026-03-01 00:{seq:02}:00"),
                "2026-03-01".to_string(),
            )
        })
        .collect();
    expected.extend([
        (50, "2026-03-01 23:30:00".into(), "2026-03-01".into()),
        (51, "2019-06-01 12:00:00".into(), "2019-06-01".into()),
        (54, "2026-03-01 12:00:00".into(), "2026-03-01".into()),
    ]);
    expected.sort();
    assert_eq!(rows_with_times(&athena.path().join("compacted")), expected);
    // The counter learns each device's newest stored reading from the survey,
    // as `device list` and `counters` show it (the Lambda compacts this way).
    let counters = counters_json(cloud.cli(dir.path()));
    assert_eq!(
        counters["device_last_readings"],
        json!({"dev": "2026-03-01T23:30:00.000Z"})
    );
    // What a user's SELECT through Athena sees: every stored reading, 2019 too.
    let seen = cloud
        .select("SELECT seq FROM iotpipe.readings ORDER BY seq")
        .await;
    let seqs: Vec<i64> = seen[1..]
        .iter()
        .map(|row| row[0].as_deref().unwrap().parse().unwrap())
        .collect();
    assert_eq!(seqs, expected.iter().map(|r| r.0).collect::<Vec<_>>());
    // The rest is set aside with its reason, nothing left behind or retried.
    let store = S3Store::new(iotpipe::aws::s3(&cloud.sdk().await), "pipe");
    assert!(store.list("raw/").await.unwrap().is_empty());
    let mut kept = String::new();
    for key in keys_under(&store, "rejected/compaction/").await {
        kept.push_str(&String::from_utf8_lossy(&store.get(&key).await.unwrap()));
    }
    for reason in [
        "is before 2000-01-01: the device's clock was not set",
        "is more than a day ahead of now",
        "is above 9223372036854775807",
    ] {
        assert!(kept.contains(reason), "{reason}: {kept}");
    }
    second_pass_changes_nothing(&cloud, dir.path());
    let after = temp_dir();
    download_compacted(&cloud, after.path()).await;
    assert_eq!(rows_with_times(&after.path().join("compacted")), expected);

    // The local engine keeps the same rows, at the same times, on the same days.
    let local = temp_dir();
    compact_locally(local.path(), &objects).expect_code(3);
    assert_eq!(
        rows_with_times(&local.path().join("data/compacted")),
        expected
    );
    let counters = counters_json(iotpipe(local.path()).env("IOTPIPE_DATA_DIR", "data"));
    assert_eq!(
        counters["device_last_readings"],
        json!({"dev": "2026-03-01T23:30:00.000Z"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_of_more_days_than_an_insert_may_write_is_inserted_by_day() {
    let cloud = Cloud::start();
    let dir = temp_dir();
    // One object, one reading a day for 120 days (a `publish --file` backfill).
    let backfill: Vec<String> = (0..120u64)
        .flat_map(|day| {
            readings(
                day,
                1,
                time::macros::date!(2026 - 01 - 01) + time::Duration::days(day as i64),
            )
        })
        .collect();
    let objects = vec![(
        "raw/2026/05/01/00/backfill.jsonl".to_string(),
        lines(&backfill),
    )];
    land(&cloud, dir.path(), &objects).await;
    cloud
        .cli(dir.path())
        .args(["compact", "--engine", "athena", "--all"])
        .run()
        .success();
    let (rows, keys) = table_rows(&cloud, "compacted/").await;
    assert_eq!((rows, keys.len()), (120, 120), "every reading once");
    let queries = cloud.queries();
    let inserts: Vec<_> = queries
        .iter()
        .filter(|q| q.sql.starts_with("INSERT"))
        .collect();
    assert_eq!(inserts.len(), 2, "100 days, then 20");
    assert!(
        queries.iter().all(|q| q.state == "SUCCEEDED"),
        "{queries:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compactors_side_by_side_on_s3_and_dynamodb_keep_each_reading_once() {
    let cloud = Cloud::start();
    let dir = temp_dir();
    // 12 objects of 10 readings, each repeating the previous object's last
    // three, so consecutive batches of 3 share readings.
    let day = time::macros::date!(2026 - 03 - 01);
    let objects: Vec<(String, Vec<u8>)> = object_names(12)
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let first = (i as u64 * 10).saturating_sub(3);
            let n = if i == 0 { 10 } else { 13 };
            (format!("raw/{name}"), lines(&readings(first, n, day)))
        })
        .collect();
    land(&cloud, dir.path(), &objects).await;
    let runners: Vec<_> = (0..3)
        .map(|_| {
            cloud
                .cli(dir.path())
                .env("IOTPIPE_COUNTER_THRESHOLD", "3")
                .args(["compact", "--engine", "local", "--all"])
                .start()
        })
        .collect();
    for mut runner in runners {
        let (code, stderr) = runner.wait();
        assert_eq!(code, Some(0), "{stderr}");
    }
    // Whatever a runner gave back while another wrote is finished by one more run.
    cloud
        .cli(dir.path())
        .env("IOTPIPE_COUNTER_THRESHOLD", "3")
        .args(["compact", "--engine", "local", "--all"])
        .run()
        .success();
    let (rows, keys) = table_rows(&cloud, "compacted/").await;
    assert_eq!(keys.len(), 120, "every reading");
    assert_eq!(rows, 120, "each once");
    assert!(
        batches(&cloud.moto)
            .await
            .iter()
            .all(|b| b.state == BatchState::Compacted && b.retired)
    );
}
