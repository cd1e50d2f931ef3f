//! Kill anything: publish -> broker -> sink -> compact while the publisher, the
//! sink and the compactor are killed with SIGKILL and the broker is restarted
//! at random moments, then DuckDB finds every published reading in exactly one
//! Parquet row. The seed is printed; `IOTPIPE_CHAOS_SEED` replays a run and
//! `IOTPIPE_CHAOS_SECONDS` (default 45) runs it longer.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::{Running, Service, compacted_keys, iotpipe, mosquitto_with, temp_dir};

const READINGS: usize = 12_000;
const CHUNK: usize = 500;

/// A process of the pipeline that the test kills and starts again.
struct Role {
    running: Option<Running>,
    kills: u32,
    starts: u32,
}

impl Role {
    fn new() -> Role {
        Role {
            running: None,
            kills: 0,
            starts: 0,
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
    let seed: u64 = std::env::var("IOTPIPE_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    let seconds: u64 = std::env::var("IOTPIPE_CHAOS_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(45);
    eprintln!("chaos: seed {seed} (IOTPIPE_CHAOS_SEED={seed} replays it), {seconds} s");
    let mut rng = fastrand::Rng::with_seed(seed);

    let mut broker: Service = mosquitto_with("persistence true\npersistence_file broker.db\n");
    let dir = temp_dir();
    let data = dir.path().join("data");
    let port = broker.port.to_string();
    // The readings to publish, in chunks a publisher takes one at a time.
    let all: Vec<String> = iotpipe(dir.path())
        .args(["sense", "--sim", "--count", &READINGS.to_string()])
        .args(["--seed", &seed.to_string()])
        .args(["--device-id", "chaos", "-o", "jsonl"])
        .run()
        .success()
        .stdout()
        .lines()
        .map(str::to_string)
        .collect();
    let chunks: Vec<PathBuf> = all
        .chunks(CHUNK)
        .enumerate()
        .map(|(i, lines)| {
            let path = dir.path().join(format!("chunk-{i:03}.jsonl"));
            std::fs::write(&path, lines.join("\n") + "\n").unwrap();
            path
        })
        .collect();

    let env = |command: crate::common::Iotpipe| {
        command
            .env("IOTPIPE_DATA_DIR", "data")
            .env("IOTPIPE_MQTT_PORT", &port)
            .env("IOTPIPE_COUNTER_THRESHOLD", "4")
            .env("IOTPIPE_SINK_BUFFER_INTERVAL", "200ms")
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

    let (mut publisher, mut sinker, mut compactor) = (Role::new(), Role::new(), Role::new());
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
        let _ = compactor.ended();
        if compactor.running.is_none() && rng.u8(..4) == 0 {
            compactor.start(compact());
        }
        if chaos {
            match rng.u8(..10) {
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
        let _ = compactor.ended();
        if let Some(mut running) = compactor.running.take() {
            let _ = running.child.wait();
        }
        env(iotpipe(dir.path())).args(["compact", "--all"]).run();
        let found = compacted_keys(&data);
        if found.1.len() == expected.len() || Instant::now() > settle {
            break found;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    if let Some(mut running) = sinker.running.take() {
        running.interrupt();
    }
    eprintln!(
        "chaos: seed {seed}: survived {} publisher kills, {} sink kills, {} compactor kills and \
         {broker_restarts} broker restarts; {} publisher runs for {} chunks",
        publisher.kills,
        sinker.kills,
        compactor.kills,
        publisher.starts,
        chunks.len()
    );
    let (rows, keys) = found;
    let missing: Vec<_> = expected.difference(&keys).collect();
    assert!(
        missing.is_empty(),
        "seed {seed}: {} readings missing, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    assert_eq!(
        rows,
        expected.len(),
        "seed {seed}: every reading in exactly one row"
    );
    assert_eq!(keys, expected, "seed {seed}");
}
