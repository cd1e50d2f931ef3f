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
    let mut command = Command::new(env!("CARGO_BIN_EXE_iotpipe"));
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

/// Waits until `ready` holds, failing with `what` and the service log after `timeout`.
fn wait_until(
    what: &str,
    timeout: Duration,
    child: &mut Child,
    log: &Path,
    mut ready: impl FnMut() -> bool,
) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if ready() {
            return true;
        }
        if let Ok(Some(status)) = child.try_wait() {
            eprintln!(
                "{what} exited with {status}: {}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!(
        "{what} not ready after {timeout:?}: {}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

/// Kills and reaps a child process; used by every service's drop.
struct Service {
    child: Child,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn required_path(var: &str, fallbacks: &[&str], what: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(var) {
        return PathBuf::from(path);
    }
    fallbacks
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("{what} not found: run the tests with ./scripts/test, which installs it and sets {var}"))
}

/// A mosquitto broker of its own on a free loopback port.
pub struct Mosquitto {
    pub port: u16,
    pub dir: TempDir,
    service: Service,
}

impl Mosquitto {
    pub fn start() -> Mosquitto {
        Self::start_with("")
    }

    /// Starts with extra lines appended to the generated config (TLS listeners, ...).
    pub fn start_with(extra_config: &str) -> Mosquitto {
        let binary = required_path(
            "IOTPIPE_TEST_MOSQUITTO",
            &["/usr/sbin/mosquitto"],
            "mosquitto",
        );
        // The port may be taken between probing and binding: retry a few times.
        for _ in 0..5 {
            let dir = temp_dir();
            let port = free_port();
            let log = dir.path().join("mosquitto.log");
            let config = dir.path().join("mosquitto.conf");
            std::fs::write(
                &config,
                format!(
                    "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n\
                     log_dest file {}\nlog_type error\nlog_type warning\nlog_type notice\n{extra_config}\n",
                    log.display()
                ),
            )
            .expect("writing mosquitto.conf");
            let child = Command::new(&binary)
                .arg("-c")
                .arg(&config)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
            let mut service = Service { child };
            let up = wait_until(
                "mosquitto",
                Duration::from_secs(10),
                &mut service.child,
                &log,
                || TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok(),
            );
            if up {
                return Mosquitto { port, dir, service };
            }
        }
        panic!("mosquitto did not start on a free port in 5 attempts");
    }

    pub fn pid(&self) -> u32 {
        self.service.child.id()
    }
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

/// A moto server (S3, DynamoDB, Kinesis, Athena, ... emulator) on a free loopback port.
pub struct Moto {
    pub port: u16,
    dir: TempDir,
    service: Service,
}

impl Moto {
    pub fn start() -> Moto {
        let server = venv().join("bin/moto_server");
        for _ in 0..5 {
            let dir = temp_dir();
            let port = free_port();
            let log = dir.path().join("moto.log");
            let log_file = std::fs::File::create(&log).expect("creating moto.log");
            let child = Command::new(&server)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdout(log_file.try_clone().expect("log handle"))
                .stderr(log_file)
                .spawn()
                .unwrap_or_else(|e| panic!("starting {}: {e}", server.display()));
            let mut service = Service { child };
            let up = wait_until(
                "moto_server",
                Duration::from_secs(30),
                &mut service.child,
                &log,
                || {
                    http_get(port, "/moto-api/data.json")
                        .is_some_and(|r| r.starts_with("HTTP/1.1 200"))
                },
            );
            if up {
                return Moto { port, dir, service };
            }
        }
        panic!("moto_server did not start on a free port in 5 attempts");
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Environment for an AWS client aimed at this server with dummy credentials.
    pub fn aws_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_DEFAULT_REGION", "us-east-1".into()),
        ]
    }
}

/// A minimal HTTP/1.1 GET on loopback, returning the whole response.
pub fn http_get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}
