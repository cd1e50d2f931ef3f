//! The AWS backends against a real moto server: the DynamoDB counter passes the
//! same behaviour suite as the SQLite one, the S3 store lists past 1,000 keys
//! and uploads in parts, and both compaction engines follow the protocol.

use std::path::Path;
use std::sync::Arc;

use iotpipe::compact::athena_sql::literal;
use iotpipe::counter::dynamodb::DynamoCounter;
use iotpipe::counter::suite;
use iotpipe::counter::{Batch, BatchState, Counter};
use iotpipe::store::s3::S3Store;
use iotpipe::store::{Store, StoreError};

use crate::common::{
    Iotpipe, Service, duckdb, http_post, iotpipe, iotpipe_on_aws, moto, moto_fail_athena, sdk,
    temp_dir,
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
    let compacted = store.list("compacted/").await.unwrap();
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

/// A bucket `pipe` with `n` raw objects at `prefix` (one reading each), counted
/// in a fresh counter table; returns their keys as iotpipe names them (`raw/...`).
async fn landed(moto: &Service, dir: &Path, prefix: &str, names: &[String]) -> Vec<String> {
    let s3 = iotpipe::aws::s3(&sdk(moto).await);
    s3.create_bucket().bucket("pipe").send().await.unwrap();
    let readings = iotpipe(dir)
        .args([
            "sense",
            "--sim",
            "--count",
            &names.len().to_string(),
            "-o",
            "jsonl",
        ])
        .run()
        .success()
        .stdout();
    for (name, reading) in names.iter().zip(readings.lines()) {
        s3.put_object()
            .bucket("pipe")
            .key(format!("{prefix}{name}"))
            .body(format!("{reading}\n").into_bytes().into())
            .send()
            .await
            .unwrap();
    }
    aws_cli(dir, moto, &["counters", "--init"]).run().success();
    let fixed = aws_cli(
        dir,
        moto,
        &["counters", "--reconcile", "--fix", "-o", "json"],
    )
    .run()
    .success();
    let drift: serde_json::Value = serde_json::from_str(&fixed.stdout()).unwrap();
    assert_eq!(drift["fixed"], names.len(), "{drift}");
    let mut keys: Vec<String> = names.iter().map(|n| format!("raw/{n}")).collect();
    keys.sort();
    keys
}

fn object_names(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("2026/03/01/00/stream-1-2026-03-01-00-00-00-{i:08}.jsonl"))
        .collect()
}

async fn batches(moto: &Service) -> Vec<Batch> {
    let counter = DynamoCounter::new(iotpipe::aws::dynamodb(&sdk(moto).await), "pipe-counter");
    let mut batches = counter.batches().await.unwrap();
    batches.reverse();
    batches
}

/// The keys under `prefix`, sorted.
async fn keys_under(store: &S3Store, prefix: &str) -> Vec<String> {
    store
        .list(prefix)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect()
}

/// Every query string moto was sent, oldest first.
async fn athena_queries(moto: &Service) -> Vec<(String, String)> {
    let athena = iotpipe::aws::athena(&sdk(moto).await);
    let ids = athena
        .list_query_executions()
        .send()
        .await
        .unwrap()
        .query_execution_ids()
        .to_vec();
    let mut queries = Vec::new();
    for id in ids {
        let execution = athena
            .get_query_execution()
            .query_execution_id(&id)
            .send()
            .await
            .unwrap();
        let execution = execution.query_execution().unwrap();
        queries.push((
            execution.query().unwrap_or_default().to_string(),
            execution
                .status()
                .and_then(|s| s.state())
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
        ));
    }
    queries
}

/// The `$path` literals of a compaction query.
fn paths_in(query: &str) -> Vec<&str> {
    query.matches("'s3://pipe/").collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn athena_compaction_queries_exactly_each_batch_and_deletes_after_success() {
    let moto = moto();
    let dir = temp_dir();
    std::fs::write(
        dir.path().join("iotpipe.toml"),
        "[aws]\nraw_prefix = \"landing/raw\"\ncompacted_prefix = \"landing/parquet/\"\n",
    )
    .unwrap();
    let mut names = object_names(44);
    names.push("2026/03/01/00/it's a key.jsonl".into());
    let keys = landed(&moto, dir.path(), "landing/raw/", &names).await;

    let init = aws_cli(
        dir.path(),
        &moto,
        &["compact", "--init", "--dry-run", "-o", "table"],
    )
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
    aws_cli(dir.path(), &moto, &["compact", "--init"])
        .run()
        .success();
    let ddl = athena_queries(&moto).await;
    assert_eq!(ddl.len(), 3, "database and two tables: {ddl:?}");
    assert!(ddl.iter().all(|(_, state)| state == "SUCCEEDED"));

    // The dry run shows the SQL of the batches the real run will claim.
    let plan = aws_cli(
        dir.path(),
        &moto,
        &["compact", "--engine", "athena", "--dry-run", "-o", "json"],
    )
    .run()
    .success()
    .stdout();
    let plan: Vec<serde_json::Value> = serde_json::from_str(&plan).unwrap();
    assert_eq!(plan.len(), 2, "45 objects, threshold 20: {plan:?}");
    assert!(
        plan.iter()
            .all(|s| s["objects"] == 20 && s["estimated_cost_usd"].as_f64() > Some(0.0))
    );
    let script = aws_cli(
        dir.path(),
        &moto,
        &["compact", "--engine", "athena", "--dry-run", "-o", "table"],
    )
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

    let run = aws_cli(
        dir.path(),
        &moto,
        &["compact", "--engine", "athena", "-o", "jsonl"],
    )
    .run()
    .success();
    let reports = run.json_lines();
    assert_eq!(reports.len(), 2, "{}", run.stderr());
    for report in &reports {
        assert_eq!(
            report["queries"].as_array().map(Vec::len),
            Some(1),
            "{report}"
        );
        assert_eq!(report["queries"][0]["cost_usd"], 0.00005, "10 MB minimum");
        assert_eq!(report["deleted"], 20);
    }
    assert!(
        run.stderr().contains("2 Athena queries"),
        "{}",
        run.stderr()
    );

    let queries: Vec<String> = athena_queries(&moto)
        .await
        .into_iter()
        .skip(3)
        .map(|(query, _)| query)
        .collect();
    let batches = batches(&moto).await;
    assert_eq!((batches.len(), queries.len()), (2, 2));
    let planned: Vec<Vec<&str>> = plan
        .iter()
        .map(|s| paths_in(s["sql"][0].as_str().unwrap()))
        .collect();
    for (i, batch) in batches.iter().enumerate() {
        assert_eq!(batch.state, BatchState::Compacted);
        assert_eq!(
            batch.keys,
            keys[i * 20..(i + 1) * 20],
            "claimed oldest first"
        );
        let query = queries
            .iter()
            .find(|q| q.contains(&format!("'{}' AS \"batch\"", batch.id)))
            .expect("a query per batch");
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
    }
    assert!(
        queries
            .iter()
            .any(|q| q.contains("'s3://pipe/landing/raw/2026/03/01/00/it''s a key.jsonl'")),
        "the quoted key is escaped: {queries:?}"
    );

    let s3 = S3Store::new(iotpipe::aws::s3(&sdk(&moto).await), "pipe");
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
async fn a_failed_athena_query_keeps_the_batch_retryable_with_athenas_reason() {
    let moto = moto();
    let dir = temp_dir();
    let keys = landed(&moto, dir.path(), "raw/", &object_names(20)).await;
    let store = S3Store::new(iotpipe::aws::s3(&sdk(&moto).await), "pipe");
    let reason =
        "HIVE_BAD_DATA: Error parsing field value 'x' for field 3: For input string: \"x\"";
    moto_fail_athena(&moto, reason, 1);

    let failed = aws_cli(dir.path(), &moto, &["compact", "--engine", "athena"])
        .run()
        .expect_code(1);
    let stderr = failed.stderr();
    assert!(
        stderr.contains("ended FAILED") && stderr.contains(reason),
        "{stderr}"
    );
    assert!(stderr.contains("raw objects are kept"), "{stderr}");
    let raw = keys_under(&store, "raw/").await;
    assert_eq!(raw, keys, "nothing deleted");
    let batch = batches(&moto).await.remove(0);
    assert_eq!(batch.state, BatchState::Failed);
    assert!(
        batch
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("HIVE_BAD_DATA")
    );

    // What an earlier attempt of the batch wrote is replaced, nothing else.
    let stale = format!("compacted/dt=2026-03-01/batch={}/stale-part", batch.id);
    store.put(&stale, b"x").await.unwrap();
    store
        .put("compacted/dt=2026-03-01/batch=other/part", b"x")
        .await
        .unwrap();
    let retried = aws_cli(
        dir.path(),
        &moto,
        &["compact", "--engine", "athena", "-o", "jsonl"],
    )
    .run()
    .success();
    let reports = retried.json_lines();
    assert_eq!(reports.len(), 1);
    assert_eq!(
        reports[0]["batch"],
        batch.id.as_str(),
        "the same batch, retried"
    );
    assert_eq!(batches(&moto).await[0].state, BatchState::Compacted);
    assert!(store.list("raw/").await.unwrap().is_empty());
    let compacted = keys_under(&store, "compacted/").await;
    assert_eq!(compacted, ["compacted/dt=2026-03-01/batch=other/part"]);
    let states: Vec<String> = athena_queries(&moto)
        .await
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    assert_eq!(states, ["FAILED", "SUCCEEDED"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_the_running_athena_query() {
    let moto = moto();
    let dir = temp_dir();
    let keys = landed(&moto, dir.path(), "raw/", &object_names(20)).await;
    // Queries stay QUEUED for ten minutes.
    let transition = serde_json::json!({
        "model_name": "athena::execution",
        "transition": {"progression": "time", "seconds": 600},
    });
    let response = http_post(
        moto.port,
        "/moto-api/state-manager/set-transition",
        &transition.to_string(),
    );
    assert!(response.contains(" 20"), "{response}");

    let mut compact = aws_cli(
        dir.path(),
        &moto,
        &["--verbose", "compact", "--engine", "athena"],
    )
    .start();
    compact.wait_for_stderr("the query started", |stderr| {
        stderr.contains("started; Ctrl-C stops it")
    });
    let (code, stderr) = compact.interrupt();
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("was stopped"), "{stderr}");
    let states: Vec<String> = athena_queries(&moto)
        .await
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    assert_eq!(states, ["CANCELLED"]);
    let batch = batches(&moto).await.remove(0);
    assert_eq!(batch.state, BatchState::Failed, "retryable");
    let store = S3Store::new(iotpipe::aws::s3(&sdk(&moto).await), "pipe");
    assert_eq!(
        store.list("raw/").await.unwrap().len(),
        keys.len(),
        "nothing deleted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_that_reads_nothing_is_not_taken_for_a_compaction() {
    let moto = moto();
    let dir = temp_dir();
    let keys = landed(&moto, dir.path(), "raw/", &object_names(20)).await;
    // The SQL points at a prefix where the objects are not: Athena succeeds,
    // reading nothing.
    let wrong = aws_cli(dir.path(), &moto, &["compact", "--engine", "athena"])
        .env("IOTPIPE_AWS_RAW_PREFIX", "elsewhere/")
        .run()
        .expect_code(1);
    assert!(
        wrong.stderr().contains("Athena read none of its")
            && wrong.stderr().contains("s3://pipe/elsewhere/"),
        "{}",
        wrong.stderr()
    );
    let store = S3Store::new(iotpipe::aws::s3(&sdk(&moto).await), "pipe");
    let raw = keys_under(&store, "raw/").await;
    assert_eq!(raw, keys, "nothing deleted");
    let batch = batches(&moto).await.remove(0);
    assert_eq!(batch.state, BatchState::Failed);

    let fixed = aws_cli(
        dir.path(),
        &moto,
        &["compact", "--engine", "athena", "-o", "jsonl"],
    )
    .run()
    .success();
    let reports = fixed.json_lines();
    assert_eq!(reports[0]["batch"], batch.id.as_str());
    assert_eq!(
        reports[0]["queries"][0]["bytes_scanned"], batch.bytes,
        "every object read"
    );
    assert!(store.list("raw/").await.unwrap().is_empty());
}
