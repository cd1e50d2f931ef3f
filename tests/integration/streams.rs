//! Following the AWS side of the stream: `tail kinesis` on kinesalite across a
//! shard split, and `tail s3` on moto.

use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use aws_sdk_kinesis::primitives::Blob;

use crate::common::{Iotpipe, Service, iotpipe, iotpipe_on_aws, kinesalite, moto, sdk, temp_dir};

async fn wait_active(client: &aws_sdk_kinesis::Client, stream: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let summary = client
            .describe_stream_summary()
            .stream_name(stream)
            .send()
            .await
            .unwrap();
        let status = summary
            .stream_description_summary()
            .map(|s| s.stream_status().as_str().to_string());
        if status.as_deref() == Some("ACTIVE") {
            return;
        }
        assert!(Instant::now() < deadline, "stream stuck in {status:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A new stream of `shards` shards, once ACTIVE.
async fn new_stream(client: &aws_sdk_kinesis::Client, stream: &str, shards: i32) {
    client
        .create_stream()
        .stream_name(stream)
        .shard_count(shards)
        .send()
        .await
        .unwrap();
    wait_active(client, stream).await;
}

async fn put(client: &aws_sdk_kinesis::Client, stream: &str, key: &str, data: &str) {
    client
        .put_record()
        .stream_name(stream)
        .partition_key(key)
        .data(Blob::new(data.as_bytes()))
        .send()
        .await
        .unwrap();
}

/// `iotpipe tail kinesis ARGS` aimed at `kinesalite`.
fn tail_kinesis(dir: &std::path::Path, kinesalite: &Service, args: &[&str]) -> Iotpipe {
    iotpipe_on_aws(dir, kinesalite)
        .args(["tail", "kinesis"])
        .args(args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tail_kinesis_reads_every_record_once_parents_before_children_across_a_split() {
    let kinesalite = kinesalite();
    let client = iotpipe::aws::kinesis(&sdk(&kinesalite).await);
    new_stream(&client, "sensor", 1).await;
    let dir = temp_dir();
    let readings = iotpipe(dir.path())
        .args(["sense", "--sim", "--count", "60", "-o", "jsonl"])
        .run()
        .success()
        .stdout();
    let readings: Vec<&str> = readings.lines().collect();
    for (i, reading) in readings[..30].iter().enumerate() {
        put(&client, "sensor", &format!("device-{i}"), reading).await;
    }
    let parent = client
        .list_shards()
        .stream_name("sensor")
        .send()
        .await
        .unwrap()
        .shards()[0]
        .shard_id()
        .to_string();
    client
        .split_shard()
        .stream_name("sensor")
        .shard_to_split(&parent)
        .new_starting_hash_key("170141183460469231731687303715884105728")
        .send()
        .await
        .unwrap();
    wait_active(&client, "sensor").await;
    for (i, reading) in readings[30..].iter().enumerate() {
        put(&client, "sensor", &format!("device-{i}"), reading).await;
    }
    put(&client, "sensor", "device-x", "not a reading").await;

    let run = tail_kinesis(
        dir.path(),
        &kinesalite,
        &["--stream", "sensor", "--from", "trim-horizon"],
    )
    .args(["-C", "61", "-W", "20", "-v", "-o", "jsonl"])
    .run()
    .success();
    let lines = run.json_lines();
    assert_eq!(lines.len(), 61, "{}", run.stderr());
    let seqs: Vec<Option<u64>> = lines.iter().map(|l| l["payload"]["seq"].as_u64()).collect();
    // Parent first, in order; then the children's records.
    assert!(
        lines[..30].iter().all(|l| l["shard"] == parent.as_str()),
        "{lines:?}"
    );
    assert_eq!(
        seqs[..30],
        (0..30).map(Some).collect::<Vec<_>>(),
        "the parent's records in order"
    );
    assert!(lines[30..].iter().all(|l| l["shard"] != parent.as_str()));
    let mut children: Vec<u64> = seqs[30..].iter().flatten().copied().collect();
    children.sort_unstable();
    assert_eq!(
        children,
        (30..60).collect::<Vec<_>>(),
        "every child record once"
    );
    let shards: std::collections::BTreeSet<&str> = lines[30..]
        .iter()
        .filter_map(|l| l["shard"].as_str())
        .collect();
    assert_eq!(shards.len(), 2, "both children were read: {shards:?}");
    assert!(
        lines.iter().any(|l| l["payload_raw"] == "not a reading"),
        "the malformed record is shown raw"
    );
    assert!(
        run.stderr().contains("malformed payload"),
        "{}",
        run.stderr()
    );

    // At a time before the first record: the same records.
    let since = tail_kinesis(
        dir.path(),
        &kinesalite,
        &["--stream", "sensor", "--from", "at-timestamp", "1h"],
    )
    .args(["-C", "61", "-W", "20", "-o", "jsonl"])
    .run()
    .success();
    assert_eq!(since.stdout().lines().count(), 61);

    // From now on: nothing old, then a new record.
    let latest = tail_kinesis(
        dir.path(),
        &kinesalite,
        &[
            "--stream",
            "sensor",
            "-C",
            "1",
            "-W",
            "20",
            "-o",
            "jsonl",
            "--verbose",
        ],
    );
    // Both child shards have their LATEST iterator before the record is put.
    let mut latest = latest.start();
    latest.wait_for_stderr("both child shards at LATEST", |stderr| {
        stderr.matches("reading from Latest").count() == 2
    });
    put(&client, "sensor", "device-1", "{\"after\":\"start\"}").await;
    let mut printed = String::new();
    std::io::Read::read_to_string(&mut latest.child.stdout.take().unwrap(), &mut printed).unwrap();
    assert!(
        latest.child.wait().unwrap().success(),
        "{}",
        latest.stderr()
    );
    assert_eq!(printed.trim(), "{\"after\":\"start\"}");
}

#[test]
fn tail_kinesis_explains_a_missing_stream_and_a_bad_start() {
    let kinesalite = kinesalite();
    let dir = temp_dir();
    let run = tail_kinesis(dir.path(), &kinesalite, &["--stream", "nope", "-W", "5"])
        .run()
        .expect_code(1);
    assert!(
        run.stderr().contains("stream nope does not exist"),
        "{}",
        run.stderr()
    );
    let bad = iotpipe(dir.path())
        .args(["tail", "kinesis", "--from", "at-timestamp", "yesterday-ish"])
        .run()
        .expect_code(2);
    assert!(
        bad.stderr().contains("neither an RFC 3339 time"),
        "{}",
        bad.stderr()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tail_s3_prints_objects_as_they_land() {
    let moto: Service = moto();
    let s3 = iotpipe::aws::s3(&sdk(&moto).await);
    s3.create_bucket().bucket("pipe").send().await.unwrap();
    let put = |key: &'static str, body: &'static str| {
        let s3 = s3.clone();
        async move {
            s3.put_object()
                .bucket("pipe")
                .key(key)
                .body(body.as_bytes().to_vec().into())
                .send()
                .await
                .unwrap();
        }
    };
    put("landing/2026/03/01/09/old.jsonl", "{}\n").await;
    let dir = temp_dir();
    let tail = iotpipe_on_aws(dir.path(), &moto)
        .env("IOTPIPE_AWS_RAW_PREFIX", "landing/")
        .args([
            "--verbose",
            "tail",
            "s3",
            "--poll",
            "200ms",
            "-C",
            "2",
            "-W",
            "20",
            "-o",
            "jsonl",
        ]);
    // The objects already there are listed before new ones land.
    let mut tail = tail.start();
    tail.wait_for_stderr("the initial listing", |stderr| {
        stderr.contains("following s3://pipe/landing/")
    });
    put("landing/2026/03/01/10/a.jsonl", "{}\n{}\n").await;
    put("landing/2026/03/01/10/b.jsonl", "{}\n{}\n{}\n").await;
    let stdout = tail.child.stdout.take().unwrap();
    let lines: Vec<serde_json::Value> = BufReader::new(stdout)
        .lines()
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .collect();
    let status = tail.child.wait().unwrap();
    assert!(status.success());
    let seen: Vec<(&str, u64)> = lines
        .iter()
        .map(|l| (l["key"].as_str().unwrap(), l["rows"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        seen,
        [
            ("raw/2026/03/01/10/a.jsonl", 2),
            ("raw/2026/03/01/10/b.jsonl", 3)
        ],
        "only new objects, named in the layout"
    );
}

/// `--until latest` reads what the stream holds and exits 0 by itself;
/// `--shard` reads one shard; `-v` carries what Kinesis says of each record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tail_kinesis_until_latest_one_shard_and_record_details() {
    let kinesalite = kinesalite();
    let client = iotpipe::aws::kinesis(&sdk(&kinesalite).await);
    new_stream(&client, "two", 2).await;
    for i in 0..20 {
        put(
            &client,
            "two",
            &format!("pi-{i}"),
            &format!(r#"{{"n":{i}}}"#),
        )
        .await;
    }
    let dir = temp_dir();
    // Everything the stream holds now, then the end.
    let until_latest = || {
        tail_kinesis(
            dir.path(),
            &kinesalite,
            &[
                "--stream",
                "two",
                "--from",
                "trim-horizon",
                "--until",
                "latest",
            ],
        )
    };
    let all = until_latest()
        .args(["-W", "20", "-v", "-o", "jsonl"])
        .run()
        .success();
    let lines = all.json_lines();
    assert_eq!(
        lines.len(),
        20,
        "every record, then the end: {}",
        all.stderr()
    );
    for line in &lines {
        assert!(
            line["partition_key"]
                .as_str()
                .is_some_and(|k| k.starts_with("pi-"))
        );
        assert!(line["sequence"].as_str().is_some_and(|s| !s.is_empty()));
        assert!(
            line["arrived_at"]
                .as_str()
                .is_some_and(|t| t.ends_with('Z')),
            "{line}"
        );
        assert!(line["payload"]["n"].is_u64(), "{line}");
    }
    let shard = lines[0]["shard"].as_str().unwrap().to_string();
    let in_shard = lines
        .iter()
        .filter(|l| l["shard"] == shard.as_str())
        .count();
    assert!(in_shard < 20, "the keys spread over both shards");
    let one = until_latest()
        .args(["--shard", &shard, "-W", "20", "-v", "-o", "jsonl"])
        .run()
        .success();
    let one = one.json_lines();
    assert_eq!(one.len(), in_shard);
    assert!(one.iter().all(|l| l["shard"] == shard.as_str()));
    // On a terminal a line says how far along it is.
    let shown = until_latest().args(["-W", "20"]).on_terminal();
    assert!(
        shown.stdout().contains("tail kinesis: 2 shards read, ")
            && shown.stdout().contains("ms behind, 20 records"),
        "{}",
        shown.stdout()
    );
    let unknown = tail_kinesis(dir.path(), &kinesalite, &["--stream", "two"])
        .args(["--shard", "shardId-000000000042", "-W", "5"])
        .run();
    assert_ne!(unknown.code(), 0);
    assert!(
        unknown
            .stderr()
            .contains("has no shard shardId-000000000042")
            && unknown.stderr().contains("list-shards"),
        "{}",
        unknown.stderr()
    );
}
