//! The AWS backends against a real moto server: the DynamoDB counter passes the
//! same behaviour suite as the SQLite one, and the S3 store lists past 1,000 keys.

use std::sync::Arc;

use iotpipe::counter::Counter;
use iotpipe::counter::dynamodb::DynamoCounter;
use iotpipe::counter::suite;
use iotpipe::store::s3::S3Store;
use iotpipe::store::{Store, StoreError};

use crate::common::{Service, duckdb, iotpipe, moto, moto_endpoint, temp_dir};

/// A client configuration aimed at moto with dummy credentials (the traffic
/// stays on 127.0.0.1).
async fn sdk(moto: &Service) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(moto_endpoint(moto))
        .load()
        .await
}

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
    let endpoint = moto_endpoint(&moto);
    let aws = |args: &[&str]| {
        iotpipe(dir.path())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("IOTPIPE_BACKEND", "aws")
            .env("IOTPIPE_AWS_BUCKET", "pipe")
            .env("IOTPIPE_COUNTER_TABLE", "pipe-counter")
            .args(["--endpoint-url", &endpoint, "--region", "us-east-1"])
            .args(args)
            .run()
    };
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
