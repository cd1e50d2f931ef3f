//! `iotpipe sense --sim`: determinism, counts, schema v1 output, the no-hardware error.

use serde_json::Value;

use crate::common::{iotpipe, temp_dir};

const START: &str = "2026-03-01T06:00:00Z";

fn sim(dir: &std::path::Path, extra: &[&str]) -> Vec<Value> {
    iotpipe(dir)
        .args(["sense", "--sim", "-o", "jsonl"])
        .args(extra)
        .run()
        .success()
        .json_lines()
}

fn without_run_id(mut readings: Vec<Value>) -> Vec<Value> {
    for r in &mut readings {
        r.as_object_mut().unwrap().remove("run_id");
    }
    readings
}

#[test]
fn same_seed_gives_the_same_readings() {
    let dir = temp_dir();
    let args = ["--seed", "42", "--count", "200", "--start", START, "--imu"];
    let a = sim(dir.path(), &args);
    let b = sim(dir.path(), &args);
    assert_ne!(
        a[0]["run_id"], b[0]["run_id"],
        "run_id is random per process"
    );
    assert_eq!(without_run_id(a.clone()), without_run_id(b));
    let c = sim(
        dir.path(),
        &["--seed", "43", "--count", "200", "--start", START, "--imu"],
    );
    assert_ne!(without_run_id(a), without_run_id(c));
}

#[test]
fn values_do_not_depend_on_the_wall_clock() {
    let dir = temp_dir();
    let strip = |mut v: Vec<Value>| {
        for r in &mut v {
            let r = r.as_object_mut().unwrap();
            r.remove("run_id");
            r.remove("ts");
        }
        v
    };
    let a = sim(dir.path(), &["--seed", "5", "--count", "20"]);
    let b = sim(
        dir.path(),
        &[
            "--seed",
            "5",
            "--count",
            "20",
            "--start",
            "2020-01-01T00:00:00Z",
        ],
    );
    assert_eq!(strip(a), strip(b));
}

#[test]
fn count_gives_seq_0_to_n_minus_1_in_schema_v1() {
    let dir = temp_dir();
    let readings = sim(
        dir.path(),
        &["--count", "5", "--device-id", "pi-test", "--every", "1ms"],
    );
    assert_eq!(readings.len(), 5);
    let mut run_ids = std::collections::BTreeSet::new();
    for (i, r) in readings.iter().enumerate() {
        // Checked field by field, independently of iotpipe's own Reading type.
        assert_eq!(r["v"], 1);
        assert_eq!(r["device_id"], "pi-test");
        assert_eq!(r["seq"], i as u64);
        run_ids.insert(r["run_id"].as_str().unwrap().to_string());
        let ts = r["ts"].as_str().unwrap();
        assert!(
            ts.len() == 24 && ts.ends_with('Z') && ts.as_bytes()[19] == b'.',
            "RFC 3339 UTC with ms: {ts}"
        );
        for field in [
            "temperature_c",
            "humidity_pct",
            "pressure_hpa",
            "temperature_from_pressure_c",
        ] {
            assert!(r[field].is_f64(), "{field} in {r}");
        }
        let humidity = r["humidity_pct"].as_f64().unwrap();
        assert!((0.0..=100.0).contains(&humidity));
        assert!(
            r.get("accel_x_g").is_none(),
            "absent sensors are omitted: {r}"
        );
    }
    assert_eq!(run_ids.len(), 1);
}

#[test]
fn simulated_readings_are_stamped_every_apart() {
    let dir = temp_dir();
    let readings = sim(dir.path(), &["--count", "3", "--start", START]);
    let ts: Vec<&str> = readings.iter().map(|r| r["ts"].as_str().unwrap()).collect();
    assert_eq!(
        ts,
        [
            "2026-03-01T06:00:00.000Z",
            "2026-03-01T06:00:01.000Z",
            "2026-03-01T06:00:02.000Z"
        ]
    );
}

#[test]
fn json_and_table_outputs() {
    let dir = temp_dir();
    let run = iotpipe(dir.path())
        .args(["sense", "--sim", "-n", "3", "-o", "json"])
        .run()
        .success();
    let array: Vec<Value> = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(array.len(), 3);
    let table = iotpipe(dir.path())
        .args([
            "sense",
            "--sim",
            "-n",
            "2",
            "-o",
            "table",
            "--device-id",
            "kitchen",
        ])
        .run()
        .success()
        .stdout();
    for header in ["time", "device", "temp °C", "humidity %", "pressure hPa"] {
        assert!(table.contains(header), "{table}");
    }
    assert_eq!(table.matches("kitchen").count(), 2, "{table}");
}

#[test]
fn live_table_prints_rows_as_they_come() {
    let dir = temp_dir();
    let out = iotpipe(dir.path())
        .args([
            "sense", "--sim", "-n", "3", "--every", "10ms", "-o", "table",
        ])
        .run()
        .success()
        .stdout();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "header and 3 rows: {out}");
    assert!(lines[0].starts_with("time"), "{out}");
}

#[test]
fn without_a_sense_hat_it_says_what_is_missing() {
    let dir = temp_dir();
    // Bus 250 exists on no machine, so this holds on a Pi too.
    let run = iotpipe(dir.path())
        .args(["sense", "--bus", "250"])
        .run()
        .expect_code(1);
    let err = run.stderr();
    assert!(err.contains("/dev/i2c-250 does not exist"), "{err}");
    assert!(
        err.contains("raspi-config") && err.contains("--sim"),
        "{err}"
    );
    assert!(
        !err.contains("panicked") && !err.contains("stack backtrace"),
        "{err}"
    );
    assert!(run.stdout().is_empty());
}

#[test]
fn duckdb_reads_the_output_as_typed_rows() {
    let dir = temp_dir();
    let out = iotpipe(dir.path())
        .args(["sense", "--sim", "--count", "1000", "--imu", "-o", "jsonl"])
        .run()
        .success()
        .stdout();
    let file = dir.path().join("readings.jsonl");
    std::fs::write(&file, out).unwrap();
    let rows = crate::common::duckdb(&format!(
        "SELECT count(*) AS n, min(seq) AS lo, max(seq) AS hi, count(DISTINCT seq) AS distinct_seq, \
         typeof(any_value(temperature_c)) AS temp_type, typeof(any_value(ts::TIMESTAMP)) AS ts_type, \
         avg(accel_z_g) AS gravity FROM read_json_auto('{}')",
        file.display()
    ));
    let row = &rows[0];
    assert_eq!(row["n"], 1000);
    assert_eq!(
        (row["lo"].as_i64(), row["hi"].as_i64()),
        (Some(0), Some(999))
    );
    assert_eq!(row["distinct_seq"], 1000);
    assert_eq!(row["temp_type"], "DOUBLE");
    assert_eq!(row["ts_type"], "TIMESTAMP");
    let gravity = row["gravity"].as_f64().unwrap();
    assert!((0.99..1.01).contains(&gravity), "{gravity}");
}

#[test]
fn replay_prints_the_recorded_readings_and_names_a_bad_line() {
    let dir = temp_dir();
    let recorded = iotpipe(dir.path())
        .args(["sense", "--sim", "--count", "20", "--imu", "-o", "jsonl"])
        .run()
        .success()
        .stdout();
    let file = dir.path().join("recorded.jsonl");
    std::fs::write(&file, &recorded).unwrap();
    let replayed = iotpipe(dir.path())
        .args(["sense", "-o", "jsonl", "--replay"])
        .args([&file])
        .run()
        .success()
        .stdout();
    assert_eq!(replayed, recorded, "replay prints the recording as it was");
    let two = iotpipe(dir.path())
        .args(["sense", "-o", "jsonl", "-n", "2", "--replay"])
        .args([&file])
        .run()
        .success();
    assert_eq!(two.json_lines().len(), 2);

    std::fs::write(
        &file,
        format!(
            "{}{{\"v\":1}}\n",
            recorded.lines().next().unwrap().to_owned() + "\n"
        ),
    )
    .unwrap();
    let run = iotpipe(dir.path())
        .args(["sense", "-o", "jsonl", "--replay"])
        .args([&file])
        .run()
        .expect_code(1);
    assert!(
        run.stderr()
            .contains("recorded.jsonl:2: not schema v1 JSON: missing field"),
        "{}",
        run.stderr()
    );
    assert_eq!(
        run.stdout().lines().count(),
        1,
        "the good line before it was printed"
    );
}

#[test]
fn probe_without_a_bus_says_what_is_missing() {
    let dir = temp_dir();
    let run = iotpipe(dir.path())
        .args(["sense", "--probe", "--bus", "250"])
        .run()
        .expect_code(1);
    assert!(
        run.stderr().contains("/dev/i2c-250 does not exist") && run.stderr().contains("--sim"),
        "{}",
        run.stderr()
    );
}
