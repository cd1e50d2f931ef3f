//! `iotpipe publish` and `iotpipe tail mqtt` against a real mosquitto: nothing
//! lost, every failure explained.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common::{
    Collector, Service, iotpipe, mosquitto, mosquitto_with, seqs_by_run, temp_dir,
};

fn port(broker: &Service) -> String {
    broker.port.to_string()
}

fn lines_file(dir: &Path, n: usize) -> std::path::PathBuf {
    let path = dir.join("lines.jsonl");
    let text: String = (0..n)
        .map(|i| format!("{{\"line\":{i},\"pad\":\"{}\"}}\n", "x".repeat(150)))
        .collect();
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn two_hundred_thousand_lines_at_qos1_all_arrive() {
    let broker = mosquitto();
    let collector = Collector::start(&broker, "bulk", &[]);
    let dir = temp_dir();
    let file = lines_file(dir.path(), 200_000);
    let run = iotpipe(dir.path())
        .args([
            "publish",
            "-p",
            &port(&broker),
            "-t",
            "bulk",
            "-q",
            "1",
            "-l",
        ])
        .stdin(std::fs::read(&file).unwrap())
        .run()
        .success();
    assert!(
        run.stderr().contains("200000 acknowledged, 0 not"),
        "{}",
        run.stderr()
    );
    let received = collector.wait_for(200_000, Duration::from_secs(60));
    let distinct: std::collections::BTreeSet<&String> = received.iter().collect();
    assert_eq!(
        distinct.len(),
        200_000,
        "past 65,535 packet ids nothing may be lost"
    );
}

/// `iotpipe publish --file FILE` to topic t, giving up after 1 s without a broker.
fn publish_file(dir: &Path, broker: &Service, file: &Path) -> crate::common::Iotpipe {
    iotpipe(dir)
        .args([
            "publish",
            "-p",
            &port(broker),
            "-t",
            "t",
            "--retry-for",
            "1s",
            "--file",
        ])
        .args([file])
}

#[test]
fn a_dead_broker_means_exit_3_with_the_count() {
    let mut broker = mosquitto();
    broker.kill();
    let dir = temp_dir();
    let file = lines_file(dir.path(), 1000);
    let run = publish_file(dir.path(), &broker, &file)
        .run()
        .expect_code(3);
    let err = run.stderr();
    assert!(
        err.contains("1000 of 1000 messages were not acknowledged"),
        "{err}"
    );
    assert!(
        err.contains("Connection refused") && err.contains("hint:"),
        "{err}"
    );
}

#[test]
fn a_broker_killed_mid_run_means_exit_3() {
    let mut broker = mosquitto();
    let collector = Collector::start(&broker, "t", &[]);
    let dir = temp_dir();
    let file = lines_file(dir.path(), 200_000);
    let mut child = publish_file(dir.path(), &broker, &file)
        .command()
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    collector.wait_for(1000, Duration::from_secs(20));
    broker.kill();
    let output = wait_with_timeout(&mut child, Duration::from_secs(30));
    let err = String::from_utf8_lossy(&output.stderr).to_string();
    assert_eq!(output.status.code(), Some(3), "{err}");
    assert!(err.contains("messages were not acknowledged"), "{err}");
}

fn wait_with_timeout(child: &mut Child, timeout: Duration) -> std::process::Output {
    let deadline = Instant::now() + timeout;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("process did not finish in {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut stderr = String::new();
    if let Some(pipe) = child.stderr.take() {
        use std::io::Read;
        let _ = BufReader::new(pipe).read_to_string(&mut stderr);
    }
    std::process::Output {
        status: child.wait().unwrap(),
        stdout: Vec::new(),
        stderr: stderr.into_bytes(),
    }
}

/// A broker that keeps sessions across graceful restarts, so a persistent
/// subscriber can witness everything the publisher got acknowledged.
fn persistent_broker() -> Service {
    // The persistence file lives in the broker's own temp dir (its working dir).
    mosquitto_with("persistence true\npersistence_file broker.db\n")
}

/// `publish --sim` at QoS 1 (the default) through an outbox, stderr piped.
fn sim_publisher(dir: &Path, broker: &Service, rate: u32, count: u32, outbox: &Path) -> Child {
    iotpipe(dir)
        .args(["publish", "--sim", "--rate", &rate.to_string()])
        .args(["--count", &count.to_string(), "-p", &port(broker)])
        .args([std::ffi::OsStr::new("--outbox"), outbox.as_os_str()])
        .command()
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The publisher exits 0 and the witness holds seq 0..count of its one run;
/// returns the publisher's stderr.
#[track_caller]
fn every_reading_arrives(publisher: &mut Child, collector: &Collector, count: u64) -> String {
    let output = wait_with_timeout(publisher, Duration::from_secs(120));
    let err = String::from_utf8_lossy(&output.stderr).to_string();
    assert_eq!(output.status.code(), Some(0), "{err}");
    let lines = collector.wait_for(count as usize, Duration::from_secs(30));
    let runs = seqs_by_run(&lines);
    assert_eq!(runs.len(), 1, "one run");
    let seqs = runs.values().next().unwrap();
    let missing: Vec<u64> = (0..count).filter(|s| !seqs.contains(s)).take(10).collect();
    assert!(missing.is_empty(), "missing seqs {missing:?}; {err}");
    err
}

#[test]
fn outbox_survives_five_broker_restarts() {
    let mut broker = persistent_broker();
    let collector = Collector::start(&broker, "sensor/data", &["-c", "-i", "witness"]);
    let dir = temp_dir();
    let outbox = dir.path().join("outbox");
    let mut publisher = sim_publisher(dir.path(), &broker, 2000, 20_000, &outbox);
    for round in 1..=5 {
        std::thread::sleep(Duration::from_millis(900));
        broker.terminate();
        std::thread::sleep(Duration::from_millis(300 + 100 * round));
        broker.restart();
    }
    let err = every_reading_arrives(&mut publisher, &collector, 20_000);
    assert!(err.contains("reconnects"), "{err}");
}

#[test]
fn a_killed_publisher_drains_its_outbox_on_restart() {
    let mut broker = persistent_broker();
    let collector = Collector::start(&broker, "sensor/data", &["-c", "-i", "witness"]);
    let dir = temp_dir();
    let outbox = dir.path().join("outbox");
    let broker_port = port(&broker);
    let publish = |extra: &[&str]| {
        iotpipe(dir.path())
            .args(["publish", "--sim", "--rate", "500", "-p", &broker_port])
            .args([std::ffi::OsStr::new("--outbox"), outbox.as_os_str()])
            .args(extra)
    };
    let mut first = publish(&[])
        .command()
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    collector.wait_for(200, Duration::from_secs(20));
    // Readings pile up in the outbox while the broker is away; then the publisher dies.
    broker.terminate();
    std::thread::sleep(Duration::from_millis(800));
    first.kill().unwrap();
    first.wait().unwrap();
    broker.restart();

    let run = publish(&["--count", "1"]).run().success();
    assert!(
        run.stderr().contains("came from the outbox"),
        "{}",
        run.stderr()
    );
    let lines = collector.wait_until(Duration::from_secs(20), |lines| {
        seqs_by_run(lines).len() == 2
    });
    let runs = seqs_by_run(&lines);
    assert_eq!(runs.len(), 2, "the killed run and the restart");
    let killed = runs.values().max_by_key(|s| s.len()).unwrap();
    let max = *killed.iter().max().unwrap();
    assert!(max > 400, "readings were produced during the outage: {max}");
    let missing: Vec<u64> = (0..=max).filter(|s| !killed.contains(s)).take(10).collect();
    assert!(missing.is_empty(), "missing seqs {missing:?}");
}

#[test]
fn iot_core_limits_and_bad_topics_are_usage_errors() {
    let dir = temp_dir();
    let check = |args: &[&str], expected: &str| {
        let run = iotpipe(dir.path())
            .args(["publish", "-p", "1"])
            .args(args)
            .run()
            .expect_code(2);
        assert!(
            run.stderr().contains(expected),
            "{args:?}: {}",
            run.stderr()
        );
    };
    // One byte over IoT Core's 128 KiB (as a file: the kernel caps a single argument at 128 KiB).
    let big = dir.path().join("big.json");
    std::fs::write(&big, "x".repeat(128 * 1024 + 1)).unwrap();
    check(
        &["--iot-core", "--file", big.to_str().unwrap()],
        "AWS IoT Core allows 131072",
    );
    check(
        &["--iot-core", "-q", "2", "-m", "{}"],
        "AWS IoT Core rejects QoS 2",
    );
    check(&["-q", "2", "-m", "{}"], "QoS 0 or 1");
    check(&["-t", "sensor/#", "-m", "{}"], "wildcard");
    check(
        &["--iot-core", "-t", "a/b/c/d/e/f/g/h/i", "-m", "{}"],
        "7 slashes",
    );
    check(
        &["--iot-core", "-t", &"t".repeat(257), "-m", "{}"],
        "AWS IoT Core allows 256",
    );
    check(
        &["--iot-core", "-i", &"c".repeat(129), "-m", "{}"],
        "client id",
    );
    check(
        &["--cert", "c.pem", "-m", "{}"],
        "needs both --cert and --key",
    );
}

#[test]
fn an_oversize_line_stops_the_run_after_the_lines_before_it() {
    let broker = mosquitto();
    let collector = Collector::start(&broker, "t", &[]);
    let dir = temp_dir();
    let input = format!(
        "{{\"a\":1}}\n{{\"a\":2}}\n{}\n{{\"a\":3}}\n",
        "x".repeat(128 * 1024 + 1)
    );
    let run = iotpipe(dir.path())
        .args([
            "publish",
            "--iot-core",
            "-p",
            &port(&broker),
            "-t",
            "t",
            "-l",
        ])
        .stdin(input)
        .run()
        .expect_code(2);
    assert!(
        run.stderr()
            .contains("stdin line 3: payload is 131073 bytes"),
        "{}",
        run.stderr()
    );
    assert_eq!(
        collector.wait_for(2, Duration::from_secs(5)),
        ["{\"a\":1}", "{\"a\":2}"]
    );
}

fn spawn_tail(dir: &Path, broker: &Service, args: &[&str]) -> Child {
    iotpipe(dir)
        .args(["tail", "mqtt", "-p", &port(broker), "-v"])
        .args(args)
        .command()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn tail_prints_any_payload_with_its_topic_and_counts() {
    let broker = mosquitto();
    let dir = temp_dir();
    let mut tail = spawn_tail(
        dir.path(),
        &broker,
        &["-t", "sensor/#", "-C", "4", "-o", "jsonl"],
    );
    let stdout = BufReader::new(tail.stdout.take().unwrap());
    // Until tail has subscribed, publish a probe; its first line proves the subscription.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let pub_one = |topic: &str, message: &str| {
        std::process::Command::new("mosquitto_pub")
            .args(["-p", &port(&broker), "-t", topic, "-m", message])
            .status()
            .unwrap();
    };
    let first = loop {
        pub_one("sensor/probe", "{\"probe\":true}");
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            break line;
        }
    };
    let first: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert_eq!(
        (
            &first["topic"],
            &first["payload"],
            &first["qos"],
            &first["retain"]
        ),
        (
            &"sensor/probe".into(),
            &serde_json::json!({"probe": true}),
            &0.into(),
            &0.into()
        ),
        "{first}"
    );
    iotpipe(dir.path())
        .args([
            "-q",
            "publish",
            "--sim",
            "--count",
            "2",
            "--rate",
            "100",
            "--no-outbox",
            "-p",
            &port(&broker),
        ])
        .run()
        .success();
    pub_one("sensor/x", "garbage{\u{1b}[2J");
    let output = wait_with_timeout(&mut tail, Duration::from_secs(10));
    assert_eq!(output.status.code(), Some(0), "-C 4 ends the tail");
    let mut lines: Vec<String> = Vec::new();
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(2)) {
        lines.push(line);
    }
    assert_eq!(lines.len(), 3, "{lines:?}");
    for (seq, line) in lines[..2].iter().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["topic"], "sensor/data");
        assert_eq!(v["payload"]["seq"], seq as u64);
    }
    let other: serde_json::Value = serde_json::from_str(&lines[2]).unwrap();
    assert_eq!(
        (&other["topic"], &other["payload_raw"]),
        (&"sensor/x".into(), &"garbage{\u{1b}[2J".into()),
        "any payload, byte for byte when piped: {other}"
    );
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        !err.contains("malformed") && !err.contains('\u{1b}'),
        "a viewer of any topic warns of nothing: {err}"
    );
}

#[test]
fn tail_times_out_with_code_4_and_says_why() {
    let broker = mosquitto();
    let dir = temp_dir();
    let run = iotpipe(dir.path())
        .args(["tail", "mqtt", "-p", &port(&broker), "-W", "0.5"])
        .run()
        .expect_code(4);
    assert!(
        run.stderr().contains("no message for 500ms"),
        "{}",
        run.stderr()
    );
    let mut dead = mosquitto();
    dead.kill();
    let run = iotpipe(dir.path())
        .args(["tail", "mqtt", "-p", &port(&dead), "-W", "1"])
        .run()
        .expect_code(4);
    assert!(
        run.stderr().contains("cannot be reached"),
        "{}",
        run.stderr()
    );
}

#[test]
fn replay_publishes_recorded_readings_and_stops_at_an_invalid_one() {
    let broker = mosquitto();
    let collector = Collector::start(&broker, "sensor/data", &[]);
    let dir = temp_dir();
    let recorded = iotpipe(dir.path())
        .args(["sense", "--sim", "--count", "50", "-o", "jsonl"])
        .run()
        .success()
        .stdout();
    let file = dir.path().join("recorded.jsonl");
    std::fs::write(
        &file,
        format!("{recorded}{{\"v\":1,\"seq\":\"x\"}}\n{recorded}"),
    )
    .unwrap();
    let run = iotpipe(dir.path())
        .args(["publish", "-p", &port(&broker), "--replay"])
        .args([&file])
        .run()
        .expect_code(2);
    assert!(
        run.stderr().contains("line 51 is not a schema v1 reading"),
        "{}",
        run.stderr()
    );
    let received = collector.wait_for(50, Duration::from_secs(10));
    assert_eq!(
        received.join("\n"),
        recorded.trim_end(),
        "the 50 lines before it, unchanged"
    );
}

#[test]
fn tail_resubscribes_after_the_broker_restarts() {
    let mut broker = mosquitto();
    let dir = temp_dir();
    let mut tail = spawn_tail(dir.path(), &broker, &["-t", "t", "-C", "2", "-q", "1"]);
    let stdout = BufReader::new(tail.stdout.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // Publish until the tail prints it: once before and once after a restart.
    let deliver = |broker: &Service, message: &str| {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            assert!(Instant::now() < deadline, "tail never printed {message}");
            let _ = std::process::Command::new("mosquitto_pub")
                .args(["-p", &port(broker), "-t", "t", "-m", message])
                .stderr(Stdio::null())
                .status();
            if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
                assert!(line.contains(message), "{line}");
                break;
            }
        }
    };
    deliver(&broker, "{\"before\":1}");
    broker.kill();
    broker.restart();
    deliver(&broker, "{\"after\":1}");
    let output = wait_with_timeout(&mut tail, Duration::from_secs(10));
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn untrusted_bytes_are_escaped_on_a_terminal_and_exact_when_piped() {
    let broker = mosquitto();
    let dir = temp_dir();
    let hostile = "\u{1b}]0;pwned\u{7}\u{1b}[2J{\"not\":\"a reading\"}";
    let published = std::process::Command::new("mosquitto_pub")
        .args([
            "-p",
            &port(&broker),
            "-t",
            "sensor/data",
            "-r",
            "-m",
            hostile,
        ])
        .status()
        .unwrap();
    assert!(published.success());
    let tail = || {
        iotpipe(dir.path()).args([
            "tail",
            "mqtt",
            "-p",
            &port(&broker),
            "-t",
            "sensor/data",
            "-C",
            "1",
            "-W",
            "5",
            "-o",
            "jsonl",
        ])
    };
    let piped = tail().run().success();
    assert!(
        piped.stdout().contains(hostile),
        "piped output is byte-exact: {:?}",
        piped.stdout()
    );
    let shown = tail().on_terminal();
    let shown = String::from_utf8_lossy(&shown.0.stdout).into_owned();
    assert!(
        shown.contains("\\u{1b}]0;pwned\\u{7}\\u{1b}[2J"),
        "escaped on a terminal: {shown:?}"
    );
    assert!(
        !shown.contains('\u{1b}'),
        "no raw escape reaches the terminal: {shown:?}"
    );

    // Error text carries untrusted names too (a batch id, an S3 key).
    let error = iotpipe(dir.path())
        .args(["compact", "--batch", "x\u{1b}[2Jy"])
        .on_terminal();
    let error = String::from_utf8_lossy(&error.0.stdout).into_owned();
    assert!(error.contains("x\\u{1b}[2Jy"), "{error:?}");
    assert!(!error.contains('\u{1b}'), "{error:?}");
}

#[test]
fn readings_dropped_at_the_outbox_cap_are_counted_once_and_exit_3() {
    let mut broker = mosquitto();
    let collector = Collector::start(&broker, "sensor/data", &[]);
    let dir = temp_dir();
    let outbox = dir.path().join("outbox");
    // 1 MiB cap (the smallest): some 15,000 readings of ~250 bytes hold about 4 MiB,
    // so while the broker is away the oldest are dropped.
    let mut publisher = iotpipe(dir.path())
        .env("IOTPIPE_OUTBOX_MAX_BYTES", "1048576")
        .args([
            "publish",
            "--sim",
            "--rate",
            "100000",
            "--count",
            "15000",
            "-p",
            &port(&broker),
            "-o",
            "json",
        ])
        .args([std::ffi::OsStr::new("--outbox"), outbox.as_os_str()])
        .command()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    collector.wait_for(100, Duration::from_secs(20));
    broker.kill();
    std::thread::sleep(Duration::from_secs(3));
    broker.restart();
    let stdout = publisher.stdout.take().unwrap();
    let output = wait_with_timeout(&mut publisher, Duration::from_secs(60));
    let err = String::from_utf8_lossy(&output.stderr).to_string();
    assert_eq!(output.status.code(), Some(3), "{err}");
    assert!(err.contains("dropped at the outbox cap"), "{err}");
    let report: serde_json::Value = serde_json::from_reader(stdout).unwrap();
    let (total, acked, dropped) = (
        report["total"].as_u64().unwrap(),
        report["acknowledged"].as_u64().unwrap(),
        report["dropped"].as_u64().unwrap(),
    );
    assert_eq!(total, 15_000, "{report}");
    assert!(dropped > 0, "{report}");
    // Each reading is acknowledged or dropped, never both, and none is unaccounted for.
    assert_eq!(acked + dropped, total, "{report}");
}

#[test]
fn on_iot_core_publish_connects_as_the_thing_name_and_the_other_clients_beside_it() {
    let broker = mosquitto();
    let dir = temp_dir();
    // What the device policy of examples/aws/iotpipe.yaml allows: client/<thing>
    // for the publisher, client/<thing>-* for everything else.
    let cli = || {
        iotpipe(dir.path())
            .env("IOTPIPE_DEVICE_ID", "pi-kitchen")
            .env("IOTPIPE_MQTT_IOT_CORE", "true")
            .env("IOTPIPE_MQTT_TOPIC", "sensor/data/pi-kitchen")
            .env("IOTPIPE_MQTT_PORT", port(&broker))
    };
    cli()
        .args(["publish", "--sim", "--count", "3"])
        .run()
        .success();
    let doctor = cli()
        .args(["doctor", "--only", "mqtt", "-o", "json"])
        .run()
        .success();
    for says in [
        "client/${iot:Connection.Thing.ThingName} and …-* to a certificate attached exclusively to thing pi-kitchen",
        "sensor/data/pi-kitchen: the device's own topic",
    ] {
        assert!(
            doctor.stdout().contains(says),
            "{says}: {}",
            doctor.stdout()
        );
    }
    // The fleet policy lets a device publish on <prefix>/<its thing> only: doctor says so first.
    let shared_topic = cli()
        .env("IOTPIPE_MQTT_TOPIC", "sensor/data")
        .args(["doctor", "--only", "mqtt", "-o", "json"])
        .run()
        .expect_code(1);
    assert!(
        shared_topic
            .stdout()
            .contains("set mqtt.topic = \\\"sensor/data/pi-kitchen\\\""),
        "{}",
        shared_topic.stdout()
    );
    cli().args(["tail", "mqtt", "--timeout", "1"]).run();
    let log = broker.log();
    let ids: Vec<&str> = log
        .lines()
        .filter_map(|l| l.split(" as ").nth(1))
        .filter_map(|rest| rest.split_whitespace().next())
        .collect();
    assert!(
        ids.contains(&"pi-kitchen"),
        "publish as the thing: {ids:?}\n{log}"
    );
    assert!(
        ids.iter().any(|id| id.starts_with("pi-kitchen-doctor-")),
        "{ids:?}"
    );
    assert!(
        ids.iter().any(|id| id.starts_with("pi-kitchen-tail-")),
        "{ids:?}"
    );
    assert!(
        ids.iter()
            .all(|id| *id == "pi-kitchen" || id.starts_with("pi-kitchen-")),
        "every id fits the policy: {ids:?}"
    );
}

/// Readings in an outbox's segments (each payload carries `"seq":` once).
fn outbox_readings(outbox: &Path) -> usize {
    std::fs::read_dir(outbox)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().starts_with("seg-"))
                .map(|e| {
                    let bytes = std::fs::read(e.path()).unwrap_or_default();
                    bytes.windows(6).filter(|w| w == b"\"seq\":").count()
                })
                .sum()
        })
        .unwrap_or(0)
}

/// A Pi keeps sampling through an outage longer than the in-memory queue
/// (4,096 readings): every reading goes to the outbox on time, and all are
/// delivered once the broker is back.
#[test]
fn sampling_goes_on_through_an_outage_longer_than_the_queue() {
    let mut broker = persistent_broker();
    let collector = Collector::start(&broker, "sensor/data", &["-c", "-i", "witness"]);
    broker.terminate();
    let dir = temp_dir();
    let outbox = dir.path().join("outbox");
    let mut publisher = sim_publisher(dir.path(), &broker, 1000, 10_000, &outbox);
    // 7 s of outage at 1,000 readings/s: well past the queue's 4,096.
    std::thread::sleep(Duration::from_secs(7));
    let sampled = outbox_readings(&outbox);
    assert!(
        sampled > 6_000,
        "{sampled} readings sampled into the outbox during 7 s of outage"
    );
    broker.restart();
    every_reading_arrives(&mut publisher, &collector, 10_000);
}

/// A Pi's online/offline status the way fleets keep it: a retained birth
/// message on connect, a retained last will the broker publishes when the
/// device is killed; and `-r` retains a message for later subscribers.
#[test]
fn a_device_keeps_a_retained_status_online_then_offline_when_killed() {
    let broker = mosquitto();
    let dir = temp_dir();
    let port = broker.port.to_string();
    let status = |topic: &str| {
        iotpipe(dir.path())
            .args([
                "tail", "mqtt", "-p", &port, "-t", topic, "-C", "1", "-W", "5",
            ])
            .args(["-o", "jsonl"])
            .run()
            .success()
            .stdout()
    };
    let mut device = iotpipe(dir.path())
        .args([
            "publish",
            "--sim",
            "--rate",
            "2",
            "--no-outbox",
            "-p",
            &port,
        ])
        .args([
            "--will-topic",
            "status/pi-kitchen",
            "--birth-payload",
            "online",
        ])
        .start();
    let deadline = Instant::now() + Duration::from_secs(20);
    while status("status/pi-kitchen") != "online\n" {
        assert!(Instant::now() < deadline, "no retained birth");
        std::thread::sleep(Duration::from_millis(200));
    }
    device.child.kill().expect("SIGKILL");
    device.child.wait().expect("reaped");
    let deadline = Instant::now() + Duration::from_secs(20);
    while status("status/pi-kitchen") != "offline\n" {
        assert!(Instant::now() < deadline, "no retained will");
        std::thread::sleep(Duration::from_millis(200));
    }
    iotpipe(dir.path())
        .args([
            "-q", "publish", "-m", "kept", "-r", "-t", "notes/pi", "-p", &port,
        ])
        .run()
        .success();
    assert_eq!(status("notes/pi"), "kept\n");
}

/// `tail mqtt -F` beside mosquitto_sub -F with the same format on the same
/// messages (a retained status, plain text, JSON, a reading): the same bytes.
/// Then -R, -T, -v and --payload hex.
#[test]
fn tail_mqtt_prints_any_payload_byte_for_byte_like_mosquitto_sub() {
    let broker = mosquitto();
    let dir = temp_dir();
    let port = broker.port.to_string();
    let publish = |topic: &str, message: &str, retain: bool| {
        let mut run = iotpipe(dir.path()).args(["-q", "publish", "-t", topic, "-m", message]);
        if retain {
            run = run.args(["-r"]);
        }
        run.args(["-p", &port]).run().success();
    };
    publish("status/pi", "online", true);
    let format = r"%t|%p|%q|%r|%l|%%\t.";
    let ours = iotpipe(dir.path())
        .args([
            "tail", "mqtt", "-p", &port, "-t", "#", "-C", "4", "-W", "10", "-F", format,
        ])
        .start();
    let theirs = std::process::Command::new("mosquitto_sub")
        .args(["-p", &port, "-t", "#", "-C", "4", "-W", "10", "-F", format])
        .stdout(Stdio::piped())
        .spawn()
        .expect("mosquitto_sub is installed by scripts/test");
    // Both have the retained status once subscribed; then the live ones.
    std::thread::sleep(Duration::from_millis(1500));
    let reading = iotpipe(dir.path())
        .args(["sense", "--sim", "-n", "1", "-o", "jsonl"])
        .run()
        .success()
        .stdout();
    publish("notes/a", "plain text, not JSON", false);
    publish("other/json", r#"{"a": [1, 2]}"#, false);
    publish("sensor/data", reading.trim(), false);
    let theirs = theirs.wait_with_output().unwrap().stdout;
    let mut ours = ours;
    let mut our_bytes = Vec::new();
    std::io::Read::read_to_end(&mut ours.child.stdout.take().unwrap(), &mut our_bytes).unwrap();
    let (code, err) = ours.wait();
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        String::from_utf8_lossy(&our_bytes),
        String::from_utf8_lossy(&theirs)
    );
    assert!(
        !err.contains("malformed"),
        "no warning for payloads that are not readings: {err}"
    );

    // -R skips the retained status, -T the notes; -v carries qos, retain and time.
    let tail = iotpipe(dir.path())
        .args([
            "tail", "mqtt", "-p", &port, "-t", "#", "-C", "1", "-W", "10",
        ])
        .args(["-R", "-T", "notes/#", "-v", "-o", "jsonl"])
        .start();
    std::thread::sleep(Duration::from_millis(1000));
    publish("notes/b", "filtered out", false);
    publish("other/json", r#"{"a": 3}"#, false);
    let mut tail = tail;
    let mut line = String::new();
    std::io::Read::read_to_string(&mut tail.child.stdout.take().unwrap(), &mut line).unwrap();
    let (code, err) = tail.wait();
    assert_eq!(code, Some(0), "{err}");
    let message: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    assert_eq!(
        (
            &message["topic"],
            &message["qos"],
            &message["retain"],
            &message["payload"]["a"]
        ),
        (&"other/json".into(), &0.into(), &0.into(), &3.into()),
        "{message}"
    );
    assert!(
        message["received_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );

    let hex = iotpipe(dir.path())
        .args([
            "tail",
            "mqtt",
            "-p",
            &port,
            "-t",
            "status/pi",
            "-C",
            "1",
            "-W",
            "5",
        ])
        .args(["--payload", "hex", "-o", "jsonl"])
        .run()
        .success()
        .stdout();
    assert_eq!(hex, "6f6e6c696e65\n", "'online' in hex");
}
