//! The command-line frame: help, usage errors, exit codes, closed pipes.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::common::{iotpipe, temp_dir};

#[test]
fn help_lists_only_working_commands() {
    let dir = temp_dir();
    let help = iotpipe(dir.path())
        .args(["--help"])
        .run()
        .success()
        .stdout();
    let commands: Vec<&str> = help
        .split("Commands:")
        .nth(1)
        .unwrap()
        .split("Options:")
        .next()
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        commands,
        [
            "up",
            "sense",
            "publish",
            "tail",
            "sink",
            "counters",
            "compact",
            "refresh-dashboard",
            "lambda",
            "device",
            "doctor",
            "config",
            "completions",
            "help"
        ],
        "{help}"
    );
    for flag in [
        "--config",
        "--output",
        "--verbose",
        "--quiet",
        "--no-color",
        "--profile",
        "--region",
        "--endpoint-url",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
}

#[test]
fn usage_errors_exit_2_and_global_flags_work_after_the_command() {
    let dir = temp_dir();
    let run = iotpipe(dir.path())
        .args(["frobnicate"])
        .run()
        .expect_code(2);
    assert!(
        run.stderr().contains("unrecognized subcommand"),
        "{}",
        run.stderr()
    );
    iotpipe(dir.path())
        .args(["sense", "--sim", "--count", "x"])
        .run()
        .expect_code(2);
    iotpipe(dir.path())
        .args(["sense", "--sim", "--every", "0s"])
        .run()
        .expect_code(2);
    // Global long flags are accepted after the subcommand too; the short -q/-v
    // only before it, since publish and tail use them as mosquitto does.
    iotpipe(dir.path())
        .args([
            "sense",
            "--sim",
            "--quiet",
            "--verbose",
            "--no-color",
            "--region",
            "eu-west-1",
            "-o",
            "jsonl",
        ])
        .run()
        .success();
    let quiet = iotpipe(dir.path())
        .args(["-q", "config", "show"])
        .run()
        .success();
    assert!(quiet.stderr().is_empty(), "{}", quiet.stderr());
    let verbose = iotpipe(dir.path())
        .args(["-v", "sense", "--sim", "--seed", "9"])
        .run()
        .success();
    assert!(
        verbose.stderr().contains("--seed 9"),
        "{}",
        verbose.stderr()
    );
    let qos = iotpipe(dir.path())
        .args(["publish", "-q", "2", "-m", "{}"])
        .run()
        .expect_code(2);
    assert!(
        qos.stderr().contains("QoS 2"),
        "publish -q is the QoS: {}",
        qos.stderr()
    );
}

#[test]
fn a_closed_stdout_is_not_an_error() {
    let dir = temp_dir();
    let mut child = iotpipe(dir.path())
        .args(["sense", "--sim", "--count", "1000000", "-o", "jsonl"])
        .command()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with('{'), "{first}");
    // stdout is dropped here, like `| head -1`.
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
