//! What a new user runs into: bad values for every flag of every command and
//! for every config key (generated from the CLI and the schema), closed
//! pipes, endless lines, a busy port, two sinks on one host, mosquitto's
//! `-V`, and the mistakes found by hand. Nothing panics or aborts (exit 101
//! or 134), and each named mistake gets its own message.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::CommandFactory;

use crate::common::{free_port, iotpipe, mosquitto, temp_dir};

/// Values people (and scripts gone wrong) pass: empty, negative, zero,
/// not-a-number, infinities, huge numbers and strings, far dates, control
/// characters and bytes that are not UTF-8.
fn bad_values() -> Vec<OsString> {
    let mut values: Vec<OsString> = [
        "",
        "-1",
        "0",
        "NaN",
        "inf",
        "-inf",
        "1e-300",
        "1e308",
        "18446744073709551616",
        "9999-12-31T23:59:59Z",
        "0000-01-01T00:00:00Z",
        "99999999999y",
        "\u{1b}[31mred\u{7}\n",
        "é#/+",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    values.push(OsString::from("9".repeat(5000)));
    values.push(OsString::from_vec(vec![b'x', 0xff, 0xfe, b'y']));
    values
}

/// Flags whose value names a host to reach: a generated name would be looked
/// up by DNS, and tests send traffic to 127.0.0.1 only.
const REACHING_OUT: [&str; 3] = ["host", "endpoint_url", "broker"];

/// Every command line of one bad value for one flag (or positional value).
fn flag_cases() -> Vec<Vec<OsString>> {
    let mut cases = Vec::new();
    let mut stack = vec![(Vec::<String>::new(), iotpipe::cli::Cli::command())];
    while let Some((path, command)) = stack.pop() {
        for sub in command.get_subcommands() {
            if sub.is_hide_set() || sub.get_name() == "help" {
                continue;
            }
            let mut deeper = path.clone();
            deeper.push(sub.get_name().to_string());
            stack.push((deeper, sub.clone()));
        }
        if path.is_empty() {
            continue;
        }
        for arg in command.get_arguments() {
            let takes_value = arg.get_action().takes_values();
            if !takes_value || REACHING_OUT.contains(&arg.get_id().as_str()) {
                continue;
            }
            for value in bad_values() {
                let mut line: Vec<OsString> = path.iter().map(OsString::from).collect();
                match (arg.get_long(), arg.get_short()) {
                    (Some(long), _) => line.push(format!("--{long}").into()),
                    (None, Some(short)) => line.push(format!("-{short}").into()),
                    (None, None) => {} // positional
                }
                line.push(value);
                cases.push(line);
            }
        }
    }
    cases
}

/// A command line and the environment it runs with.
type Case = (Vec<OsString>, Vec<(String, OsString)>);

/// How a case ended: its exit code (None: killed at the time limit) and stderr.
struct Ended {
    code: Option<i32>,
    stderr: String,
}

/// Runs `line` in a fresh directory with AWS pointed at a closed local port
/// (no instance metadata), for at most `limit`.
fn run_case(dir: &Path, line: &[OsString], env: &[(String, OsString)], limit: Duration) -> Ended {
    let mut command: Command = iotpipe(dir).args(line).command();
    command
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "not-a-secret")
        .env("IOTPIPE_MQTT_PORT", free_port().to_string())
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_os_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("starting iotpipe");
    let mut pipe = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = std::io::Read::read_to_end(&mut pipe, &mut text);
        String::from_utf8_lossy(&text).into_owned()
    });
    let deadline = Instant::now() + limit;
    let code = loop {
        match child.try_wait().expect("waiting") {
            Some(status) => break status.code(),
            None if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    };
    Ended {
        code,
        stderr: reader.join().unwrap_or_default(),
    }
}

/// Runs every case on a few threads at once and fails on any panic or abort;
/// returns how many ran into the time limit.
fn run_all(cases: Vec<Case>, limit: Duration) -> usize {
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let timed_out = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some((line, env)) = cases.get(index) else {
                        break;
                    };
                    let dir = temp_dir();
                    let ended = run_case(dir.path(), line, env, limit);
                    if ended.code.is_none() {
                        timed_out.fetch_add(1, Ordering::Relaxed);
                    }
                    let crashed = matches!(ended.code, Some(101 | 134))
                        || ended.stderr.contains("panicked")
                        || ended.stderr.contains("RUST_BACKTRACE");
                    if crashed {
                        let shown: Vec<String> = line.iter().map(|a| format!("{a:?}")).collect();
                        failures.lock().unwrap().push(format!(
                            "{env:?} iotpipe {} -> {:?}\n{}",
                            shown.join(" "),
                            ended.code,
                            ended.stderr.chars().take(600).collect::<String>()
                        ));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} of {} crashed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
    timed_out.into_inner()
}

/// Runs `args`, expects exit `code` and `needle` in stderr; returns the run.
#[track_caller]
fn refused(dir: &Path, args: &[&str], code: i32, needle: &str) -> crate::common::Run {
    let run = iotpipe(dir).args(args).run().expect_code(code);
    assert!(
        run.stderr().contains(needle),
        "{needle:?} not in {}",
        run.stderr()
    );
    run
}

#[test]
fn no_flag_of_any_command_panics_on_a_bad_value() {
    let cases: Vec<_> = flag_cases()
        .into_iter()
        .map(|line| (line, Vec::new()))
        .collect();
    let count = cases.len();
    assert!(
        count > 1000,
        "every value-taking flag of every command: {count} cases"
    );
    let timed_out = run_all(cases, Duration::from_secs(3));
    eprintln!("{count} generated command lines, {timed_out} still running at 3 s (stopped)");
}

#[test]
fn no_config_key_panics_on_a_bad_value() {
    let mut cases = Vec::new();
    for key in iotpipe::config::KEYS {
        let var = iotpipe::config::env_name(key.name);
        for value in bad_values() {
            for line in [
                &["config", "show"][..],
                &["sense", "--sim", "--count", "2"][..],
            ] {
                let line: Vec<OsString> = line.iter().map(OsString::from).collect();
                cases.push((line, vec![(var.clone(), value.clone())]));
            }
        }
    }
    let count = cases.len();
    run_all(cases, Duration::from_secs(10));
    eprintln!("{count} generated config values");
}

#[test]
fn far_dates_and_tiny_rates_are_errors_not_panics() {
    let dir = temp_dir();
    let run = iotpipe(dir.path())
        .args([
            "sense",
            "--sim",
            "--start",
            "9999-12-31T23:59:59Z",
            "--count",
            "3",
        ])
        .args(["-o", "jsonl"])
        .run()
        .expect_code(1);
    assert_eq!(
        run.json_lines().len(),
        1,
        "the one reading that fits is printed"
    );
    assert!(
        run.stderr()
            .contains("reading 1 would be dated after 9999-12-31"),
        "{}",
        run.stderr()
    );
    assert!(run.stderr().contains("an earlier time"), "{}", run.stderr());
    for rate in ["1e-300", "0", "-5", "NaN", "1e9"] {
        let run = iotpipe(dir.path())
            .args([
                "publish",
                "--sim",
                "--count",
                "2",
                &format!("--rate={rate}"),
            ])
            .run()
            .expect_code(2);
        assert!(
            run.stderr().contains("one a day"),
            "{rate}: {}",
            run.stderr()
        );
    }
    refused(
        dir.path(),
        &["tail", "mqtt", "-W", "1e300"],
        2,
        "at most 100 years",
    );
}

/// A closed stderr (`iotpipe ... 2>&1 | head -4`) is no reason to stop.
#[test]
fn a_closed_stderr_never_stops_a_command() {
    let dir = temp_dir();
    let mut up = iotpipe(dir.path())
        .args([
            "up",
            "--duration",
            "6s",
            "--rate",
            "20",
            "--data-dir",
            "data",
        ])
        .args(["-o", "json"])
        .env("IOTPIPE_COUNTER_THRESHOLD", "2")
        .env("IOTPIPE_SINK_BUFFER_INTERVAL", "1s")
        .command();
    up.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = up.spawn().unwrap();
    // Read the start-up line, then close the pipe: every later line meets EPIPE.
    let mut stderr = child.stderr.take().unwrap();
    let mut first = [0u8; 16];
    std::io::Read::read_exact(&mut stderr, &mut first).unwrap();
    drop(stderr);
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "up ran to its end");
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(summary["published"].as_u64().unwrap() > 0, "{summary}");
    assert_eq!(summary["lost_count"], 0, "{summary}");

    // publish's error and summary lines go to the closed pipe too.
    let mut publish = iotpipe(dir.path())
        .args(["publish", "-m", "x", "--no-outbox", "--retry-for", "1s"])
        .command();
    publish.stdout(Stdio::null()).stderr(Stdio::piped());
    let mut child = publish.spawn().unwrap();
    drop(child.stderr.take());
    let status = child.wait().unwrap();
    assert!(
        !matches!(status.code(), Some(101 | 134) | None),
        "publish with a closed stderr: {status:?}"
    );
}

#[test]
fn an_endless_line_is_refused_with_bounded_memory() {
    let dir = temp_dir();
    let broker = mosquitto();
    let run = iotpipe(dir.path())
        .args(["publish", "--file", "/dev/zero", "--no-outbox"])
        .args(["-p", &broker.port.to_string()])
        .run()
        .expect_code(2);
    assert!(
        run.stderr()
            .contains("/dev/zero line 1 runs past 268369916 bytes without a line end"),
        "{}",
        run.stderr()
    );
    let run = iotpipe(dir.path())
        .args(["sense", "--replay", "/dev/zero"])
        .run()
        .expect_code(1);
    assert!(
        run.stderr()
            .contains("/dev/zero:1: longer than 1048576 bytes"),
        "{}",
        run.stderr()
    );
}

#[test]
fn a_chosen_busy_port_is_an_error_and_a_moved_default_is_printed() {
    let dir = temp_dir();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let run = iotpipe(dir.path())
        .args(["up", "--duration", "2s", "--devices", "0"])
        .env("IOTPIPE_MQTT_PORT", port.to_string())
        .run()
        .expect_code(1);
    assert!(
        run.stderr().contains(&format!(
            "port {port} on 127.0.0.1 is in use (mqtt.port, env IOTPIPE_MQTT_PORT)"
        )),
        "{}",
        run.stderr()
    );
    assert!(!dir.path().join("iotpipe-data").exists(), "nothing created");
    // Written in the file, the same.
    std::fs::write(
        dir.path().join("iotpipe.toml"),
        format!("[mqtt]\nport = {port}\n"),
    )
    .unwrap();
    iotpipe(dir.path())
        .args(["up", "--duration", "2s", "--devices", "0"])
        .run()
        .expect_code(1);
    std::fs::remove_file(dir.path().join("iotpipe.toml")).unwrap();
}

#[test]
fn two_sinks_on_one_host_keep_their_own_sessions() {
    let broker = mosquitto();
    let dir = temp_dir();
    let port = broker.port.to_string();
    let start = |data: &str| {
        iotpipe(dir.path())
            .args([
                "--verbose",
                "sink",
                "-p",
                &port,
                "--data-dir",
                data,
                "--buffer-interval",
                "1s",
            ])
            .start()
    };
    let mut first = start("a");
    let mut second = start("b");
    for sink in [&first, &second] {
        sink.wait_for_stderr("subscribed", |err| err.contains("subscribed to"));
    }
    std::thread::sleep(Duration::from_secs(3));
    let ids: Vec<String> = ["a", "b"]
        .iter()
        .map(|d| {
            std::fs::read_to_string(dir.path().join(d).join("sink-journal/client-id")).unwrap()
        })
        .collect();
    assert_ne!(ids[0], ids[1], "one id per data dir");
    for (sink, id) in [(&mut first, &ids[0]), (&mut second, &ids[1])] {
        let (code, err) = sink.interrupt();
        assert_eq!(code, Some(0), "{err}");
        assert_eq!(
            err.matches("subscribed to").count(),
            1,
            "never knocked off: {id} {err}"
        );
    }
    // A restart keeps the id, and with it the broker's session.
    let mut again = start("a");
    again.wait_for_stderr("subscribed", |err| err.contains("subscribed to"));
    again.interrupt();
    let id = std::fs::read_to_string(dir.path().join("a/sink-journal/client-id")).unwrap();
    assert_eq!(id, ids[0]);
}

#[test]
fn mosquittos_dash_v_is_the_protocol_version() {
    let dir = temp_dir();
    let run = refused(
        dir.path(),
        &["publish", "-V", "mqttv5", "-m", "hi"],
        2,
        "iotpipe speaks MQTT 3.1.1 only",
    );
    assert!(run.stdout().is_empty());
    let run = iotpipe(dir.path())
        .args(["publish", "--version"])
        .run()
        .success();
    assert!(run.stdout().contains("0.1.0"), "{}", run.stdout());
    refused(
        dir.path(),
        &["publish", "--retry-for", "0s", "-m", "x"],
        2,
        "must be longer than zero",
    );
}

#[test]
fn doctor_on_the_local_backend_skips_aws_and_data_dir_mistakes_are_named() {
    let dir = temp_dir();
    let run = iotpipe(dir.path())
        .args(["doctor", "-o", "jsonl", "--timeout", "1s"])
        .env("IOTPIPE_MQTT_PORT", free_port().to_string())
        .run();
    let checks = run.json_lines();
    let aws: Vec<_> = checks.iter().filter(|c| c["area"] == "aws").collect();
    assert_eq!(aws.len(), 1, "{checks:?}");
    assert_eq!(aws[0]["status"], "skip", "{checks:?}");

    // --data-dir naming a file.
    std::fs::write(dir.path().join("afile"), "").unwrap();
    let run = refused(
        dir.path(),
        &["counters", "--data-dir", "afile"],
        1,
        "is a file, not a directory",
    );
    assert!(!run.stderr().contains("os error 17"), "{}", run.stderr());

    // A read-only data dir, for a read-only command, run as a user who may
    // read it and not write it (root writes whatever the mode says).
    let data = dir.path().join("data");
    iotpipe(dir.path())
        .args(["counters", "--data-dir", "data"])
        .run()
        .success();
    let mode = |path: &Path, mode: u32| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    mode(dir.path(), 0o755);
    mode(&data, 0o555);
    let mut counters = iotpipe(dir.path()).command();
    let program = counters.get_program().to_owned();
    let envs: Vec<(OsString, OsString)> = counters
        .get_envs()
        .filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned())))
        .collect();
    counters = Command::new("setpriv");
    counters
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"])
        .arg(program)
        .args(["counters", "--data-dir"])
        .arg(&data)
        .env_clear()
        .envs(envs)
        .current_dir(dir.path());
    let output = counters.output().unwrap();
    mode(&data, 0o755);
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("cannot be written"), "{err}");
    assert!(
        err.contains("hint: SQLite writes beside the database even to read it"),
        "{err}"
    );

    // An AWS endpoint that cannot be reached: a sentence, not a Debug struct.
    let run = iotpipe(dir.path())
        .args([
            "refresh-dashboard",
            "--list",
            "--account-id",
            "123456789012",
        ])
        .env(
            "AWS_ENDPOINT_URL",
            format!("http://127.0.0.1:{}", free_port()),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "not-a-secret")
        .run()
        .expect_code(1);
    let err = run.stderr();
    assert!(err.contains("QuickSight could not be reached"), "{err}");
    assert!(
        !err.contains("DispatchFailure") && !err.contains("{ "),
        "{err}"
    );
}
