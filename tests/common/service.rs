//! Service processes of a test (brokers, emulators, doubles): a free loopback
//! port, a temp dir and a log each, readiness checked, killed on drop.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{TempDir, temp_dir};

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

pub fn tcp_accepts(port: u16) -> bool {
    TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok()
}

pub fn required_path(var: &str, fallbacks: &[&str], what: &str) -> PathBuf {
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
