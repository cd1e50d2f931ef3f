//! Operating the pipeline: `/metrics` read by Prometheus's own Python
//! parser, `/healthz` following the broker, the live dashboard in headless
//! Chromium, quiet devices, systemd's notify socket and watchdog, JSON logs.

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use crate::common::{
    Running, free_port, http_body, http_get, iotpipe, mosquitto, python, temp_dir,
};

/// The metrics at `port`, parsed by prometheus_client's OpenMetrics parser:
/// `name{label=value}` to value.
fn scrape(port: u16) -> serde_json::Value {
    let out = python(
        &format!(
            r#"
import json, urllib.request
from prometheus_client.openmetrics.parser import text_string_to_metric_families
text = urllib.request.urlopen("http://127.0.0.1:{port}/metrics").read().decode()
samples = {{}}
for family in text_string_to_metric_families(text):
    for s in family.samples:
        labels = ",".join(f"{{k}}={{v}}" for k, v in sorted(s.labels.items()))
        samples[s.name + ("{{" + labels + "}}" if labels else "")] = s.value
print(json.dumps(samples))
"#
        ),
        &[],
    );
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
}

fn value(samples: &serde_json::Value, name: &str) -> f64 {
    samples[name]
        .as_f64()
        .unwrap_or_else(|| panic!("{name} missing: {samples}"))
}

/// Polls until `ready` holds (20 s at most).
fn eventually(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The port of `http://127.0.0.1:PORT/` in `up`'s start-up line.
fn dashboard_port(up: &Running) -> u16 {
    up.wait_for_stderr("up prints its dashboard URL", |err| {
        err.contains("dashboard http://")
    });
    up.stderr()
        .split("dashboard http://127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|port| port.parse().ok())
        .expect("a port in the dashboard URL")
}

#[test]
fn up_serves_metrics_that_grow_health_and_a_live_dashboard() {
    let dir = temp_dir();
    let mut up = iotpipe(dir.path())
        .args(["up", "--devices", "2", "--rate", "50", "--data-dir", "data"])
        .env("IOTPIPE_SINK_BUFFER_INTERVAL", "1s")
        .env("IOTPIPE_COUNTER_THRESHOLD", "2")
        .start();
    let port = dashboard_port(&up);
    eventually("readings landed", || {
        http_get(port, "/metrics").is_some_and(|r| r.contains("iotpipe_readings_landed_total"))
            && value(&scrape(port), "iotpipe_readings_landed_total") > 0.0
    });
    let first = scrape(port);
    eventually("a batch compacted", || {
        value(&scrape(port), "iotpipe_batches_compacted_total") > 0.0
    });
    let later = scrape(port);
    for name in [
        "iotpipe_readings_acknowledged_total",
        "iotpipe_messages_received_total",
        "iotpipe_readings_landed_total",
        "iotpipe_objects_written_total",
        "iotpipe_rows_written_total",
    ] {
        assert!(
            value(&later, name) > value(&first, name),
            "{name} grows as readings flow: {first} then {later}"
        );
    }
    assert!(value(&later, "iotpipe_device_readings_total{device=sim-1}") > 0.0);
    let seen = value(
        &later,
        "iotpipe_device_last_reading_timestamp_seconds{device=sim-2}",
    );
    let now = time::OffsetDateTime::now_utc().unix_timestamp() as f64;
    assert!(
        (now - seen).abs() < 60.0,
        "sim-2 seen just now: {seen} vs {now}"
    );
    let health = http_get(port, "/healthz").expect("healthz answers");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert_eq!(http_body(&health), "ok\n");

    // The page at / swaps itself in place: what Chromium renders grows.
    let profile = temp_dir();
    let rendered = || {
        // Past one 5 s tick of the page's own update: the swap runs, without errors.
        let out = std::process::Command::new(crate::up::chromium())
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
            ])
            .args([
                "--disable-background-networking",
                "--disable-component-update",
            ])
            .args([
                "--enable-logging=stderr",
                "--v=0",
                "--virtual-time-budget=6500",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("--dump-dom")
            .arg(format!("http://127.0.0.1:{port}/"))
            .output()
            .expect("chromium runs");
        let log = String::from_utf8_lossy(&out.stderr);
        let console: Vec<&str> = log.lines().filter(|l| l.contains("CONSOLE")).collect();
        assert!(console.is_empty(), "console messages: {console:?}");
        let dom = String::from_utf8_lossy(&out.stdout).into_owned();
        let compacted: u64 = dom
            .split(r#"<div class="v">"#)
            .nth(2)
            .and_then(|rest| rest.split('<').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("the compacted tile in {dom}"));
        (dom, compacted)
    };
    let (dom, before) = rendered();
    assert!(
        dom.contains("live, updated every 5 s") && dom.contains("sim-1"),
        "{dom}"
    );
    eventually("more rows compacted", || {
        value(&scrape(port), "iotpipe_rows_written_total") > before as f64
    });
    let (_, after) = rendered();
    assert!(
        after > before,
        "the page shows {before} then {after} compacted readings"
    );
    let (code, stderr) = up.interrupt();
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn healthz_follows_the_broker_and_quiet_devices_are_named() {
    let mut broker = mosquitto();
    let dir = temp_dir();
    let http = free_port();
    let sink = iotpipe(dir.path())
        .env("IOTPIPE_ALERT_QUIET_AFTER", "1s")
        .args([
            "sink",
            "-p",
            &broker.port.to_string(),
            "--buffer-interval",
            "300ms",
        ])
        .args(["--data-dir", "data", "--http", &format!("127.0.0.1:{http}")])
        .start();
    sink.wait_for_stderr("sink serves metrics", |err| {
        err.contains(&format!("metrics on http://127.0.0.1:{http}/metrics"))
    });
    eventually("healthy", || {
        http_get(http, "/healthz").is_some_and(|r| r.starts_with("HTTP/1.1 200"))
    });
    let attic_sends = |count: &str| {
        iotpipe(dir.path())
            .env("IOTPIPE_DEVICE_ID", "pi-attic")
            .args(["-q", "publish", "--sim", "--count", count, "--no-outbox"])
            .args(["-p", &broker.port.to_string()])
            .run()
            .success();
    };
    attic_sends("5");
    sink.wait_for_stderr("the quiet device named", |err| {
        err.contains("device pi-attic has sent nothing for")
    });
    assert_eq!(value(&scrape(http), "iotpipe_quiet_devices"), 1.0);
    attic_sends("1");
    sink.wait_for_stderr("the device back", |err| {
        err.contains("device pi-attic is sending again")
    });
    assert_eq!(value(&scrape(http), "iotpipe_quiet_devices"), 0.0);
    let stderr = sink.stderr();
    assert_eq!(
        stderr.matches("has sent nothing for").count(),
        1,
        "logged once, not every check: {stderr}"
    );

    broker.kill();
    eventually("unhealthy without the broker", || {
        http_get(http, "/healthz")
            .is_some_and(|r| r.starts_with("HTTP/1.1 503") && http_body(&r).starts_with("broker: "))
    });
    broker.restart();
    eventually("healthy again", || {
        http_get(http, "/healthz").is_some_and(|r| r.starts_with("HTTP/1.1 200"))
    });
    let counters = iotpipe(dir.path())
        .args(["counters", "--data-dir", "data", "-o", "json"])
        .run()
        .success()
        .stdout();
    let counters: serde_json::Value = serde_json::from_str(&counters).unwrap();
    assert!(
        counters["device_last_readings"]["pi-attic"]
            .as_str()
            .is_some_and(|at| at.ends_with('Z')),
        "{counters}"
    );
    let mut sink = sink;
    let (code, stderr) = sink.interrupt();
    assert_eq!(code, Some(0), "{stderr}");
}

/// systemd's side of `Type=notify`: READY once started, WATCHDOG from the
/// working loop at half of WATCHDOG_USEC, STOPPING at the end; and the log
/// lines as JSON objects.
#[test]
fn the_sink_notifies_systemd_and_pings_its_watchdog() {
    let broker = mosquitto();
    let dir = temp_dir();
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut sink = iotpipe(dir.path())
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "400000")
        .args([
            "--log-format",
            "json",
            "-v",
            "sink",
            "-p",
            &broker.port.to_string(),
        ])
        .args(["--data-dir", "data"])
        .start();
    let mut heard = Vec::new();
    let mut buf = [0u8; 256];
    while heard
        .iter()
        .filter(|m: &&String| *m == "WATCHDOG=1")
        .count()
        < 3
    {
        let n = socket.recv(&mut buf).expect("a notification");
        heard.push(String::from_utf8_lossy(&buf[..n]).trim().to_string());
    }
    assert_eq!(heard[0], "READY=1", "{heard:?}");
    let (code, stderr) = sink.interrupt();
    assert_eq!(code, Some(0), "{stderr}");
    let mut rest = Vec::new();
    while let Ok(n) = socket.recv(&mut buf) {
        rest.push(String::from_utf8_lossy(&buf[..n]).trim().to_string());
        if rest.last().is_some_and(|m| m == "STOPPING=1") {
            break;
        }
    }
    assert!(rest.contains(&"STOPPING=1".to_string()), "{rest:?}");
    for line in stderr.lines().filter(|l| !l.trim().is_empty()) {
        let object: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("{e}: not a JSON log line: {line}"));
        assert!(object["fields"]["message"].is_string(), "{line}");
    }
    assert!(stderr.contains("subscribed to"), "{stderr}");
}

/// `refresh-dashboard --serve` serves the live page of an existing data dir.
#[test]
fn refresh_dashboard_serves_the_live_page_of_a_data_dir() {
    let dir = temp_dir();
    iotpipe(dir.path())
        .args(["up", "--devices", "1", "--rate", "20", "--duration", "3s"])
        .args(["--data-dir", "data", "--http", "off"])
        .run()
        .success();
    let port = free_port();
    let mut serving = iotpipe(dir.path())
        .args(["refresh-dashboard", "--data-dir", "data"])
        .args(["--serve", &format!("127.0.0.1:{port}")])
        .start();
    serving.wait_for_stderr("serving", |err| {
        err.contains(&format!("the live dashboard on http://127.0.0.1:{port}/"))
    });
    let page = http_get(port, "/").expect("the page");
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    let body = http_body(&page);
    assert!(
        body.contains("live, updated every 5 s") && body.contains("sim-1"),
        "{body}"
    );
    let (code, stderr) = serving.interrupt();
    assert_eq!(code, Some(0), "{stderr}");
}
