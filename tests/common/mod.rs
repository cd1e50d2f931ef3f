//! Shared test plumbing: run the built binary in a clean environment, and start
//! real services (mosquitto, moto) on free loopback ports, stopped on drop.
//!
//! `scripts/test` installs the services and exports where they are:
//! `IOTPIPE_TEST_MOSQUITTO` (the broker binary) and `IOTPIPE_TEST_VENV` (a venv
//! with moto, boto3 and duckdb). A missing service fails the test loudly.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub use tempfile::TempDir;

/// A running iotpipe: stdout piped, stderr collected; killed on drop.
pub struct Running {
    pub child: Child,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Running {
    /// What it printed to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Waits (at most 20 s) until its stderr satisfies `ready`.
    #[track_caller]
    pub fn wait_for_stderr(&self, what: &str, ready: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !ready(&self.stderr()) {
            assert!(Instant::now() < deadline, "{what}: {}", self.stderr());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGINT (Ctrl-C), then its exit code and stderr.
    pub fn interrupt(&mut self) -> (Option<i32>, String) {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let status = self.child.wait().expect("waiting for iotpipe");
        // Let the stderr reader drain what came last.
        std::thread::sleep(Duration::from_millis(100));
        (status.code(), self.stderr())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn temp_dir() -> TempDir {
    tempfile::Builder::new()
        .prefix("iotpipe-test-")
        .tempdir()
        .expect("creating a temp dir")
}

/// The iotpipe binary, run in `dir` with a clean environment: only PATH, a HOME
/// and XDG dirs inside `dir`, so no developer config or `IOTPIPE_*` leaks in.
pub struct Iotpipe {
    command: Command,
    stdin: Option<Vec<u8>>,
}

pub fn iotpipe(dir: &Path) -> Iotpipe {
    iotpipe_as(dir, Path::new(env!("CARGO_BIN_EXE_iotpipe")))
}

/// The same, started through `program` (a link to the binary under another name).
pub fn iotpipe_as(dir: &Path, program: &Path) -> Iotpipe {
    let mut command = Command::new(program);
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join(".config"))
        .env("XDG_CACHE_HOME", dir.join(".cache"))
        .env("NO_COLOR", "1")
        .current_dir(dir);
    Iotpipe {
        command,
        stdin: None,
    }
}

impl Iotpipe {
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.command.args(args);
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Self {
        self.command.env(key, value);
        self
    }

    pub fn stdin(mut self, input: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(input.into());
        self
    }

    /// Starts it with stdout piped and stderr collected on the side.
    pub fn start(self) -> Running {
        let mut child = self
            .command()
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting iotpipe");
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let pipe = child.stderr.take().expect("piped stderr");
        let collected = stderr.clone();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut all = collected.lock().unwrap_or_else(|e| e.into_inner());
                all.push_str(&line);
                all.push('\n');
            }
        });
        Running { child, stderr }
    }

    pub fn command(self) -> Command {
        self.command
    }

    pub fn run(mut self) -> Run {
        self.command
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = self.command.spawn().expect("spawning iotpipe");
        if let Some(input) = self.stdin.take() {
            let mut stdin = child.stdin.take().expect("stdin");
            std::thread::spawn(move || stdin.write_all(&input));
        }
        Run(child.wait_with_output().expect("waiting for iotpipe"))
    }
}

/// A finished run with assertion helpers that show stderr on failure.
pub struct Run(pub Output);

impl Run {
    pub fn code(&self) -> i32 {
        self.0.status.code().unwrap_or(-1)
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }

    #[track_caller]
    pub fn expect_code(self, code: i32) -> Self {
        assert_eq!(
            self.code(),
            code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }

    #[track_caller]
    pub fn success(self) -> Self {
        self.expect_code(0)
    }

    /// stdout parsed as JSON lines.
    #[track_caller]
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout()
            .lines()
            .map(|line| {
                serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON: {line:?}: {e}"))
            })
            .collect()
    }
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("binding an ephemeral port")
        .port()
}

/// Builds a service's command line for its temp dir and port.
type CommandFor = dyn Fn(&Path, u16) -> Command;

/// A service process of a test: its own temp dir and log, a free loopback port,
/// a readiness check; killed and reaped on drop. It can be killed and restarted
/// on the same port, for outage tests.
pub struct Service {
    name: &'static str,
    pub port: u16,
    pub dir: TempDir,
    child: Option<Child>,
    command: Box<CommandFor>,
    ready: fn(u16) -> bool,
    timeout: Duration,
}

impl Service {
    /// Starts `command(dir, port)` on a free port, retrying on another port when
    /// the first one was taken in between.
    pub fn start(
        name: &'static str,
        timeout: Duration,
        command: impl Fn(&Path, u16) -> Command + 'static,
        ready: fn(u16) -> bool,
    ) -> Service {
        let mut service = Service {
            name,
            port: free_port(),
            dir: temp_dir(),
            child: None,
            command: Box::new(command),
            ready,
            timeout,
        };
        service.open_dir_to_all();
        for _ in 0..5 {
            if service.spawn_and_wait() {
                return service;
            }
            service.port = free_port();
        }
        panic!(
            "{name} did not start on a free port in 5 attempts: {}",
            service.log()
        );
    }

    /// mosquitto started as root drops to its own user: let it write (persistence) here.
    fn open_dir_to_all(&self) {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(self.dir.path(), std::fs::Permissions::from_mode(0o777));
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join(format!("{}.log", self.name))
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Spawns the process and waits for readiness; false if it exited early.
    fn spawn_and_wait(&mut self) -> bool {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("opening the service log");
        let mut command = (self.command)(self.dir.path(), self.port);
        command
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log);
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", self.name));
        let child = self.child.insert(child);
        let deadline = Instant::now() + self.timeout;
        while Instant::now() < deadline {
            if (self.ready)(self.port) {
                return true;
            }
            if let Ok(Some(status)) = child.try_wait() {
                eprintln!("{} exited with {status}: {}", self.name, self.log());
                self.child = None;
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "{} not ready after {:?}: {}",
            self.name,
            self.timeout,
            self.log()
        );
    }

    /// SIGKILL, like a crash or an outage.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM: a graceful stop (mosquitto saves its persistence file).
    pub fn terminate(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }

    /// Starts the service again on the same port.
    pub fn restart(&mut self) {
        self.kill();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.spawn_and_wait() {
            assert!(
                Instant::now() < deadline,
                "{} did not restart on port {}",
                self.name,
                self.port
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.kill();
    }
}

fn tcp_accepts(port: u16) -> bool {
    TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok()
}

fn required_path(var: &str, fallbacks: &[&str], what: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(var) {
        return PathBuf::from(path);
    }
    fallbacks
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!("{what} not found: run the tests with ./scripts/test, which installs it and sets {var}")
        })
}

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

/// The venv that scripts/test prepared (moto, boto3, duckdb).
pub fn venv() -> PathBuf {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let default = home.join(".cache/iotpipe/venv");
    let venv = required_path(
        "IOTPIPE_TEST_VENV",
        &[default.to_str().unwrap_or_default()],
        "the Python venv",
    );
    assert!(
        venv.join("bin/python").exists(),
        "{} has no bin/python: rerun ./scripts/test",
        venv.display()
    );
    venv
}

/// Runs a Python snippet in the test venv, returning stdout; panics with stderr on failure.
#[track_caller]
pub fn python(code: &str, envs: &[(&str, &str)]) -> String {
    let output = Command::new(venv().join("bin/python"))
        .arg("-c")
        .arg(code)
        .envs(envs.iter().copied())
        .output()
        .expect("running python");
    assert!(
        output.status.success(),
        "python failed:\n{code}\n--- stderr\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs a DuckDB query (an independent reader of our files) and returns rows as JSON.
#[track_caller]
pub fn duckdb(sql: &str) -> Vec<serde_json::Value> {
    let code = "import duckdb, json, sys\n\
                cur = duckdb.sql(sys.argv[1])\n\
                cols = [d[0] for d in cur.description]\n\
                print(json.dumps([dict(zip(cols, row)) for row in cur.fetchall()], default=str))";
    let output = Command::new(venv().join("bin/python"))
        .args(["-c", code, sql])
        .output()
        .expect("running duckdb");
    assert!(
        output.status.success(),
        "duckdb failed: {sql}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("duckdb output is JSON")
}

/// A moto server (S3, DynamoDB, Kinesis, Athena, ... emulator) on a free
/// loopback port, run by `tests/doubles/moto_server.py`: one request at a time
/// (moto's DynamoDB transactions are not thread-safe, while DynamoDB serializes
/// them), and Athena queries can be made to fail ([`moto_fail_athena`]).
pub fn moto() -> Service {
    let python = venv().join("bin/python");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/doubles/moto_server.py");
    Service::start(
        "moto_server",
        Duration::from_secs(30),
        move |_, port| {
            let mut command = Command::new(&python);
            command.arg(&script).arg(port.to_string());
            command
        },
        |port| {
            http_get(port, "/moto-api/data.json")
                .is_some_and(|r| r.starts_with("HTTP/1.") && r.contains(" 200 "))
        },
    )
}

/// kinesalite (a Kinesis emulator that, unlike moto, closes a split parent
/// shard) on a free loopback port; installed by scripts/test.
pub fn kinesalite() -> Service {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let default = home.join(".cache/iotpipe/kinesalite");
    let dir = required_path(
        "IOTPIPE_TEST_KINESALITE",
        &[default.to_str().unwrap_or_default()],
        "kinesalite",
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/doubles/kinesalite.js");
    Service::start(
        "kinesalite",
        Duration::from_secs(20),
        move |_, port| {
            let mut command = Command::new("node");
            command
                .env("NODE_PATH", dir.join("node_modules"))
                .arg(&script)
                .arg(port.to_string());
            command
        },
        |port| http_get(port, "/").is_some_and(|r| r.starts_with("HTTP/1.")),
    )
}

/// The QuickSight test double (`tests/doubles/quicksight.py`, which also
/// answers STS GetCallerIdentity for account 123456789012).
pub fn quicksight() -> Service {
    let python = venv().join("bin/python");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/doubles/quicksight.py");
    Service::start(
        "quicksight",
        Duration::from_secs(20),
        move |_, port| {
            let mut command = Command::new(&python);
            command.arg(&script).arg(port.to_string());
            command
        },
        |port| http_get(port, "/_double/requests").is_some_and(|r| r.contains(" 200 ")),
    )
}

/// The body of an HTTP response.
pub fn http_body(response: &str) -> &str {
    response.split_once("\r\n\r\n").map_or("", |(_, body)| body)
}

/// A Lambda runtime API double (`tests/doubles/lambda_runtime.py`) that hands
/// out `events` one by one and records what the function answers.
pub fn lambda_runtime(events: &serde_json::Value) -> Service {
    let python = venv().join("bin/python");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/doubles/lambda_runtime.py");
    let events = events.to_string();
    Service::start(
        "lambda_runtime",
        Duration::from_secs(20),
        move |dir, port| {
            let file = dir.join("events.json");
            std::fs::write(&file, &events).expect("writing the events");
            let mut command = Command::new(&python);
            command.arg(&script).arg(port.to_string()).arg(file);
            command
        },
        |port| http_get(port, "/_double/results").is_some_and(|r| r.contains(" 200 ")),
    )
}

/// Makes the next `count` Athena queries started on `moto` end FAILED with `reason`.
pub fn moto_fail_athena(moto: &Service, reason: &str, count: u32) {
    let body = serde_json::json!({ "reason": reason, "count": count }).to_string();
    let response = http_post(moto.port, "/iotpipe-test/athena/fail", &body);
    assert!(response.contains(" 200 "), "{response}");
}

/// The endpoint of a moto server.
pub fn moto_endpoint(moto: &Service) -> String {
    format!("http://127.0.0.1:{}", moto.port)
}

/// An AWS client configuration aimed at a local emulator (moto, kinesalite)
/// with dummy credentials: the traffic stays on 127.0.0.1.
pub async fn sdk(service: &Service) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(moto_endpoint(service))
        .load()
        .await
}

/// iotpipe aimed at an AWS emulator (moto, kinesalite, a double) with dummy
/// credentials, `backend = "aws"`, bucket `pipe` and counter table `pipe-counter`.
pub fn iotpipe_on_aws(dir: &Path, service: &Service) -> Iotpipe {
    iotpipe(dir)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("IOTPIPE_BACKEND", "aws")
        .env("IOTPIPE_AWS_BUCKET", "pipe")
        .env("IOTPIPE_COUNTER_TABLE", "pipe-counter")
        .args([
            "--endpoint-url",
            &moto_endpoint(service),
            "--region",
            "us-east-1",
        ])
}

/// Environment for an AWS client aimed at a moto server with dummy credentials.
pub fn aws_env(moto: &Service) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", moto_endpoint(moto)),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_DEFAULT_REGION", "us-east-1".into()),
    ]
}

/// A minimal HTTP/1.1 GET on loopback, returning the whole response.
pub fn http_get(port: u16, path: &str) -> Option<String> {
    http_request(port, "GET", path, "")
}

/// POSTs a JSON body; panics when the server cannot be reached.
#[track_caller]
pub fn http_post(port: u16, path: &str, body: &str) -> String {
    http_request(port, "POST", path, body).expect("POST to a test service")
}

fn http_request(port: u16, method: &str, path: &str, body: &str) -> Option<String> {
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}
