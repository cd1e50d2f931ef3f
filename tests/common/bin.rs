//! The built binary, run in a clean environment: one-shot runs with their
//! output, and long-running ones (`Running`) stopped with a signal.

use std::ffi::OsStr;
use std::io::Write;
use std::path::Path;
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

    /// Waits for it to exit by itself; its exit code and stderr.
    pub fn wait(&mut self) -> (Option<i32>, String) {
        let status = self.child.wait().expect("waiting for iotpipe");
        std::thread::sleep(Duration::from_millis(100));
        (status.code(), self.stderr())
    }

    /// SIGINT (Ctrl-C), then its exit code and stderr.
    pub fn interrupt(&mut self) -> (Option<i32>, String) {
        self.signal("-INT")
    }

    /// Ctrl-C, expecting exit 0 and one JSON value on stdout (`-o json`): that value.
    #[track_caller]
    pub fn interrupt_for_json(&mut self) -> serde_json::Value {
        use std::io::Read as _;
        let mut stdout = self.child.stdout.take().expect("piped stdout");
        let (code, stderr) = self.interrupt();
        assert_eq!(code, Some(0), "{stderr}");
        let mut json = String::new();
        stdout.read_to_string(&mut json).expect("stdout");
        serde_json::from_str(json.trim()).unwrap_or_else(|e| panic!("{e}: {json}\n{stderr}"))
    }

    /// `up --devices 0` started: the port of its embedded broker, from the
    /// start-up line ("publish to it: ... -p PORT").
    #[track_caller]
    pub fn embedded_broker_port(&self) -> u16 {
        self.wait_for_stderr("up starts", |err| err.contains("no simulated devices"));
        self.stderr()
            .split("-p ")
            .nth(1)
            .and_then(|rest| rest.split(')').next())
            .and_then(|port| port.parse().ok())
            .expect("the port in the start-up line")
    }

    /// SIGTERM (what systemd sends to stop a service), then its exit code and stderr.
    pub fn terminate(&mut self) -> (Option<i32>, String) {
        self.signal("-TERM")
    }

    fn signal(&mut self, signal: &str) -> (Option<i32>, String) {
        let _ = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
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

    /// Runs it with stdout and stderr on a pseudo-terminal (util-linux `script`),
    /// as a user sees it; both come back as stdout.
    pub fn on_terminal(self) -> Run {
        let quote = |arg: &OsStr| format!("'{}'", arg.to_string_lossy().replace('\'', "'\\''"));
        let line: Vec<String> = std::iter::once(self.command.get_program())
            .chain(self.command.get_args())
            .map(quote)
            .collect();
        let mut script = Command::new("script");
        script
            .args(["-qec", &line.join(" "), "/dev/null"])
            .env_clear()
            .envs(
                self.command
                    .get_envs()
                    .filter_map(|(key, value)| Some((key, value?))),
            );
        if let Some(dir) = self.command.get_current_dir() {
            script.current_dir(dir);
        }
        let output = script
            .stdin(Stdio::null())
            .output()
            .expect("running iotpipe under script");
        Run(output)
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

    /// stdout's lines.
    pub fn stdout_lines(&self) -> Vec<String> {
        self.stdout().lines().map(str::to_string).collect()
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
