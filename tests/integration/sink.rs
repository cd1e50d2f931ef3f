//! `iotpipe sink`, the counter and `iotpipe counters`, `tail objects`: landing
//! that loses nothing, checked by DuckDB reading the objects back.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::{Running, Service, duckdb, iotpipe, mosquitto, temp_dir};

/// A running sink; its stderr is collected, and it is killed on drop.
struct Sink(Running);

impl Sink {
    /// Starts a sink and waits until it has subscribed.
    fn start(dir: &Path, broker: &Service) -> Sink {
        let sink = iotpipe(dir)
            .args([
                "--verbose",
                "sink",
                "-p",
                &broker.port.to_string(),
                "--buffer-interval",
                "300ms",
            ])
            .args(["--data-dir", "data"])
            .start();
        sink.wait_for_stderr("sink did not subscribe", |stderr| {
            stderr.contains("subscribed to")
        });
        Sink(sink)
    }

    /// Ctrl-C: the sink flushes and exits 0.
    fn interrupt(mut self) -> String {
        let (code, stderr) = self.0.interrupt();
        assert_eq!(code, Some(0), "{stderr}");
        stderr
    }
}

fn publish_sim(dir: &Path, broker: &Service, count: u32, rate: u32) {
    iotpipe(dir)
        .args([
            "-q",
            "publish",
            "--sim",
            "--no-outbox",
            "-p",
            &broker.port.to_string(),
        ])
        .args(["--count", &count.to_string(), "--rate", &rate.to_string()])
        .run()
        .success();
}

/// Rows in raw/ as DuckDB reads them (gunzip + JSON lines): (rows, distinct seq, min, max).
fn landed(data: &Path) -> (i64, i64, i64, i64) {
    let glob = data.join("raw/**/*.jsonl.gz");
    if glob::is_empty(&data.join("raw")) {
        return (0, 0, 0, 0);
    }
    let rows = duckdb(&format!(
        "SELECT count(*) AS n, count(DISTINCT seq) AS d, min(seq) AS lo, max(seq) AS hi \
         FROM read_json_auto('{}', format = 'newline_delimited')",
        glob.display()
    ));
    let r = &rows[0];
    let get = |k: &str| r[k].as_i64().unwrap_or(0);
    (get("n"), get("d"), get("lo"), get("hi"))
}

mod glob {
    pub fn is_empty(dir: &std::path::Path) -> bool {
        walk(dir).is_empty()
    }

    pub fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    out.extend(walk(&path));
                } else {
                    out.push(path);
                }
            }
        }
        out.sort();
        out
    }
}

fn wait_for_rows(data: &Path, distinct: i64, timeout: Duration) -> (i64, i64, i64, i64) {
    let deadline = Instant::now() + timeout;
    loop {
        let got = landed(data);
        if got.1 >= distinct || Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn counters(dir: &Path, extra: &[&str]) -> (i32, serde_json::Value) {
    let run = iotpipe(dir)
        .args(["counters", "--data-dir", "data", "-o", "json"])
        .args(extra)
        .run();
    let value =
        serde_json::from_str(&run.stdout()).unwrap_or_else(|e| panic!("{e}: {}", run.stdout()));
    (run.code(), value)
}

#[test]
fn ten_thousand_readings_land_in_the_documented_layout() {
    let broker = mosquitto();
    let dir = temp_dir();
    let sink = Sink::start(dir.path(), &broker);
    publish_sim(dir.path(), &broker, 10_000, 50_000);
    let data = dir.path().join("data");
    let (rows, distinct, lo, hi) = wait_for_rows(&data, 10_000, Duration::from_secs(30));
    let stderr = sink.interrupt();
    assert_eq!(
        (rows, distinct, lo, hi),
        (10_000, 10_000, 0, 9_999),
        "{stderr}"
    );

    let objects = glob::walk(&data.join("raw"));
    let key_shape = |p: &Path| {
        let key = p
            .strip_prefix(&data)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let parts: Vec<&str> = key.split('/').collect();
        parts.len() == 6
            && parts[0] == "raw"
            && parts[1].len() == 4
            && parts[2..5].iter().all(|p| p.len() == 2)
            && parts[5].starts_with(&format!(
                "iotpipe-sink-1-{}-{}-{}-{}-",
                parts[1], parts[2], parts[3], parts[4]
            ))
            && parts[5].ends_with(".jsonl.gz")
    };
    assert!(objects.iter().all(|p| key_shape(p)), "{objects:?}");
    // Every object counted exactly once.
    let (_, summary) = counters(dir.path(), &[]);
    assert_eq!(summary["pending"], objects.len() as u64);
    assert!(stderr.contains("10000 readings"), "{stderr}");
}

#[test]
fn a_killed_sink_loses_nothing() {
    let broker = mosquitto();
    let dir = temp_dir();
    let sink = Sink::start(dir.path(), &broker);
    let port = broker.port.to_string();
    let mut publisher = iotpipe(dir.path())
        .args([
            "-q",
            "publish",
            "--sim",
            "--count",
            "50000",
            "--rate",
            "20000",
            "--no-outbox",
            "-p",
            &port,
        ])
        .command()
        .spawn()
        .unwrap();
    let data = dir.path().join("data");
    wait_for_rows(&data, 2_000, Duration::from_secs(20));
    let mut sink = sink;
    sink.0.child.kill().unwrap();
    sink.0.child.wait().unwrap();
    drop(sink);
    std::thread::sleep(Duration::from_millis(500));
    let restarted = Sink::start(dir.path(), &broker);
    assert_eq!(publisher.wait().unwrap().code(), Some(0));
    let (rows, distinct, lo, hi) = wait_for_rows(&data, 50_000, Duration::from_secs(60));
    let stderr = restarted.interrupt();
    assert_eq!(
        (distinct, lo, hi),
        (50_000, 0, 49_999),
        "no seq missing; {stderr}"
    );
    assert!(rows >= 50_000, "duplicates are allowed in raw only");
    let objects = glob::walk(&data.join("raw")).len() as u64;
    let (_, summary) = counters(dir.path(), &[]);
    assert_eq!(summary["pending"], objects, "each object counted once");
}

#[test]
fn malformed_payloads_are_rejected_with_a_reason_and_the_sink_goes_on() {
    let broker = mosquitto();
    let dir = temp_dir();
    let sink = Sink::start(dir.path(), &broker);
    let port = broker.port.to_string();
    let big = dir.path().join("big.json");
    std::fs::write(
        &big,
        format!("{{\"v\":1,\"pad\":\"{}\"}}", "x".repeat(1024 * 1024)),
    )
    .unwrap();
    let send = |args: &[&str]| {
        let status = std::process::Command::new("mosquitto_pub")
            .args(["-p", &port, "-t", "sensor/data", "-q", "1"])
            .args(args)
            .status()
            .unwrap();
        assert!(status.success());
    };
    send(&["-m", "not json at all"]);
    send(&[
        "-m",
        r#"{"v":1,"device_id":"d","run_id":"r","seq":"seven","ts":"2026-01-01T00:00:00Z"}"#,
    ]);
    send(&[
        "-m",
        r#"{"v":1,"device_id":"d","seq":1,"ts":"2026-01-01T00:00:00Z"}"#,
    ]);
    send(&["-f", big.to_str().unwrap()]);
    publish_sim(dir.path(), &broker, 5, 1000);
    let data = dir.path().join("data");
    let (rows, ..) = wait_for_rows(&data, 5, Duration::from_secs(20));
    let stderr = sink.interrupt();
    assert_eq!(rows, 5, "the valid readings after them landed: {stderr}");
    let rejected: Vec<serde_json::Value> = glob::walk(&data.join("rejected"))
        .iter()
        .flat_map(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .map(|line| serde_json::from_str(&line).unwrap())
        .collect();
    let reasons: Vec<&str> = rejected
        .iter()
        .map(|r| r["reason"].as_str().unwrap())
        .collect();
    assert_eq!(rejected.len(), 4, "{reasons:?}");
    assert!(reasons[0].contains("not schema v1 JSON"), "{reasons:?}");
    assert!(
        reasons[1].contains("invalid type") && reasons[1].contains("seven"),
        "{reasons:?}"
    );
    assert!(reasons[2].contains("missing field `run_id`"), "{reasons:?}");
    assert!(reasons[3].contains("unknown field `pad`"), "{reasons:?}");
    assert_eq!(
        rejected[3]["payload"].as_str().unwrap().len(),
        1024 * 1024 + 16,
        "kept whole"
    );
    assert_eq!(rejected[0]["payload"], "not json at all");
}

#[test]
fn reconcile_finds_objects_deleted_and_added_behind_its_back() {
    let broker = mosquitto();
    let dir = temp_dir();
    let sink = Sink::start(dir.path(), &broker);
    let data = dir.path().join("data");
    for _ in 0..2 {
        publish_sim(dir.path(), &broker, 10, 1000);
        std::thread::sleep(Duration::from_millis(600));
    }
    sink.interrupt();
    let objects = glob::walk(&data.join("raw"));
    assert!(objects.len() >= 2, "{objects:?}");
    let (code, _) = counters(dir.path(), &["--reconcile"]);
    assert_eq!(code, 0, "in agreement after a clean run");

    std::fs::remove_file(&objects[0]).unwrap();
    let added = objects[1].with_file_name("iotpipe-sink-1-2026-01-01-00-00-00-added.jsonl.gz");
    std::fs::copy(&objects[1], &added).unwrap();
    let key = |p: &Path| {
        p.strip_prefix(&data)
            .unwrap()
            .to_string_lossy()
            .into_owned()
    };

    let (code, drift) = counters(dir.path(), &["--reconcile"]);
    assert_eq!(code, 3);
    assert_eq!(drift["uncounted"], serde_json::json!([key(&added)]));
    assert_eq!(drift["gone"], serde_json::json!([key(&objects[0])]));

    let (code, drift) = counters(dir.path(), &["--reconcile", "--fix"]);
    assert_eq!(
        (code, drift["fixed"].as_u64()),
        (3, Some(1)),
        "the gone one cannot be fixed"
    );
    let (_, drift) = counters(dir.path(), &["--reconcile"]);
    assert_eq!(drift["uncounted"], serde_json::json!([]));
}

#[test]
fn tail_objects_prints_objects_as_they_land() {
    let broker = mosquitto();
    let dir = temp_dir();
    let sink = Sink::start(dir.path(), &broker);
    let mut tail = iotpipe(dir.path())
        .args([
            "--verbose",
            "tail",
            "objects",
            "--data-dir",
            "data",
            "-C",
            "1",
            "-W",
            "20",
            "-o",
            "jsonl",
        ])
        .start();
    tail.wait_for_stderr("the initial listing", |stderr| stderr.contains("following"));
    publish_sim(dir.path(), &broker, 25, 1000);
    let mut stdout = Vec::new();
    std::io::Read::read_to_end(&mut tail.child.stdout.take().unwrap(), &mut stdout).unwrap();
    let status = tail.child.wait().unwrap();
    sink.interrupt();
    assert_eq!(status.code(), Some(0), "{}", tail.stderr());
    let row: serde_json::Value = serde_json::from_slice(&stdout).unwrap();
    assert!(row["key"].as_str().unwrap().starts_with("raw/"), "{row}");
    assert!(row["size"].as_u64().unwrap() > 0);
    assert_eq!(row["rows"], 25);
}

#[test]
fn sigterm_stops_long_running_commands_as_ctrl_c_does() {
    let dir = temp_dir();
    let broker = mosquitto();
    let port = broker.port.to_string();
    let commands: [(&str, Vec<&str>, &str); 3] = [
        (
            "tail objects",
            vec!["tail", "objects", "--data-dir", "data"],
            "following",
        ),
        ("tail mqtt", vec!["tail", "mqtt", "-p", &port], "subscribed"),
        (
            "sink",
            vec!["sink", "-p", &port, "--data-dir", "data"],
            "sink: landing",
        ),
    ];
    for (name, args, ready) in commands {
        let mut running = iotpipe(dir.path()).args(["-v"]).args(&args).start();
        running.wait_for_stderr(name, |err| err.contains(ready));
        let (code, err) = running.terminate();
        assert_eq!(
            code,
            Some(if name == "sink" { 0 } else { 130 }),
            "{name}: {err}"
        );
    }
}

/// iotpipe on bucket `pipe` and table `pipe-counter` of a moto server.
fn on_moto(dir: &Path, moto: &Service) -> crate::common::Iotpipe {
    crate::common::iotpipe_on_aws(dir, moto)
}

/// Runs `work` to its end on a runtime of its own (these tests are not async).
fn block_on<T>(work: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(work)
}

fn create_bucket(moto: &Service) {
    block_on(async {
        let s3 = iotpipe::aws::s3(&crate::common::sdk(moto).await);
        s3.create_bucket().bucket("pipe").send().await.unwrap();
    });
}

/// The bucket's objects under `prefix`, with their bytes.
fn bucket_objects(moto: &Service, prefix: &str) -> Vec<(String, Vec<u8>)> {
    use iotpipe::store::Store;
    block_on(async {
        let s3 = iotpipe::aws::s3(&crate::common::sdk(moto).await);
        let store = iotpipe::store::s3::S3Store::new(s3, "pipe");
        let mut objects = Vec::new();
        for object in store.list(prefix).await.unwrap() {
            let body = store.get(&object.key).await.unwrap();
            objects.push((object.key, body));
        }
        objects
    })
}

/// `backend = "aws"` without IoT Core: the sink lands Firehose-named gzip
/// objects in the bucket, each counted once in DynamoDB, and `compact` makes
/// them one row per reading.
#[test]
fn the_sink_lands_in_s3_counted_in_dynamodb() {
    let broker = mosquitto();
    let moto = crate::common::moto();
    let dir = temp_dir();
    create_bucket(&moto);
    on_moto(dir.path(), &moto)
        .args(["counters", "--init"])
        .run()
        .success();
    let mut sink = on_moto(dir.path(), &moto)
        .args(["--verbose", "sink", "-p", &broker.port.to_string()])
        .args(["--buffer-interval", "300ms", "--data-dir", "data"])
        .start();
    sink.wait_for_stderr("the sink subscribes", |err| err.contains("subscribed to"));
    assert!(
        sink.stderr()
            .contains("into s3://pipe (raw/, counted in dynamodb table pipe-counter)"),
        "{}",
        sink.stderr()
    );
    publish_sim(dir.path(), &broker, 2000, 2000);
    std::thread::sleep(Duration::from_secs(2));
    let (code, err) = sink.interrupt();
    assert_eq!(code, Some(0), "{err}");

    let raw = bucket_objects(&moto, "raw/");
    assert!(!raw.is_empty());
    let mut seqs = std::collections::BTreeSet::new();
    for (key, body) in &raw {
        let name = key.rsplit('/').next().unwrap();
        assert!(
            key.starts_with("raw/20")
                && name.starts_with("iotpipe-sink-1-")
                && name.ends_with(".jsonl.gz"),
            "Firehose naming: {key}"
        );
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&body[..]), &mut text)
            .unwrap();
        for line in text.lines() {
            let reading: serde_json::Value = serde_json::from_str(line).unwrap();
            assert!(
                seqs.insert(reading["seq"].as_u64().unwrap()),
                "each reading once: {line}"
            );
        }
    }
    assert_eq!(seqs.len(), 2000);
    assert!(
        !dir.path().join("data/raw").exists(),
        "nothing in the data dir"
    );
    let reconcile = on_moto(dir.path(), &moto)
        .args(["counters", "--reconcile", "-o", "json"])
        .run()
        .success();
    let drift: serde_json::Value = serde_json::from_str(&reconcile.stdout()).unwrap();
    assert_eq!(drift["uncounted"], serde_json::json!([]), "{drift}");
    assert_eq!(drift["gone"], serde_json::json!([]), "{drift}");
    let counters: serde_json::Value = serde_json::from_str(
        &on_moto(dir.path(), &moto)
            .args(["counters", "-o", "json"])
            .run()
            .success()
            .stdout(),
    )
    .unwrap();
    assert_eq!(counters["pending"], raw.len(), "{counters}");
    on_moto(dir.path(), &moto)
        .args(["compact", "--all"])
        .run()
        .success();
    let compacted = block_on(async {
        let s3 = iotpipe::aws::s3(&crate::common::sdk(&moto).await);
        let store = iotpipe::store::s3::S3Store::new(s3, "pipe");
        crate::common::s3_table_rows(&store, "compacted/").await
    });
    assert_eq!(compacted.0, 2000, "one row per reading");
}

/// Which counter goes with which store: SQLite beside a bucket for one
/// machine, DynamoDB never with the data dir.
#[test]
fn counters_pair_with_stores_as_documented() {
    let dir = temp_dir();
    let run = iotpipe(dir.path())
        .args(["counters"])
        .env("IOTPIPE_COUNTER_BACKEND", "dynamodb")
        .run()
        .expect_code(2);
    assert!(
        run.stderr()
            .contains("counts objects in DynamoDB, but backend is \"local\""),
        "{}",
        run.stderr()
    );
    let moto = crate::common::moto();
    create_bucket(&moto);
    let run = on_moto(dir.path(), &moto)
        .args(["counters", "--data-dir", "data", "-o", "json"])
        .env("IOTPIPE_COUNTER_BACKEND", "sqlite")
        .run()
        .success();
    let counters: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(
        counters["counter"], "data/counter.sqlite3",
        "the SQLite counter beside the journal: {counters}"
    );
}

/// A mosquitto that keeps only 10 messages for a sink that is away drops the
/// rest after acknowledging them to the publisher; the sink names the hole
/// in the run's seq at once and counts it.
#[test]
fn readings_a_broker_dropped_are_named_and_counted() {
    let broker = crate::common::mosquitto_with("max_queued_messages 10\n");
    let dir = temp_dir();
    let lines = iotpipe(dir.path())
        .args(["sense", "--sim", "--count", "110", "-o", "jsonl"])
        .run()
        .success()
        .stdout_lines();
    let publish = |lines: &[String]| {
        iotpipe(dir.path())
            .args(["-q", "publish", "-l", "-q", "1", "--no-outbox"])
            .args(["-p", &broker.port.to_string()])
            .stdin(lines.join("\n") + "\n")
            .run()
            .success();
    };
    // The sink's persistent session exists; then it is away for 100 readings.
    Sink::start(dir.path(), &broker).interrupt();
    publish(&lines[..100]);
    let mut sink = iotpipe(dir.path())
        .args(["--verbose", "sink", "-p", &broker.port.to_string()])
        .args([
            "--buffer-interval",
            "300ms",
            "--data-dir",
            "data",
            "-o",
            "json",
        ])
        .start();
    sink.wait_for_stderr("sink did not subscribe", |err| {
        err.contains("subscribed to")
    });
    publish(&lines[100..]);
    sink.wait_for_stderr("the sink names the dropped readings", |err| {
        err.contains("readings never arrived")
    });
    let stats = sink.interrupt_for_json();
    let stderr = sink.stderr();
    // What mosquitto kept (10 queued, and those in flight) and the 10 after.
    let (rows, _, _, _) = landed(&dir.path().join("data"));
    let kept = rows as u64 - 10;
    assert!((10..100).contains(&kept), "{rows} rows landed");
    assert_eq!(stats["missing"], 100 - kept, "{stats}");
    assert!(
        stderr.contains(&format!(
            "{} readings never arrived (still missing after",
            100 - kept
        )) && stderr.contains(&format!("seq {kept}..=99"))
            && stderr.contains("max_queued_messages"),
        "{stderr}"
    );
    let (code, summary) = counters(dir.path(), &[]);
    assert_eq!(code, 0);
    assert_eq!(summary["missing_readings"], 100 - kept, "{summary}");
}
