//! `iotpipe up`: the whole pipeline on one machine, checked from the outside:
//! DuckDB reads the compacted Parquet, Chromium renders the dashboard.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crate::common::{duckdb, free_port, iotpipe, temp_dir};

fn run_up(dir: &Path) -> String {
    let run = iotpipe(dir)
        .env("IOTPIPE_MQTT_PORT", free_port().to_string())
        .args([
            "up",
            "--duration",
            "6s",
            "--devices",
            "3",
            "--rate",
            "25",
            "--data-dir",
            "data",
            "--seed",
            "5",
        ])
        .run()
        .success();
    run.stderr()
}

#[test]
fn up_lands_and_compacts_exactly_what_was_published() {
    let dir = temp_dir();
    let stderr = run_up(dir.path());
    let published: u64 = stderr
        .split(" readings published and acknowledged")
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no summary in: {stderr}"));
    assert!(published > 200, "3 devices at 25/s for 6 s: {stderr}");

    let data = dir.path().join("data");
    let rows = duckdb(&format!(
        "SELECT device_id, count(*) AS n, count(DISTINCT (run_id, seq)) AS d, min(seq) AS lo, max(seq) AS hi, \
         count(DISTINCT run_id) AS runs FROM read_parquet('{}/compacted/**/*.parquet') GROUP BY 1 ORDER BY 1",
        data.display()
    ));
    let per_device: BTreeMap<String, (i64, i64, i64, i64, i64)> = rows
        .iter()
        .map(|r| {
            let n = |k: &str| r[k].as_i64().unwrap();
            (
                r["device_id"].as_str().unwrap().to_string(),
                (n("n"), n("d"), n("lo"), n("hi"), n("runs")),
            )
        })
        .collect();
    assert_eq!(
        per_device.keys().collect::<Vec<_>>(),
        ["sim-1", "sim-2", "sim-3"],
        "{stderr}"
    );
    let mut total = 0;
    for (device, (n, distinct, lo, hi, runs)) in &per_device {
        assert_eq!(
            (*n, *lo, *runs),
            (*distinct, 0, 1),
            "{device}: each reading once"
        );
        assert_eq!(*hi, n - 1, "{device}: no seq missing");
        total += n;
    }
    assert_eq!(total as u64, published, "compacted = published; {stderr}");
    let raw_left = walk(&data.join("raw"));
    assert!(raw_left.is_empty(), "everything compacted: {raw_left:?}");
    assert!(data.join("dashboard/index.html").exists());

    // The same page on demand, elsewhere; --wait belongs to QuickSight.
    let refreshed = iotpipe(dir.path())
        .args([
            "refresh-dashboard",
            "--data-dir",
            "data",
            "--out",
            "elsewhere",
            "-o",
            "json",
        ])
        .run()
        .success();
    let summary: serde_json::Value = serde_json::from_str(&refreshed.stdout()).unwrap();
    assert_eq!(
        summary["compacted_rows"].as_u64(),
        Some(total as u64),
        "{summary}"
    );
    assert!(dir.path().join("elsewhere/index.html").exists());
    let misuse = iotpipe(dir.path())
        .args(["refresh-dashboard", "--wait"])
        .run()
        .expect_code(2);
    assert!(misuse.stderr().contains("--dataset"), "{}", misuse.stderr());
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.path().is_dir() {
                out.extend(walk(&entry.path()));
            } else {
                out.push(entry.path().display().to_string());
            }
        }
    }
    out
}

pub fn chromium() -> String {
    std::env::var("IOTPIPE_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

#[test]
fn the_dashboard_renders_in_headless_chromium_without_errors() {
    let dir = temp_dir();
    run_up(dir.path());
    let page = dir.path().join("data/dashboard/index.html");
    let html = std::fs::read_to_string(&page).unwrap();
    assert_eq!(
        html.matches("http://").count() + html.matches("https://").count(),
        html.matches("http://www.w3.org/2000/svg").count(),
        "self-contained: no external resources"
    );
    assert_eq!(html.matches("<svg").count(), 3, "three charts");
    assert!(html.contains("sim-1") && html.contains("sim-3"));
    // A legend names each device's colour; an open tab reloads itself.
    let legend = &html[html.find(r#"id="legend""#).expect("a legend")..];
    let legend = &legend[..legend.find("</div>").unwrap()];
    for device in ["sim-1", "sim-2", "sim-3"] {
        assert!(legend.contains(device), "{device} in {legend}");
    }
    assert!(html.contains(r#"<meta http-equiv="refresh" content="15">"#));

    let shot = dir.path().join("dashboard.png");
    let profile = dir.path().join("chromium-profile");
    let output = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--hide-scrollbars",
            "--window-size=900,1400",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium is installed by scripts/test");
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{log}");
    let console: Vec<&str> = log.lines().filter(|l| l.contains("CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:?}");
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "a screenshot with content: {} bytes",
        png.len()
    );
    if std::env::var_os("IOTPIPE_UPDATE_SCREENSHOT").is_some() {
        std::fs::copy(
            &shot,
            Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/dashboard.png"),
        )
        .unwrap();
    }
}

#[test]
fn up_works_against_an_external_broker() {
    let broker = crate::common::mosquitto();
    let dir = temp_dir();
    let run = iotpipe(dir.path())
        .args([
            "up",
            "--duration",
            "3s",
            "--devices",
            "2",
            "--rate",
            "20",
            "--data-dir",
            "data",
        ])
        .args(["--broker", &format!("127.0.0.1:{}", broker.port)])
        .run()
        .success();
    assert!(
        run.stderr()
            .contains(&format!("broker 127.0.0.1:{}", broker.port)),
        "{}",
        run.stderr()
    );
    let rows = duckdb(&format!(
        "SELECT count(*) AS n, count(DISTINCT (device_id, run_id, seq)) AS d FROM read_parquet('{}/compacted/**/*.parquet')",
        dir.path().join("data").display()
    ));
    assert!(rows[0]["n"].as_i64().unwrap() > 50, "{rows:?}");
    assert_eq!(rows[0]["n"], rows[0]["d"]);
}

/// `up -o json`'s summary.
fn up_summary(run: &crate::common::Run) -> serde_json::Value {
    serde_json::from_str(run.stdout().trim()).unwrap_or_else(|e| panic!("{e}: {}", run.stdout()))
}

#[test]
fn a_configured_client_id_is_derived_per_role_and_everything_lands() {
    let dir = temp_dir();
    let run = iotpipe(dir.path())
        .env("IOTPIPE_MQTT_PORT", free_port().to_string())
        .env("IOTPIPE_MQTT_CLIENT_ID", "fixed-id")
        .args(["up", "--duration", "4s", "--devices", "2", "--rate", "20"])
        .args(["--data-dir", "data", "-o", "json"])
        .run()
        .success();
    let summary = up_summary(&run);
    let published = summary["published"].as_u64().unwrap();
    assert!(published > 50, "{summary}");
    assert!(
        summary["landed"]["readings"].as_u64().unwrap() >= published,
        "{summary}"
    );
    assert_eq!(summary["lost"], serde_json::json!([]), "{summary}");
}

#[test]
fn a_sink_refuses_a_shared_client_id_and_a_busy_journal() {
    let broker = crate::common::mosquitto();
    let dir = temp_dir();
    let port = broker.port.to_string();
    let shared = iotpipe(dir.path())
        .env("IOTPIPE_MQTT_CLIENT_ID", "fixed-id")
        .args([
            "sink",
            "-p",
            &port,
            "--client-id",
            "fixed-id",
            "--data-dir",
            "data",
        ])
        .run()
        .expect_code(2);
    assert!(
        shared.stderr().contains("the id `publish` connects as"),
        "{}",
        shared.stderr()
    );

    let first = iotpipe(dir.path())
        .args(["sink", "-p", &port, "--data-dir", "data"])
        .start();
    first.wait_for_stderr("the first sink starts", |err| err.contains("sink: landing"));
    let second = iotpipe(dir.path())
        .args(["sink", "-p", &port, "--data-dir", "data"])
        .run()
        .expect_code(2);
    assert!(
        second.stderr().contains("in use by another sink"),
        "{}",
        second.stderr()
    );
}

#[test]
fn up_says_which_acknowledged_readings_did_not_land() {
    // The broker acknowledges the devices' readings but lets nobody read them.
    let acl = temp_dir();
    std::fs::write(acl.path().join("acl"), "topic write sensor/#\n").unwrap();
    let acl_file = acl.path().join("acl");
    {
        use std::os::unix::fs::PermissionsExt;
        for path in [acl.path(), acl_file.as_path()] {
            let mode = if path.is_dir() { 0o755 } else { 0o644 };
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
        }
    }
    let broker = crate::common::mosquitto_with(&format!("acl_file {}\n", acl_file.display()));
    let dir = temp_dir();
    let run = iotpipe(dir.path())
        .args(["up", "--duration", "2s", "--devices", "1", "--rate", "10"])
        .args(["--drain-timeout", "2s", "--data-dir", "data", "-o", "json"])
        .args(["--broker", &format!("127.0.0.1:{}", broker.port)])
        .run()
        .expect_code(1);
    let err = run.stderr();
    assert!(
        err.contains("readings published and acknowledged are not in compacted/"),
        "{err}"
    );
    assert!(err.contains("sim-1 run") && err.contains("seq 0"), "{err}");
    assert!(err.contains("had not reached the sink after 2s"), "{err}");
    let summary = up_summary(&run);
    assert_eq!(
        summary["lost"].as_array().unwrap().len() as u64,
        summary["published"].as_u64().unwrap(),
        "{summary}"
    );
    assert_eq!(summary["lost_count"], summary["published"], "{summary}");
}

#[test]
fn with_no_devices_up_lands_and_compacts_what_other_publishers_send() {
    use std::io::Read;
    let broker = crate::common::mosquitto();
    let dir = temp_dir();
    let port = broker.port.to_string();
    let mut up = iotpipe(dir.path())
        .args(["up", "--devices", "0", "--duration", "8s"])
        .args(["--broker", &format!("127.0.0.1:{port}")])
        .args(["--data-dir", "data", "-o", "json"])
        .start();
    up.wait_for_stderr("up starts with no devices of its own", |err| {
        err.contains(&format!(
            "no simulated devices (publish to it: iotpipe publish -t sensor/data -h 127.0.0.1 -p {port})"
        ))
    });
    // Its sink subscribes just after start-up; another Pi publishes then.
    std::thread::sleep(std::time::Duration::from_secs(2));
    iotpipe(dir.path())
        .env("IOTPIPE_DEVICE_ID", "other-pi")
        .args([
            "publish", "--sim", "--count", "40", "--rate", "50", "-p", &port,
        ])
        .run()
        .success();
    let mut stdout = up.child.stdout.take().expect("piped stdout");
    let (code, stderr) = up.wait();
    assert_eq!(code, Some(0), "{stderr}");
    let mut json = String::new();
    stdout.read_to_string(&mut json).unwrap();
    let summary: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(summary["published"], 0, "{summary}");
    assert_eq!(summary["landed"]["readings"], 40, "{summary}");
    let rows = duckdb(&format!(
        "SELECT count(*) AS n, count(DISTINCT seq) AS d, min(device_id) AS device \
         FROM read_parquet('{}/data/compacted/**/*.parquet')",
        dir.path().display()
    ));
    assert_eq!(
        (rows[0]["n"].as_i64(), rows[0]["d"].as_i64()),
        (Some(40), Some(40))
    );
    assert_eq!(rows[0]["device"], "other-pi");
}

#[test]
fn up_sense_without_a_sense_hat_says_so_and_starts_nothing() {
    let dir = temp_dir();
    let run = iotpipe(dir.path())
        .env("IOTPIPE_SENSE_BUS", "250")
        .args(["up", "--sense", "--duration", "5s"])
        .run()
        .expect_code(1);
    let err = run.stderr();
    assert!(err.contains("/dev/i2c-250 does not exist"), "{err}");
    assert!(
        err.contains("raspi-config") && err.contains("leave out --sense"),
        "{err}"
    );
    assert!(
        !dir.path().join("iotpipe-data").exists(),
        "nothing started: {err}"
    );
    let both = iotpipe(dir.path())
        .args(["up", "--sense", "--devices", "2"])
        .run()
        .expect_code(2);
    assert!(
        both.stderr().contains("cannot be used with"),
        "{}",
        both.stderr()
    );
}

/// The sockets listening on `port`, as `address:port` in /proc/net/tcp's hex.
fn listening_on(port: u16) -> Vec<String> {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let listening = fields.get(3) == Some(&"0A");
            (listening && fields[1].ends_with(&format!(":{port:04X}")))
                .then(|| fields[1].to_string())
        })
        .collect()
}

#[test]
fn up_listen_opens_the_embedded_broker_to_the_network_and_says_so() {
    use std::io::Read;
    let dir = temp_dir();
    let port = free_port();
    let mut up = iotpipe(dir.path())
        .env("IOTPIPE_MQTT_PORT", port.to_string())
        .args([
            "up",
            "--devices",
            "0",
            "--listen",
            "0.0.0.0",
            "--duration",
            "6s",
        ])
        .args(["--data-dir", "data", "-o", "json"])
        .start();
    up.wait_for_stderr("the embedded broker starts", |err| {
        err.contains(&format!("embedded broker mqtt://0.0.0.0:{port}"))
    });
    assert_eq!(
        listening_on(port),
        [format!("00000000:{port:04X}")],
        "on every address"
    );
    std::thread::sleep(std::time::Duration::from_secs(1));
    iotpipe(dir.path())
        .env("IOTPIPE_DEVICE_ID", "other-pi")
        .args(["publish", "--sim", "--count", "20", "--rate", "50"])
        .args(["-p", &port.to_string()])
        .run()
        .success();
    let mut stdout = up.child.stdout.take().expect("piped stdout");
    let (code, stderr) = up.wait();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("no authentication"),
        "the warning: {stderr}"
    );
    let mut json = String::new();
    stdout.read_to_string(&mut json).unwrap();
    let summary: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(summary["landed"]["readings"], 20, "{summary}");
    assert_eq!(summary["dashboard"]["compacted_rows"], 20, "{summary}");
}

/// Outboxes flushing into up's own broker at once, faster than the sink
/// journals: the broker acknowledges a reading only once it is journaled,
/// so the publishers slow down and every acknowledged reading is a row.
#[test]
fn a_burst_from_many_publishers_slows_them_down_and_loses_nothing() {
    const PUBLISHERS: usize = 4;
    const EACH: usize = 15_000;
    let dir = temp_dir();
    let mut up = iotpipe(dir.path())
        // The least room between broker and journal: the burst must wait for it.
        .env("IOTPIPE_SINK_INGEST_BYTES", "65536")
        .args(["up", "--devices", "0", "--data-dir", "data", "-o", "json"])
        .start();
    let port = up.embedded_broker_port().to_string();
    let publishers: Vec<_> = (0..PUBLISHERS)
        .map(|i| {
            iotpipe(dir.path())
                .env("IOTPIPE_DEVICE_ID", format!("pi-{i}"))
                .args(["-q", "publish", "--sim", "--count", &EACH.to_string()])
                .args(["--rate", "1000000", "-q", "1", "--no-outbox", "-p", &port])
                .args(["-o", "json"])
                .start()
        })
        .collect();
    for mut publisher in publishers {
        let (code, err) = publisher.wait();
        assert_eq!(code, Some(0), "a publisher failed: {err}");
    }
    let summary = up.interrupt_for_json();
    let all = (PUBLISHERS * EACH) as u64;
    assert_eq!(summary["published"].as_u64(), Some(all), "{summary}");
    assert_eq!(summary["lost_count"], 0, "{summary}");
    let rows = duckdb(&format!(
        "SELECT count(*) AS n, count(DISTINCT (device_id, seq)) AS d, \
         count(DISTINCT device_id) AS devices \
         FROM read_parquet('{}/data/compacted/**/*.parquet')",
        dir.path().display()
    ));
    assert_eq!(
        (
            rows[0]["n"].as_u64(),
            rows[0]["d"].as_u64(),
            rows[0]["devices"].as_u64()
        ),
        (Some(all), Some(all), Some(PUBLISHERS as u64)),
        "every reading of every publisher, once"
    );
}
