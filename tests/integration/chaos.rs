//! Kill anything: publish -> broker -> sink -> compact while the publisher, the
//! sink and the compactors are killed with SIGKILL and the broker is restarted
//! at random moments, two compactors run side by side, and compactors are
//! frozen (SIGSTOP) past their lease (`compact.lease`, shortened to 2 s) and
//! thawed later; then DuckDB finds every published reading in exactly one
//! Parquet row: in the data dir, and (the S3 variant) with the sink landing in
//! a bucket counted in DynamoDB (moto). The seed is printed;
//! `IOTPIPE_CHAOS_SEED` replays a run and `IOTPIPE_CHAOS_SECONDS` (default 45,
//! 30 on S3) runs it longer.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::{
    Running, Service, compacted_keys, iotpipe, mosquitto_with, moto, moto_endpoint, s3_table_rows,
    sdk, temp_dir,
};

const CHUNK: usize = 500;

/// Where the sink lands and `compact` works.
#[derive(Clone, Copy, PartialEq)]
enum Landing {
    /// The data dir, counted in SQLite.
    DataDir,
    /// Bucket `pipe` and DynamoDB table `pipe-counter` on moto.
    S3,
}

/// A process of the pipeline that the test kills and starts again.
struct Role {
    running: Option<Running>,
    kills: u32,
    starts: u32,
    /// Stopped with SIGSTOP until then.
    frozen_until: Option<Instant>,
    freezes: u32,
}

impl Role {
    fn new() -> Role {
        Role {
            running: None,
            kills: 0,
            starts: 0,
            frozen_until: None,
            freezes: 0,
        }
    }

    fn signal(&self, signal: &str) {
        if let Some(running) = &self.running {
            let _ = std::process::Command::new("kill")
                .args([signal, &running.child.id().to_string()])
                .status();
        }
    }

    /// Stops the process (SIGSTOP) for `pause`: past its lease, a frozen
    /// runner's batch and writer lock go to others; thawed, it must change nothing.
    fn freeze(&mut self, pause: Duration) {
        if self.running.is_some() && self.frozen_until.is_none() {
            self.signal("-STOP");
            self.frozen_until = Some(Instant::now() + pause);
            self.freezes += 1;
        }
    }

    /// Thaws it once its pause is over (`now`: whatever the pause).
    fn thaw(&mut self, now: bool) {
        if self
            .frozen_until
            .is_some_and(|until| now || Instant::now() >= until)
        {
            self.signal("-CONT");
            self.frozen_until = None;
        }
    }

    /// The exit code if it ended (None: still running or never started).
    fn ended(&mut self) -> Option<Option<i32>> {
        let running = self.running.as_mut()?;
        let status = running.child.try_wait().expect("try_wait")?;
        self.running = None;
        Some(status.code())
    }

    fn start(&mut self, process: Running) {
        self.running = Some(process);
        self.starts += 1;
    }

    fn kill(&mut self) -> bool {
        self.frozen_until = None;
        let Some(mut running) = self.running.take() else {
            return false;
        };
        let _ = running.child.kill();
        let _ = running.child.wait();
        self.kills += 1;
        true
    }
}

fn keys(lines: &[String]) -> BTreeSet<(String, String, i64)> {
    lines
        .iter()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            (
                v["device_id"].as_str().unwrap().to_string(),
                v["run_id"].as_str().unwrap().to_string(),
                v["seq"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn every_reading_lands_once_whatever_is_killed() {
    chaos(Landing::DataDir, 12_000, 45);
}

#[test]
fn every_reading_lands_once_in_s3_whatever_is_killed() {
    // Fewer readings: moto copies a table in each transaction.
    chaos(Landing::S3, 6_000, 30);
}

fn chaos(landing: Landing, readings: usize, default_seconds: u64) {
    let seed: u64 = std::env::var("IOTPIPE_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    let seconds: u64 = std::env::var("IOTPIPE_CHAOS_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default_seconds);
    eprintln!("chaos: seed {seed} (IOTPIPE_CHAOS_SEED={seed} replays it), {seconds} s");
    let mut rng = fastrand::Rng::with_seed(seed);

    let mut broker: Service = mosquitto_with("persistence true\npersistence_file broker.db\n");
    let dir = temp_dir();
    let port = broker.port.to_string();
    // The readings to publish, in chunks a publisher takes one at a time.
    let all = iotpipe(dir.path())
        .args(["sense", "--sim", "--count", &readings.to_string()])
        .args(["--seed", &seed.to_string()])
        .args(["--device-id", "chaos", "-o", "jsonl"])
        .run()
        .success()
        .stdout_lines();
    let chunks: Vec<PathBuf> = all
        .chunks(CHUNK)
        .enumerate()
        .map(|(i, lines)| {
            let path = dir.path().join(format!("chunk-{i:03}.jsonl"));
            std::fs::write(&path, lines.join("\n") + "\n").unwrap();
            path
        })
        .collect();

    let cloud = (landing == Landing::S3).then(|| {
        let moto = moto();
        runtime().block_on(async {
            let s3 = iotpipe::aws::s3(&sdk(&moto).await);
            s3.create_bucket().bucket("pipe").send().await.unwrap();
        });
        moto
    });
    let env = |command: crate::common::Iotpipe| {
        let command = command
            .env("IOTPIPE_DATA_DIR", "data")
            .env("IOTPIPE_MQTT_PORT", &port)
            .env("IOTPIPE_COUNTER_THRESHOLD", "4")
            .env("IOTPIPE_COMPACT_LEASE", "2s")
            .env("IOTPIPE_SINK_BUFFER_INTERVAL", "200ms");
        match &cloud {
            None => command,
            Some(moto) => command
                .env("IOTPIPE_BACKEND", "aws")
                .env("IOTPIPE_AWS_BUCKET", "pipe")
                .env("IOTPIPE_COUNTER_TABLE", "pipe-counter")
                .env("AWS_ENDPOINT_URL", moto_endpoint(moto))
                .env("AWS_ACCESS_KEY_ID", "testing")
                .env("AWS_SECRET_ACCESS_KEY", "testing")
                .env("AWS_REGION", "us-east-1"),
        }
    };
    if cloud.is_some() {
        env(iotpipe(dir.path()))
            .args(["counters", "--init"])
            .run()
            .success();
    }
    let table = |dir: &Path| match &cloud {
        None => compacted_keys(&dir.join("data")),
        Some(moto) => runtime().block_on(async {
            let store =
                iotpipe::store::s3::S3Store::new(iotpipe::aws::s3(&sdk(moto).await), "pipe");
            s3_table_rows(&store, "compacted/").await
        }),
    };
    let publish = |chunk: &Path| {
        env(iotpipe(dir.path()))
            .args([
                "publish", "-q", "1", "--rate", "500", "--outbox", "outbox", "--file",
            ])
            .args([chunk])
            .start()
    };
    let sink = || env(iotpipe(dir.path())).args(["-v", "sink"]).start();
    let compact = || env(iotpipe(dir.path())).args(["compact", "--all"]).start();

    let (mut publisher, mut sinker) = (Role::new(), Role::new());
    // Two compactors, side by side on the same data.
    let mut compactors = [Role::new(), Role::new()];
    let mut broker_restarts = 0;
    let mut next_chunk = 0;
    // The sink's persistent session must exist before the first reading is
    // published: the broker keeps messages only for sessions it knows.
    let first = sink();
    first.wait_for_stderr("the sink subscribes", |err| err.contains("subscribed to"));
    sinker.start(first);
    let chaos_until = Instant::now() + Duration::from_secs(seconds);
    let deadline = chaos_until + Duration::from_secs(90);
    loop {
        let chaos = Instant::now() < chaos_until;
        // Publishers: a chunk is done when a run of it exits 0; any other end retries it.
        if publisher.ended() == Some(Some(0)) {
            next_chunk += 1;
        }
        if publisher.running.is_none() && next_chunk < chunks.len() {
            publisher.start(publish(&chunks[next_chunk]));
        }
        if sinker.ended().is_some() || sinker.running.is_none() {
            sinker.start(sink());
        }
        for compactor in &mut compactors {
            compactor.thaw(false);
            let _ = compactor.ended();
            if compactor.running.is_none() && rng.u8(..4) == 0 {
                compactor.start(compact());
            }
        }
        if chaos {
            let compactor = &mut compactors[rng.usize(..2)];
            match rng.u8(..11) {
                0 => {
                    publisher.kill();
                }
                1 => {
                    sinker.kill();
                }
                2 => {
                    // Mid-run: start one if none is running, then kill it a moment later.
                    if compactor.running.is_none() {
                        compactor.start(compact());
                    }
                    std::thread::sleep(Duration::from_millis(rng.u64(0..150)));
                    compactor.kill();
                }
                4 => compactor.freeze(Duration::from_millis(rng.u64(2_500..5_000))),
                3 => {
                    broker.terminate();
                    std::thread::sleep(Duration::from_millis(rng.u64(50..400)));
                    broker.restart();
                    broker_restarts += 1;
                }
                _ => {}
            }
        } else if next_chunk == chunks.len() {
            break;
        }
        assert!(Instant::now() < deadline, "publishing did not finish");
        std::thread::sleep(Duration::from_millis(rng.u64(50..400)));
    }

    // Every chunk was acknowledged; let the sink take what the broker still
    // holds for it, compact, and look.
    let expected = keys(&all);
    let settle = Instant::now() + Duration::from_secs(60);
    let found = loop {
        for compactor in &mut compactors {
            compactor.thaw(true);
            let _ = compactor.ended();
            if let Some(mut running) = compactor.running.take() {
                let _ = running.child.wait();
            }
        }
        env(iotpipe(dir.path())).args(["compact", "--all"]).run();
        let found = table(dir.path());
        if found.1.len() == expected.len() || Instant::now() > settle {
            break found;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    if let Some(mut running) = sinker.running.take() {
        running.interrupt();
    }
    // The counter and the store agree: nothing landed uncounted, nothing counted is gone.
    let reconcile = env(iotpipe(dir.path()))
        .args(["counters", "--reconcile", "-o", "json"])
        .run()
        .success();
    let drift: serde_json::Value = serde_json::from_str(&reconcile.stdout()).unwrap();
    assert_eq!(
        drift["uncounted"],
        serde_json::json!([]),
        "seed {seed}: {drift}"
    );
    assert_eq!(drift["gone"], serde_json::json!([]), "seed {seed}: {drift}");
    eprintln!(
        "chaos ({}): seed {seed}: survived {} publisher kills, {} sink kills, {} compactor kills, \
         {} compactor freezes past the lease and {broker_restarts} broker restarts; {} publisher \
         runs for {} chunks",
        if cloud.is_some() { "S3" } else { "data dir" },
        publisher.kills,
        sinker.kills,
        compactors.iter().map(|c| c.kills).sum::<u32>(),
        compactors.iter().map(|c| c.freezes).sum::<u32>(),
        publisher.starts,
        chunks.len()
    );
    let (rows, keys) = found;
    let missing: Vec<_> = expected.difference(&keys).collect();
    let counters = || {
        env(iotpipe(dir.path()))
            .args(["counters", "-o", "json"])
            .run()
            .stdout()
    };
    assert!(
        missing.is_empty(),
        "seed {seed}: {} readings missing, e.g. {:?}; the counter: {}",
        missing.len(),
        &missing[..missing.len().min(5)],
        counters()
    );
    assert_eq!(
        rows,
        expected.len(),
        "seed {seed}: every reading in exactly one row"
    );
    assert_eq!(keys, expected, "seed {seed}");
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The burst phase: four outboxes flush into `up`'s own broker at once and
/// `up` is killed (SIGKILL) twice in the middle and started again. The
/// broker acknowledged only what its sink had journaled; what it had not,
/// the publishers' outboxes send again; DuckDB finds every reading of every
/// publisher in exactly one row.
#[test]
fn a_burst_into_up_lands_every_reading_once_however_often_up_is_killed() {
    const PUBLISHERS: usize = 4;
    const EACH: usize = 5_000;
    let dir = temp_dir();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
        .to_string();
    let start_up = || {
        let up = iotpipe(dir.path())
            .env("IOTPIPE_MQTT_PORT", &port)
            .env("IOTPIPE_SINK_INGEST_BYTES", "65536")
            .args(["up", "--devices", "0", "--data-dir", "data", "-o", "json"])
            .start();
        up.wait_for_stderr("up starts", |err| err.contains("no simulated devices"));
        up
    };
    let mut up = start_up();
    let publishers: Vec<Running> = (0..PUBLISHERS)
        .map(|i| {
            let outbox = dir.path().join(format!("outbox-{i}"));
            iotpipe(dir.path())
                .env("IOTPIPE_DEVICE_ID", format!("pi-{i}"))
                .args(["-q", "publish", "--sim", "--count", &EACH.to_string()])
                .args([
                    "--rate",
                    "4000",
                    "-q",
                    "1",
                    "--retry-for",
                    "5m",
                    "-p",
                    &port,
                ])
                .args(["-o", "json"])
                .args([std::ffi::OsStr::new("--outbox"), outbox.as_os_str()])
                .start()
        })
        .collect();
    for _ in 0..2 {
        std::thread::sleep(Duration::from_millis(600));
        up.child.kill().expect("SIGKILL up");
        up.child.wait().expect("up reaped");
        up = start_up();
    }
    let mut reconnects = 0;
    for mut publisher in publishers {
        let mut report = String::new();
        let mut stdout = publisher.child.stdout.take().expect("piped stdout");
        std::io::Read::read_to_string(&mut stdout, &mut report).unwrap();
        let (code, err) = publisher.wait();
        assert_eq!(code, Some(0), "a publisher failed: {err}");
        let report: serde_json::Value = serde_json::from_str(report.trim()).unwrap();
        reconnects += report["reconnects"].as_u64().unwrap_or(0);
    }
    assert!(
        reconnects >= PUBLISHERS as u64,
        "up was killed under them: {reconnects}"
    );
    let summary = up.interrupt_for_json();
    assert_eq!(summary["lost_count"], 0, "{summary}");
    let (rows, keys) = compacted_keys(&dir.path().join("data"));
    let devices: BTreeSet<&str> = keys.iter().map(|(device, _, _)| device.as_str()).collect();
    assert_eq!(devices.len(), PUBLISHERS, "{devices:?}");
    assert_eq!(
        (rows, keys.len()),
        (PUBLISHERS * EACH, PUBLISHERS * EACH),
        "every reading once"
    );
    for device in devices {
        let seqs: BTreeSet<i64> = keys
            .iter()
            .filter(|(d, _, _)| d == device)
            .map(|(_, _, seq)| *seq)
            .collect();
        assert_eq!(seqs, (0..EACH as i64).collect(), "{device}: every seq");
    }
}
