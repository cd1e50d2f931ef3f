//! The Raspberry Pi builds on this machine: the aarch64 binaries that
//! `scripts/test` cross-builds (`IOTPIPE_TEST_ARM64_FULL`, the default features,
//! and `IOTPIPE_TEST_ARM64_DEVICE`, `--no-default-features`), run under
//! qemu-user (`IOTPIPE_TEST_QEMU`) with Debian's cross libc as the sysroot
//! (`IOTPIPE_TEST_ARM64_SYSROOT`), against a real mosquitto. Without those
//! variables (no cross tools here) the tests say so and do nothing.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::common::{Collector, Iotpipe, iotpipe_as, mosquitto, seqs_by_run, temp_dir};

/// One aarch64 binary and how to run it here.
struct Arm64 {
    qemu: PathBuf,
    sysroot: PathBuf,
    binary: PathBuf,
}

impl Arm64 {
    /// The build named by `variable`, or None when scripts/test built none.
    fn build(variable: &str) -> Option<Arm64> {
        let Some(binary) = std::env::var_os(variable) else {
            eprintln!("{variable} is not set: no aarch64 build to run (scripts/test sets it)");
            return None;
        };
        let qemu = std::env::var_os("IOTPIPE_TEST_QEMU").expect("IOTPIPE_TEST_QEMU with the build");
        let sysroot = std::env::var_os("IOTPIPE_TEST_ARM64_SYSROOT")
            .expect("IOTPIPE_TEST_ARM64_SYSROOT with the build");
        let arm = Arm64 {
            qemu: qemu.into(),
            sysroot: sysroot.into(),
            binary: binary.into(),
        };
        // An ELF file for the Arm 64-bit machine (e_machine 183), not this host's.
        let header = std::fs::read(&arm.binary).expect("reading the aarch64 binary");
        assert_eq!(&header[..4], b"\x7fELF", "{}", arm.binary.display());
        assert_eq!(
            u16::from_le_bytes([header[18], header[19]]),
            183,
            "EM_AARCH64"
        );
        Some(arm)
    }

    fn iotpipe(&self, dir: &Path) -> Iotpipe {
        iotpipe_as(dir, &self.qemu)
            .args([std::ffi::OsStr::new("-L"), self.sysroot.as_os_str()])
            .args([self.binary.as_os_str()])
    }
}

/// `publish --sim` at QoS 1 through the outbox: every reading reaches a subscriber.
fn publishes_every_reading(arm: &Arm64) {
    let broker = mosquitto();
    let collector = Collector::start(&broker, "sensor/data", &[]);
    let dir = temp_dir();
    let run = arm
        .iotpipe(dir.path())
        .env("IOTPIPE_DEVICE_ID", "pi-arm64")
        .args([
            "publish", "--sim", "--count", "200", "--rate", "400", "-q", "1",
        ])
        .args(["-p", &broker.port.to_string()])
        .run()
        .success();
    assert!(
        run.stderr().contains("published 200 of 200 messages")
            && run.stderr().contains(": 200 acknowledged, 0 not"),
        "{}",
        run.stderr()
    );
    let lines = collector.wait_for(200, Duration::from_secs(30));
    let runs = seqs_by_run(&lines);
    assert_eq!(runs.len(), 1, "one run: {runs:?}");
    let seqs = runs.values().next().expect("a run");
    assert_eq!(*seqs, (0..200).collect(), "every seq once");
    assert_eq!(lines.len(), 200, "no duplicates at the subscriber");
    let first: Value = serde_json::from_str(&lines[0]).expect("JSON reading");
    assert_eq!(first["device_id"], "pi-arm64");
}

#[test]
fn the_full_arm64_build_runs_senses_publishes_and_explains_a_missing_bus() {
    let Some(arm) = Arm64::build("IOTPIPE_TEST_ARM64_FULL") else {
        return;
    };
    let dir = temp_dir();
    let version = arm.iotpipe(dir.path()).args(["--version"]).run().success();
    assert_eq!(
        version.stdout().trim(),
        format!("iotpipe {}", env!("CARGO_PKG_VERSION"))
    );
    let readings = arm
        .iotpipe(dir.path())
        .args(["sense", "--sim", "-n", "5", "-o", "jsonl"])
        .run()
        .success()
        .json_lines();
    let seqs: Vec<u64> = readings
        .iter()
        .map(|r| r["seq"].as_u64().expect("seq"))
        .collect();
    assert_eq!(seqs, [0, 1, 2, 3, 4]);
    assert!(
        readings.iter().all(|r| r["temperature_c"].is_f64()),
        "{readings:?}"
    );

    publishes_every_reading(&arm);

    let doctor = arm
        .iotpipe(dir.path())
        .args(["doctor", "--only", "device", "-o", "json"])
        .run()
        .expect_code(1);
    let checks: Vec<Value> = serde_json::from_str(&doctor.stdout()).expect("doctor JSON");
    let bus = checks
        .iter()
        .find(|c| c["check"] == "I2C bus /dev/i2c-1")
        .unwrap_or_else(|| panic!("no bus check: {checks:?}"));
    assert_eq!(bus["status"], "fail", "qemu has no I2C bus: {bus}");
    assert!(
        bus["detail"]
            .as_str()
            .expect("detail")
            .contains("does not exist"),
        "{bus}"
    );
    assert!(
        bus["fix"].as_str().expect("fix").contains("raspi-config"),
        "{bus}"
    );
}

#[test]
fn the_arm64_device_build_publishes_and_names_what_it_leaves_out() {
    let Some(arm) = Arm64::build("IOTPIPE_TEST_ARM64_DEVICE") else {
        return;
    };
    let dir = temp_dir();
    let help = arm.iotpipe(dir.path()).args(["--help"]).run().success();
    for command in [
        "sense",
        "publish",
        "tail",
        "device",
        "doctor",
        "config",
        "completions",
    ] {
        assert!(
            help.stdout().contains(&format!("\n  {command} ")),
            "{command}: {}",
            help.stdout()
        );
    }
    for command in [
        "up",
        "sink",
        "counters",
        "compact",
        "refresh-dashboard",
        "lambda",
    ] {
        assert!(
            !help.stdout().contains(&format!("\n  {command} ")),
            "{command}: {}",
            help.stdout()
        );
    }
    // The device makes its key and request; the fleet is managed elsewhere.
    let csr = arm
        .iotpipe(dir.path())
        .env("IOTPIPE_DATA_DIR", dir.path().join("data"))
        .args(["device", "csr", "--name", "pi-arm"])
        .run()
        .success();
    assert!(
        csr.stdout()
            .starts_with("-----BEGIN CERTIFICATE REQUEST-----"),
        "{}",
        csr.stdout()
    );
    let add = arm
        .iotpipe(dir.path())
        .args(["device", "add", "pi-arm", "--csr", "x"])
        .run()
        .expect_code(2);
    assert!(
        add.stderr().contains("`add` is not in this build"),
        "{}",
        add.stderr()
    );
    let up = arm.iotpipe(dir.path()).args(["up"]).run().expect_code(2);
    assert!(
        up.stderr().contains("`up` is not in this build"),
        "{}",
        up.stderr()
    );
    // Keys of the commands it leaves out are still accepted.
    std::fs::write(
        dir.path().join("iotpipe.toml"),
        "[counter]\nthreshold = 50\n[aws]\nregion = \"eu-west-1\"\n",
    )
    .expect("config file");
    arm.iotpipe(dir.path())
        .args(["config", "show"])
        .run()
        .success();

    publishes_every_reading(&arm);
}
