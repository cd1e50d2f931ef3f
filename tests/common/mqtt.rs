//! mosquitto, the reference broker, and a mosquitto_sub witness that
//! collects what really crossed the broker.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{Service, TempDir, required_path, tcp_accepts, temp_dir};

/// A mosquitto broker of its own on a free loopback port.
pub fn mosquitto() -> Service {
    mosquitto_with("")
}

/// A mosquitto broker with extra lines appended to its config (TLS listeners, ...).
pub fn mosquitto_with(extra_config: &str) -> Service {
    let binary = required_path(
        "IOTPIPE_TEST_MOSQUITTO",
        &["/usr/sbin/mosquitto"],
        "mosquitto",
    );
    let extra_config = extra_config.to_string();
    Service::start(
        "mosquitto",
        Duration::from_secs(10),
        move |dir, port| {
            let config = dir.join("mosquitto.conf");
            std::fs::write(
                &config,
                format!(
                    // No per-client queue limit: a slow witness must not make the broker drop.
                    "max_queued_messages 0\nlistener {port} 127.0.0.1\nallow_anonymous true\n\
                     log_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\n{extra_config}\n"
                ),
            )
            .expect("writing mosquitto.conf");
            let mut command = Command::new(&binary);
            command.arg("-c").arg(config);
            command
        },
        tcp_accepts,
    )
}

/// A mosquitto_sub collecting a topic into a file: an independent witness of
/// what the broker delivered.
pub struct Collector {
    child: Child,
    out: PathBuf,
    _dir: TempDir,
}

const PROBE: &str = "__iotpipe_probe__";

impl Collector {
    /// Subscribes with QoS 1 (plus `extra` mosquitto_sub flags) and returns once
    /// the subscription is live, proven by a probe message getting through.
    pub fn start(broker: &Service, filter: &str, extra: &[&str]) -> Collector {
        Self::start_tls(broker, filter, extra, &[])
    }

    /// Like [`Collector::start`], with TLS flags (`--cafile ...`) for the
    /// subscriber and its probes.
    pub fn start_tls(broker: &Service, filter: &str, extra: &[&str], tls: &[&str]) -> Collector {
        let dir = temp_dir();
        let out = dir.path().join("received.txt");
        let port = broker.port.to_string();
        let host = ["-h", "127.0.0.1", "-p", port.as_str()];
        let child = Command::new("mosquitto_sub")
            .args(host)
            .args(["-q", "1", "-t", filter])
            .args(extra)
            .args(tls)
            .stdout(std::fs::File::create(&out).expect("collector output"))
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto_sub is installed by scripts/test");
        let collector = Collector {
            child,
            out,
            _dir: dir,
        };
        let probe_topic = filter.replace(['#', '+'], "probe");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !collector.raw().contains(PROBE) {
            assert!(
                Instant::now() < deadline,
                "collector never subscribed: {}",
                broker.log()
            );
            let _ = Command::new("mosquitto_pub")
                .args(host)
                .args(["-t", &probe_topic, "-m", PROBE])
                .args(tls)
                .stderr(Stdio::null())
                .status();
            std::thread::sleep(Duration::from_millis(50));
        }
        collector
    }

    fn raw(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    /// The payloads received so far, probes left out.
    pub fn lines(&self) -> Vec<String> {
        self.raw()
            .lines()
            .filter(|l| *l != PROBE)
            .map(str::to_string)
            .collect()
    }

    /// Waits until at least `n` payloads arrived (or `timeout` passed) and returns them.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<String> {
        self.wait_until(timeout, |lines| lines.len() >= n)
    }

    /// Waits until `done` holds for the payloads (or `timeout` passed) and returns them.
    pub fn wait_until(&self, timeout: Duration, done: impl Fn(&[String]) -> bool) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let lines = self.lines();
            if done(&lines) || Instant::now() >= deadline {
                return lines;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `seq` of every JSON reading among `lines`, per `run_id`.
pub fn seqs_by_run(
    lines: &[String],
) -> std::collections::BTreeMap<String, std::collections::BTreeSet<u64>> {
    let mut runs: std::collections::BTreeMap<String, std::collections::BTreeSet<u64>> =
        Default::default();
    for line in lines {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
        let run = value["run_id"].as_str().expect("run_id").to_string();
        runs.entry(run)
            .or_default()
            .insert(value["seq"].as_u64().expect("seq"));
    }
    runs
}
