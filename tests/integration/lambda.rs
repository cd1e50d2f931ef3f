//! The Lambda handler, invoked in process with real S3 event JSON (URL-encoded
//! keys, duplicate deliveries, records it must ignore) against moto: exact
//! counts, one claim per threshold, each claimed batch compacted by Athena; SQS
//! partial batch failures; and `iotpipe lambda --event` as a user runs it.

use std::sync::Arc;

use iotpipe::compact::{CLAIM_GRACE, Lease, Pipeline, TableSetup};
use iotpipe::counter::dynamodb::DynamoCounter;
use iotpipe::counter::{BatchState, Counter};
use iotpipe::lambda::Handler;
use iotpipe::store::Store;
use iotpipe::store::s3::S3Store;
use serde_json::{Value, json};

use crate::common::{
    Cloud, http_body, http_get, iotpipe_as, iotpipe_on_aws, lambda_runtime, moto, moto_endpoint,
    s3_table_rows, sdk, temp_dir,
};

/// One S3 event notification record, as S3 sends it (`key` URL-encoded).
fn s3_record(event: &str, bucket: &str, key: &str, size: u64) -> Value {
    json!({
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": "2026-03-01T00:00:01.000Z",
        "eventName": event,
        "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
        "requestParameters": {"sourceIPAddress": "203.0.113.5"},
        "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjsk"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "iotpipe-raw",
            "bucket": {"name": bucket, "ownerIdentity": {"principalId": "A3NL1KOZZKExample"}, "arn": format!("arn:aws:s3:::{bucket}")},
            "object": {"key": key, "size": size, "eTag": "d41d8cd98f00b204e9800998ecf8427e", "sequencer": "0055AED6DCD90281E5"}
        }
    })
}

fn created(key: &str) -> Value {
    s3_record("ObjectCreated:Put", "pipe", key, 100)
}

fn raw_key(i: usize) -> String {
    format!("raw/2026/03/01/00/stream-1-2026-03-01-00-00-00-{i:08}.jsonl")
}

/// The handler as deployed with `lambda.compact = "athena"`: a DynamoDB counter
/// (table `lambda-counter`) at `threshold`, the Athena engine on the stand-in
/// with its tables created.
async fn athena_handler(
    cloud: &Cloud,
    store: &Arc<S3Store>,
    threshold: u32,
) -> (Handler, Arc<DynamoCounter>) {
    let sdk = cloud.sdk().await;
    let counter = Arc::new(DynamoCounter::new(
        iotpipe::aws::dynamodb(&sdk),
        "lambda-counter",
    ));
    counter.create_table().await.unwrap();
    let athena = cloud.athena_engine(store).await;
    for statement in TableSetup::statements(&*athena) {
        TableSetup::run(&*athena, &statement, &iotpipe::progress::Silent)
            .await
            .unwrap();
    }
    let handler = Handler {
        store: store.clone(),
        counter: counter.clone(),
        threshold,
        pipeline: Some(Pipeline {
            store: store.clone(),
            counter: counter.clone(),
            engine: athena,
            fail_point: None,
            claim_grace: Some(CLAIM_GRACE),
            lease: Lease::for_this_runner(std::time::Duration::from_secs(35 * 60)),
        }),
    };
    (handler, counter)
}

/// DuckDB's reading of every Parquet file under `compacted/`: rows and distinct seqs.
async fn compacted_seqs(store: &S3Store) -> (usize, Vec<i64>) {
    let (rows, distinct) = s3_table_rows(store, "compacted/").await;
    (rows, distinct.iter().map(|(_, _, s)| *s).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_events_are_counted_exactly_once_and_each_full_batch_claimed_and_compacted() {
    let cloud = Cloud::start();
    let sdk = cloud.sdk().await;
    let s3 = iotpipe::aws::s3(&sdk);
    s3.create_bucket().bucket("pipe").send().await.unwrap();
    let store = Arc::new(S3Store::new(s3, "pipe"));
    let special = "raw/2026/03/01/00/it's a key+1 é.jsonl";
    let mut keys: Vec<String> = (0..44).map(raw_key).collect();
    keys.push(special.to_string());
    // Object i holds seq i and i + 1, so each batch shares a reading with the
    // next; object 7 is not JSON.
    let mut readings_of: std::collections::HashMap<String, Vec<i64>> = Default::default();
    for (i, key) in keys.iter().enumerate() {
        let body = if i == 7 {
            b"not json at all\n".to_vec()
        } else {
            readings_of.insert(key.clone(), vec![i as i64, i as i64 + 1]);
            let line = |seq: usize| {
                json!({"v": 1, "device_id": "dev", "run_id": "run", "seq": seq,
                       "ts": format!("2026-03-01T00:{:02}:00.000Z", seq % 60)})
                .to_string()
            };
            format!("{}\n{}\n", line(i), line(i + 1)).into_bytes()
        };
        store.put(key, &body).await.unwrap();
    }
    let (handler, counter) = athena_handler(&cloud, &store, 20).await;

    // 25 new objects (one of them delivered twice, one with a URL-encoded
    // name), a deletion and a compaction output, which are not counted.
    let mut records: Vec<Value> = keys[..24].iter().map(|k| created(k)).collect();
    records.push(created("raw/2026/03/01/00/it%27s+a+key%2B1+%C3%A9.jsonl"));
    records.push(created(&keys[3]));
    records.push(s3_record("ObjectRemoved:Delete", "pipe", &keys[5], 0));
    records.push(created("compacted/dt=2026-03-01/batch=x/part-0"));
    records.push(s3_record("ObjectCreated:Put", "elsewhere", &keys[6], 1));
    let event = json!({ "Records": records });
    let first = handler.handle(event.clone()).await.unwrap();
    assert_eq!(
        (&first["recorded"], &first["duplicates"], &first["ignored"]),
        (&json!(25), &json!(1), &json!(3)),
        "{first}"
    );
    assert_eq!(
        first["claimed"].as_array().map(Vec::len),
        Some(1),
        "{first}"
    );
    assert_eq!(first["compacted"], first["claimed"], "{first}");

    // S3 delivers the same event again: nothing changes.
    let again = handler.handle(event).await.unwrap();
    assert_eq!(
        (&again["recorded"], &again["duplicates"]),
        (&json!(0), &json!(26))
    );
    assert_eq!(again["claimed"], json!([]));

    // The other 20 through SQS, two messages, plus one that is not an S3 event
    // and S3's test event: only the broken one is reported back.
    let message = |id: &str, body: String| {
        json!({"messageId": id, "receiptHandle": "h", "body": body, "attributes": {}, "messageAttributes": {},
               "md5OfBody": "x", "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q", "awsRegion": "us-east-1"})
    };
    let half = |range: std::ops::Range<usize>| {
        json!({"Records": keys[range].iter().map(|k| created(k)).collect::<Vec<_>>()}).to_string()
    };
    let sqs = json!({"Records": [
        message("m1", half(24..34)),
        message("m2", half(34..44)),
        message("m3", "{not json".into()),
        message("m4", json!({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "pipe"}).to_string()),
    ]});
    let response = handler.handle(sqs).await.unwrap();
    assert_eq!(
        response,
        json!({"batchItemFailures": [{"itemIdentifier": "m3"}]}),
        "the Lambda way"
    );

    assert_eq!(
        counter.pending().await.unwrap(),
        5,
        "45 counted, 40 claimed"
    );
    let batches = counter.batches().await.unwrap();
    assert_eq!(batches.len(), 2, "one claim per threshold");
    let mut claimed: Vec<String> = Vec::new();
    for batch in &batches {
        assert_eq!(batch.state, BatchState::Compacted);
        assert_eq!(batch.keys.len(), 20);
        claimed.extend(batch.keys.iter().cloned());
    }
    claimed.sort();
    claimed.dedup();
    assert_eq!(claimed.len(), 40, "no object in two batches");
    let counted: Vec<String> = counter
        .counted()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.key)
        .collect();
    assert!(
        counted.contains(&special.to_string()),
        "the key is counted decoded"
    );
    assert_eq!(counted.len(), 45);
    let left = store.list("raw/").await.unwrap();
    assert_eq!(
        left.len(),
        5,
        "the compacted batches' raw objects are deleted"
    );
    // Every reading of the compacted objects once, the poison object's line kept aside.
    let mut expected: Vec<i64> = claimed
        .iter()
        .filter_map(|k| readings_of.get(k))
        .flatten()
        .copied()
        .collect();
    expected.sort();
    expected.dedup();
    let (rows, seqs) = compacted_seqs(&store).await;
    assert_eq!(seqs, expected);
    assert_eq!(rows, expected.len(), "each once");
    let rejected = store.list("rejected/").await.unwrap();
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    let kept = store.get(&rejected[0].key).await.unwrap();
    assert!(String::from_utf8_lossy(&kept).contains("not json at all"));

    // A batch claimed moments ago (by another invocation, still running) is
    // left to its claimer by the scheduled run.
    let young = counter.claim(5).await.unwrap().unwrap();
    let scheduled = handler
        .handle(json!({"version": "0", "id": "e", "detail-type": "Scheduled Event", "source": "aws.events",
                        "account": "123456789012", "time": "2026-03-01T01:00:00Z", "region": "us-east-1",
                        "resources": [], "detail": {}}))
        .await
        .unwrap();
    assert_eq!(
        (&scheduled["compacted"], &scheduled["claimed"]),
        (&json!([]), &json!([]))
    );
    assert_eq!(
        counter.batch(&young.id).await.unwrap().state,
        BatchState::Claimed,
        "not taken over within the claim grace"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_threshold_100_s3_events_compact_two_batches_of_overlapping_objects_once() {
    let cloud = Cloud::start();
    let s3 = iotpipe::aws::s3(&cloud.sdk().await);
    s3.create_bucket().bucket("pipe").send().await.unwrap();
    let store = Arc::new(S3Store::new(s3, "pipe"));
    // Object i holds seq i and i + 1: every batch shares a reading with the next.
    let keys: Vec<String> = (0..210).map(raw_key).collect();
    for (i, key) in keys.iter().enumerate() {
        let line = |seq: usize| {
            json!({"v": 1, "device_id": "dev", "run_id": "run", "seq": seq,
                   "ts": format!("2026-03-01T{:02}:{:02}:00.000Z", seq / 60 % 24, seq % 60)})
            .to_string()
        };
        let body = format!("{}\n{}\n", line(i), line(i + 1));
        store.put(key, body.as_bytes()).await.unwrap();
    }
    let (handler, counter) = athena_handler(&cloud, &store, 100).await;
    // S3 delivers in events of 10 records, each event once and the first twice.
    let events: Vec<Value> = keys
        .chunks(10)
        .map(|chunk| json!({"Records": chunk.iter().map(|k| created(k)).collect::<Vec<_>>()}))
        .collect();
    let mut compacted = Vec::new();
    for event in events.iter().chain(&events[..1]) {
        let summary = handler.handle(event.clone()).await.unwrap();
        compacted.extend(summary["compacted"].as_array().cloned().unwrap_or_default());
    }
    assert_eq!(compacted.len(), 2, "two full batches of 100");
    assert_eq!(counter.pending().await.unwrap(), 10);
    let (rows, seqs) = compacted_seqs(&store).await;
    assert_eq!(
        seqs,
        (0..=200).collect::<Vec<i64>>(),
        "objects 0-199: seq 0 to 200"
    );
    assert_eq!(rows, 201, "seq 100, in both batches, once");
    assert_eq!(store.list("raw/").await.unwrap().len(), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambda_event_runs_one_event_and_explains_misuse() {
    let moto = moto();
    let s3 = iotpipe::aws::s3(&sdk(&moto).await);
    s3.create_bucket().bucket("pipe").send().await.unwrap();
    let dir = temp_dir();
    let cli = |args: &[&str]| {
        iotpipe_on_aws(dir.path(), &moto)
            .env("IOTPIPE_COUNTER_THRESHOLD", "2")
            .env("IOTPIPE_LAMBDA_COMPACT", "off")
            .args(args)
    };
    cli(&["counters", "--init"]).run().success();
    let event =
        json!({"Records": [created(&raw_key(1)), created(&raw_key(2)), created(&raw_key(2))]});
    std::fs::write(dir.path().join("event.json"), event.to_string()).unwrap();
    let run = cli(&["lambda", "--event", "event.json", "-o", "json"])
        .run()
        .success();
    let summary: Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(
        (&summary["recorded"], &summary["duplicates"]),
        (&json!(2), &json!(1))
    );
    assert_eq!(summary["claimed"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        summary["compacted"],
        json!([]),
        "lambda.compact = off leaves it to iotpipe compact"
    );

    let outside = cli(&["lambda"]).run().expect_code(2);
    assert!(
        outside.stderr().contains("AWS_LAMBDA_RUNTIME_API"),
        "{}",
        outside.stderr()
    );
    std::fs::write(dir.path().join("odd.json"), "{\"hello\": 1}").unwrap();
    let odd = cli(&["lambda", "--event", "odd.json"]).run().expect_code(2);
    assert!(
        odd.stderr().contains("not an S3, SQS or scheduled event"),
        "{}",
        odd.stderr()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployed_as_bootstrap_it_serves_the_lambda_runtime_api() {
    let moto = moto();
    let s3 = iotpipe::aws::s3(&sdk(&moto).await);
    s3.create_bucket().bucket("pipe").send().await.unwrap();
    let dir = temp_dir();
    iotpipe_on_aws(dir.path(), &moto)
        .args(["counters", "--init"])
        .run()
        .success();
    let runtime = lambda_runtime(&json!([
        {"Records": [created(&raw_key(1)), created(&raw_key(1))]},
        {"hello": "world"},
    ]));
    // The provided.al2023 runtime starts the zip's `bootstrap` without arguments.
    let bootstrap = dir.path().join("bootstrap");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_iotpipe"), &bootstrap).unwrap();
    let mut function = iotpipe_as(dir.path(), &bootstrap)
        .env(
            "AWS_LAMBDA_RUNTIME_API",
            format!("127.0.0.1:{}", runtime.port),
        )
        .env("AWS_LAMBDA_FUNCTION_NAME", "iotpipe")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", moto_endpoint(&moto))
        .env("IOTPIPE_BACKEND", "aws")
        .env("IOTPIPE_AWS_BUCKET", "pipe")
        .env("IOTPIPE_COUNTER_TABLE", "pipe-counter")
        .env("IOTPIPE_LAMBDA_COMPACT", "off")
        .command()
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let results = loop {
        let response = http_get(runtime.port, "/_double/results").unwrap();
        let results: Vec<Value> = serde_json::from_str(http_body(&response)).unwrap();
        if results.len() >= 2 || std::time::Instant::now() > deadline {
            break results;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let _ = function.kill();
    let _ = function.wait();
    assert_eq!(results.len(), 2, "{results:?}");
    assert_eq!(
        (&results[0]["request"], &results[0]["kind"]),
        (&json!("request-0"), &json!("response"))
    );
    assert_eq!(
        (
            &results[0]["body"]["recorded"],
            &results[0]["body"]["duplicates"]
        ),
        (&json!(1), &json!(1))
    );
    assert_eq!(
        (&results[1]["request"], &results[1]["kind"]),
        (&json!("request-1"), &json!("error"))
    );
    assert!(
        results[1]["body"]["errorMessage"]
            .as_str()
            .unwrap_or_default()
            .contains("not an S3, SQS or scheduled event"),
        "{results:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduled_run_counts_objects_whose_events_were_lost() {
    let moto = moto();
    let sdk = sdk(&moto).await;
    let s3 = iotpipe::aws::s3(&sdk);
    s3.create_bucket().bucket("pipe").send().await.unwrap();
    let store = Arc::new(S3Store::new(s3, "pipe"));
    let counter = Arc::new(DynamoCounter::new(
        iotpipe::aws::dynamodb(&sdk),
        "missed-counter",
    ));
    counter.create_table().await.unwrap();
    let handler = Handler {
        store: store.clone(),
        counter: counter.clone(),
        threshold: 100,
        pipeline: None,
    };
    let scheduled = json!({"version": "0", "id": "e", "detail-type": "Scheduled Event", "source": "aws.events",
                           "account": "123456789012", "time": "2026-03-01T01:00:00Z", "region": "us-east-1",
                           "resources": [], "detail": {}});
    for i in 0..3 {
        store.put(&raw_key(i), b"{}\n").await.unwrap();
    }
    // Only the first object's event arrives.
    let first = handler
        .handle(json!({"Records": [created(&raw_key(0))]}))
        .await
        .unwrap();
    assert_eq!(first["recorded"], 1);
    let pass = handler.handle(scheduled.clone()).await.unwrap();
    assert_eq!(pass["missed"], 2, "{pass}");
    assert_eq!(counter.pending().await.unwrap(), 3, "each counted once");
    let again = handler.handle(scheduled.clone()).await.unwrap();
    assert_eq!(again.get("missed"), None, "nothing new: {again}");

    // The next pass lists from an hour before the newest key it saw: a new
    // hour's object is found, one named by a day long past is not listed.
    store
        .put(
            "raw/2026/03/01/01/stream-1-2026-03-01-01-00-00-00000001.jsonl",
            b"{}\n",
        )
        .await
        .unwrap();
    store
        .put(
            "raw/2026/02/01/00/stream-1-2026-02-01-00-00-00-00000001.jsonl",
            b"{}\n",
        )
        .await
        .unwrap();
    let later = handler.handle(scheduled).await.unwrap();
    assert_eq!(later["missed"], 1, "{later}");
    assert_eq!(counter.pending().await.unwrap(), 4);
}

/// A counter whose claims fail (a throttled or unreachable table) while
/// recording works.
use iotpipe::counter::{CounterError, Fence, Hold, LeaseState};

struct ClaimsFail(iotpipe::counter::sqlite::SqliteCounter);

#[async_trait::async_trait]
impl Counter for ClaimsFail {
    async fn record(
        &self,
        key: &str,
        size: u64,
    ) -> Result<iotpipe::counter::Recorded, iotpipe::counter::CounterError> {
        self.0.record(key, size).await
    }
    async fn pending(&self) -> Result<u64, iotpipe::counter::CounterError> {
        self.0.pending().await
    }
    async fn claim(
        &self,
        _n: u32,
    ) -> Result<Option<iotpipe::counter::Batch>, iotpipe::counter::CounterError> {
        Err(iotpipe::counter::CounterError::Table {
            table: "lambda-counter".into(),
            message: "ProvisionedThroughputExceededException: throttled".into(),
        })
    }
    async fn batch(
        &self,
        id: &str,
    ) -> Result<iotpipe::counter::Batch, iotpipe::counter::CounterError> {
        self.0.batch(id).await
    }
    async fn batches(
        &self,
    ) -> Result<Vec<iotpipe::counter::Batch>, iotpipe::counter::CounterError> {
        self.0.batches().await
    }
    async fn lease(
        &self,
        id: &str,
        holder: &str,
        ttl: std::time::Duration,
        held: Option<Fence>,
    ) -> Result<Option<Fence>, CounterError> {
        self.0.lease(id, holder, ttl, held).await
    }
    async fn lease_holder(&self, id: &str) -> Result<Option<LeaseState>, CounterError> {
        self.0.lease_holder(id).await
    }
    async fn lock(
        &self,
        name: &str,
        holder: &str,
        ttl: std::time::Duration,
        held: Option<Fence>,
    ) -> Result<Option<Fence>, CounterError> {
        self.0.lock(name, holder, ttl, held).await
    }
    async fn unlock(&self, name: &str, holder: &str, fence: Fence) -> Result<(), CounterError> {
        self.0.unlock(name, holder, fence).await
    }
    async fn mark_compacted(&self, id: &str, hold: &Hold) -> Result<(), CounterError> {
        self.0.mark_compacted(id, hold).await
    }
    async fn mark_failed(&self, id: &str, hold: &Hold, error: &str) -> Result<(), CounterError> {
        self.0.mark_failed(id, hold, error).await
    }
    async fn counted(
        &self,
    ) -> Result<Vec<iotpipe::counter::Counted>, iotpipe::counter::CounterError> {
        self.0.counted().await
    }
    async fn pending_objects(
        &self,
    ) -> Result<Vec<iotpipe::counter::Pending>, iotpipe::counter::CounterError> {
        self.0.pending_objects().await
    }
    fn describe(&self) -> String {
        self.0.describe()
    }
    async fn checkpoint(
        &self,
        name: &str,
    ) -> Result<Option<String>, iotpipe::counter::CounterError> {
        self.0.checkpoint(name).await
    }
    async fn set_checkpoint(
        &self,
        name: &str,
        key: &str,
    ) -> Result<(), iotpipe::counter::CounterError> {
        self.0.set_checkpoint(name, key).await
    }
}

/// SQS: messages whose events were recorded are done even when claiming
/// fails afterwards; failing the invocation would have SQS redeliver them
/// into the dead-letter queue, which is for events that could not be recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_sqs_messages_are_done_even_when_claiming_fails() {
    let moto = moto();
    let s3 = iotpipe::aws::s3(&sdk(&moto).await);
    s3.create_bucket().bucket("pipe").send().await.unwrap();
    let store = Arc::new(S3Store::new(s3, "pipe"));
    let dir = temp_dir();
    let counter =
        iotpipe::counter::sqlite::SqliteCounter::open(&dir.path().join("c.sqlite3")).unwrap();
    let handler = Handler {
        store,
        counter: Arc::new(ClaimsFail(counter)),
        threshold: 2,
        pipeline: None,
    };
    let message = |id: &str, keys: &[String]| {
        json!({"messageId": id, "receiptHandle": "h", "attributes": {}, "messageAttributes": {},
               "body": json!({"Records": keys.iter().map(|k| created(k)).collect::<Vec<_>>()}).to_string(),
               "md5OfBody": "x", "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q", "awsRegion": "us-east-1"})
    };
    let keys: Vec<String> = (0..4).map(raw_key).collect();
    let sqs = json!({"Records": [message("m1", &keys[..2]), message("m2", &keys[2..]), message("m3", &[])]});
    let response = handler.handle(sqs).await.unwrap();
    assert_eq!(
        response,
        json!({"batchItemFailures": []}),
        "every message recorded: none goes back to the queue"
    );
    assert_eq!(
        handler.counter.pending().await.unwrap(),
        4,
        "all four counted"
    );
}
