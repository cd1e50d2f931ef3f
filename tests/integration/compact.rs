//! `iotpipe compact`: every row exactly once in typed Parquet, read back by
//! DuckDB, including after a crash at each step of the protocol.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::common::{compacted_keys, duckdb, iotpipe, python, temp_dir};

/// Writes `readings` as raw objects under `data/raw`, the way Firehose or the
/// sink would (gzip and plain, newline-delimited and `}{`-concatenated), with
/// some rows repeated in a second object. Returns the number of objects.
fn land(data: &Path, readings: &[String], objects: usize) -> usize {
    let dir = data.join("raw/2026/03/01/23");
    std::fs::create_dir_all(&dir).unwrap();
    let per = readings.len().div_ceil(objects);
    let mut gz = Vec::new();
    for (i, chunk) in readings.chunks(per).enumerate() {
        let mut rows: Vec<String> = chunk.to_vec();
        if i > 0 {
            // At-least-once delivery: the last rows of the previous object again.
            rows.extend(readings[i * per - 3..i * per].iter().cloned());
        }
        let name = format!("test-stream-1-2026-03-01-23-00-{i:02}-{i:08}.jsonl");
        let body = if i % 5 == 4 {
            rows.join("")
        } else {
            rows.join("\n") + "\n"
        };
        std::fs::write(dir.join(&name), body).unwrap();
        if i % 2 == 0 {
            gz.push(dir.join(&name).display().to_string());
        }
    }
    python(
        &format!(
            "import gzip, os\nfor p in {gz:?}:\n    data = open(p, 'rb').read()\n    \
             open(p + '.gz', 'wb').write(gzip.compress(data))\n    os.remove(p)"
        ),
        &[],
    );
    // The counter learns about them the way an operator would repair it.
    iotpipe(data.parent().unwrap())
        .args([
            "counters",
            "--data-dir",
            "data",
            "--reconcile",
            "--fix",
            "-o",
            "json",
        ])
        .run();
    readings.chunks(per).count()
}

/// Readings of two devices over midnight, so the batch spans two days.
fn readings(dir: &Path) -> Vec<String> {
    let mut all = Vec::new();
    for (device, count) in [("kitchen", 600), ("attic", 400)] {
        let out = iotpipe(dir)
            .args([
                "sense",
                "--sim",
                "--count",
                &count.to_string(),
                "--device-id",
                device,
            ])
            .args(["--start", "2026-03-01T23:55:00Z", "--imu", "-o", "jsonl"])
            .run()
            .success()
            .stdout();
        all.extend(out.lines().map(str::to_string));
    }
    all
}

fn keys_of(readings: &[String]) -> BTreeSet<(String, String, i64)> {
    readings
        .iter()
        .map(|line| {
            let v: Value = serde_json::from_str(line).unwrap();
            (
                v["device_id"].as_str().unwrap().into(),
                v["run_id"].as_str().unwrap().into(),
                v["seq"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// The files under `dir`, but for the run index (`compacted/.runs/`).
fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_name() == ".runs" {
                continue;
            }
            if entry.path().is_dir() {
                out.extend(files(&entry.path()));
            } else {
                out.push(entry.path().display().to_string());
            }
        }
    }
    out
}

#[test]
fn every_row_lands_once_in_typed_parquet_per_day() {
    let dir = temp_dir();
    let data = dir.path().join("data");
    let readings = readings(dir.path());
    assert_eq!(land(&data, &readings, 25), 25);

    let run = iotpipe(dir.path())
        .args(["compact", "--data-dir", "data", "-o", "jsonl"])
        .run()
        .success();
    let reports = run.json_lines();
    assert_eq!(reports.len(), 1, "one full batch of 20");
    assert_eq!(reports[0]["objects"], 20);
    assert!(
        reports[0]["duplicates"].as_u64().unwrap() > 0,
        "{}",
        reports[0]
    );
    assert!(
        run.stderr().contains("5 objects still pending"),
        "{}",
        run.stderr()
    );
    iotpipe(dir.path())
        .args(["compact", "--data-dir", "data", "--all"])
        .run()
        .success();

    let (rows, keys) = compacted_keys(&data);
    assert_eq!(rows, 1000, "every row once, duplicates dropped");
    assert_eq!(keys, keys_of(&readings));
    let days: BTreeSet<String> = files(&data.join("compacted"))
        .iter()
        .map(|f| f.split("dt=").nth(1).unwrap()[..10].to_string())
        .collect();
    assert_eq!(
        days,
        BTreeSet::from(["2026-03-01".to_string(), "2026-03-02".to_string()])
    );
    assert!(
        files(&data.join("raw")).is_empty(),
        "raw objects deleted after compaction"
    );

    // The dashboard charts dashboard.window back from each device's newest
    // reading and counts every row in its tiles.
    let chart_points = |window: &str| {
        let run = iotpipe(dir.path())
            .env("IOTPIPE_DASHBOARD_WINDOW", window)
            .args(["refresh-dashboard", "--data-dir", "data", "-o", "json"])
            .run()
            .success();
        let summary: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
        assert_eq!(summary["compacted_rows"], 1000, "{summary}");
        let html = std::fs::read_to_string(data.join("dashboard/index.html")).unwrap();
        html.split(" points=\"")
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap().split(' ').count())
            .sum::<usize>()
    };
    assert_eq!(
        chart_points("7d"),
        3 * 1000,
        "three charts of every reading"
    );
    assert_eq!(
        chart_points("1m"),
        3 * (61 + 61),
        "the last minute of each device"
    );

    let types = duckdb(&format!(
        "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('{}/compacted/**/*.parquet'))",
        data.display()
    ));
    let type_of = |name: &str| {
        types
            .iter()
            .find(|t| t["column_name"] == name)
            .map(|t| t["column_type"].as_str().unwrap().to_string())
    };
    assert_eq!(type_of("v").as_deref(), Some("INTEGER"));
    assert_eq!(type_of("device_id").as_deref(), Some("VARCHAR"));
    assert_eq!(type_of("seq").as_deref(), Some("BIGINT"));
    assert_eq!(type_of("ts").as_deref(), Some("TIMESTAMP WITH TIME ZONE"));
    assert_eq!(type_of("temperature_c").as_deref(), Some("DOUBLE"));
    assert_eq!(type_of("yaw_deg").as_deref(), Some("DOUBLE"));
    let first = duckdb(&format!(
        "SELECT min(ts)::VARCHAR AS ts FROM read_parquet('{}/compacted/**/*.parquet')",
        data.display()
    ));
    assert!(
        first[0]["ts"]
            .as_str()
            .unwrap()
            .starts_with("2026-03-01 23:55:00"),
        "{first:?}"
    );

    let counters = iotpipe(dir.path())
        .args(["counters", "--data-dir", "data", "-o", "json"])
        .run()
        .success();
    let summary: Value = serde_json::from_str(&counters.stdout()).unwrap();
    assert_eq!(
        (summary["pending"].as_u64(), summary["compacted"].as_u64()),
        (Some(0), Some(2))
    );
    // Nothing left: a rerun is a no-op.
    let again = iotpipe(dir.path())
        .args(["compact", "--data-dir", "data"])
        .run()
        .success();
    assert!(
        again.stderr().contains("nothing to do"),
        "{}",
        again.stderr()
    );
}

#[test]
fn a_crash_at_any_step_is_repaired_by_running_again() {
    for point in ["after-write", "after-mark", "after-first-delete"] {
        let dir = temp_dir();
        let data = dir.path().join("data");
        let readings = readings(dir.path());
        land(&data, &readings, 20);
        let crashed = iotpipe(dir.path())
            .args(["compact", "--data-dir", "data", "--fail-point", point])
            .run();
        assert_eq!(
            crashed.code(),
            -1,
            "{point}: killed by abort, like kill -9: {}",
            crashed.stderr()
        );
        let run = iotpipe(dir.path())
            .args(["compact", "--data-dir", "data", "-o", "jsonl"])
            .run()
            .success();
        let reports = run.json_lines();
        assert_eq!(
            reports.len(),
            1,
            "{point}: the interrupted batch is resumed, no new one claimed"
        );
        let (rows, keys) = compacted_keys(&data);
        assert_eq!(rows, 1000, "{point}: every row exactly once");
        assert_eq!(keys, keys_of(&readings), "{point}");
        assert!(
            files(&data.join("raw")).is_empty(),
            "{point}: raw objects gone"
        );
    }
}

#[test]
fn rows_that_are_not_schema_v1_are_kept_aside_not_lost() {
    let dir = temp_dir();
    let data = dir.path().join("data");
    let mut rows = readings(dir.path())[..40].to_vec();
    rows.push(r#"{"v":1,"device_id":"x","run_id":"r","seq":1,"ts":"not a time"}"#.to_string());
    land(&data, &rows, 20);
    let run = iotpipe(dir.path())
        .args(["compact", "--data-dir", "data", "--all", "-o", "jsonl"])
        .run()
        .expect_code(3);
    assert!(
        run.stderr().contains("1 rows set aside"),
        "{}",
        run.stderr()
    );
    assert_eq!(run.json_lines()[0]["invalid"], 1);
    let kept: Vec<String> = files(&data.join("rejected/compaction"));
    assert_eq!(kept.len(), 1);
    let text = std::fs::read_to_string(&kept[0]).unwrap();
    assert!(
        text.contains("not a time") && text.contains("`ts`"),
        "{text}"
    );
    assert_eq!(compacted_keys(&data).0, 40);
}

/// The file descriptors a traced process opened on directories, and which of
/// them it fsynced, from `strace -f -e trace=openat,fsync -o LOG`.
fn synced_dirs(log: &str) -> BTreeSet<String> {
    let mut open: std::collections::HashMap<(String, String), String> = Default::default();
    let mut synced = BTreeSet::new();
    for line in log.lines() {
        let mut parts = line.splitn(2, ' ');
        let pid = parts.next().unwrap_or_default().to_string();
        let call = parts.next().unwrap_or_default().trim();
        if let Some(rest) = call.strip_prefix("openat(") {
            let path = rest.split('"').nth(1).unwrap_or_default().to_string();
            if let Some(fd) = rest
                .rsplit("= ")
                .next()
                .and_then(|fd| fd.trim().parse::<i64>().ok())
            {
                open.insert((pid, fd.to_string()), path);
            }
        } else if let Some(rest) = call.strip_prefix("fsync(") {
            let fd = rest.split(')').next().unwrap_or_default().to_string();
            if let Some(path) = open.get(&(pid, fd)) {
                synced.insert(path.clone());
            }
        }
    }
    synced
}

#[test]
fn new_folders_are_synced_into_their_parents() {
    let dir = temp_dir();
    let data = dir.path().join("data");
    land(&data, &readings(dir.path())[..50], 5);
    let log = dir.path().join("strace.log");
    let traced = std::process::Command::new("strace")
        .args(["-f", "-e", "trace=openat,fsync", "-o"])
        .arg(&log)
        .arg(env!("CARGO_BIN_EXE_iotpipe"))
        .args(["compact", "--data-dir", "data", "--all", "-o", "jsonl"])
        .current_dir(dir.path())
        .env("HOME", dir.path())
        .output()
        .expect("strace is installed by scripts/test");
    assert!(
        traced.status.success(),
        "{}",
        String::from_utf8_lossy(&traced.stderr)
    );
    let synced = synced_dirs(&std::fs::read_to_string(&log).unwrap());
    // compacted/ and compacted/dt=.../ are new: the folders holding their
    // entries must be synced, or a power cut can lose a verified output.
    for parent in ["data", "data/compacted"] {
        assert!(
            synced.iter().any(|p| p.ends_with(parent)),
            "{parent} not fsynced after creating a folder in it; synced: {synced:?}"
        );
    }
}

#[test]
fn poison_objects_never_block_later_batches() {
    let dir = temp_dir();
    let data = dir.path().join("data");
    let readings = readings(dir.path());
    // Threshold 5: 20 good objects make four batches; poison goes into the first.
    let raw = data.join("raw/2026/03/01/23");
    std::fs::create_dir_all(&raw).unwrap();
    let good: Vec<&[String]> = readings.chunks(50).take(20).collect();
    for (i, rows) in good.iter().enumerate() {
        let name = format!("stream-1-2026-03-01-23-00-{i:02}-good.jsonl");
        std::fs::write(raw.join(name), rows.join("\n") + "\n").unwrap();
    }
    // Not JSON at all, a line of garbage between good lines, and a broken gzip.
    std::fs::write(
        raw.join("stream-1-2026-03-01-23-00-00-a-text.jsonl"),
        "hello\nworld\n",
    )
    .unwrap();
    let mixed = format!(
        "{}\nGARBAGE {{\n{}\n",
        readings[1000 - 1],
        readings[1000 - 2]
    );
    std::fs::write(
        raw.join("stream-1-2026-03-01-23-00-00-b-mixed.jsonl"),
        mixed,
    )
    .unwrap();
    std::fs::write(
        raw.join("stream-1-2026-03-01-23-00-00-c-bad.jsonl.gz"),
        b"\x1f\x8b\x08broken",
    )
    .unwrap();
    let iotpipe_here = || iotpipe(dir.path()).env("IOTPIPE_COUNTER_THRESHOLD", "5");
    iotpipe_here()
        .args(["counters", "--data-dir", "data", "--reconcile", "--fix"])
        .run();
    let run = iotpipe_here()
        .args(["compact", "--data-dir", "data", "--all", "-o", "jsonl"])
        .run()
        .expect_code(3);
    let err = run.stderr();
    assert!(err.contains("set aside"), "{err}");
    assert!(err.contains("c-bad.jsonl.gz (cannot be decoded"), "{err}");
    assert_eq!(
        run.json_lines().len(),
        5,
        "every batch compacted: {}",
        run.stdout()
    );
    // Every good reading once; nothing raw is left.
    let (rows, keys) = compacted_keys(&data);
    // The mixed object's good lines repeat readings of the good objects.
    let expected = keys_of(&readings);
    assert_eq!(rows, expected.len(), "each reading once");
    assert_eq!(keys, expected);
    assert!(files(&data.join("raw")).is_empty(), "raw objects gone");
    // What was set aside is kept with its reason: the lines, and the broken object whole.
    let rejected = files(&data.join("rejected/compaction"));
    let text: String = rejected
        .iter()
        .filter(|p| p.ends_with(".jsonl"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert!(
        text.contains("GARBAGE") && text.contains("hello") && text.contains("not JSON"),
        "{text}"
    );
    assert!(
        rejected.iter().any(|p| p.ends_with("c-bad.jsonl.gz")),
        "{rejected:?}"
    );

    // A raw object moved aside by hand: its batch completes without it.
    let more = data.join("raw/2026/03/02/00");
    std::fs::create_dir_all(&more).unwrap();
    for i in 0..5 {
        let name = format!("stream-1-2026-03-02-00-00-{i:02}-late.jsonl");
        std::fs::write(more.join(name), readings[i * 10].clone() + "\n").unwrap();
    }
    iotpipe_here()
        .args(["counters", "--data-dir", "data", "--reconcile", "--fix"])
        .run();
    std::fs::remove_file(more.join("stream-1-2026-03-02-00-00-02-late.jsonl")).unwrap();
    let run = iotpipe_here()
        .args(["compact", "--data-dir", "data", "-o", "jsonl"])
        .run()
        .expect_code(3);
    assert!(
        run.stderr().contains("gone from the store"),
        "{}",
        run.stderr()
    );
    assert!(files(&data.join("raw")).is_empty());
}

#[test]
fn a_batch_another_runner_holds_is_left_to_it_until_its_lease_ends() {
    let dir = temp_dir();
    let data = dir.path().join("data");
    let readings = readings(dir.path());
    land(&data, &readings, 20);
    let db = data.join("counter.sqlite3");
    // Another runner (on another machine, so not known dead) claims the batch
    // and holds it: a crash there must not make this compact take its work.
    let fail = iotpipe(dir.path())
        .args([
            "compact",
            "--data-dir",
            "data",
            "--fail-point",
            "after-write",
        ])
        .run();
    assert_eq!(fail.code(), -1, "{}", fail.stderr());
    let held_until = "2999-01-01T00:00:00.000Z";
    let python_args = |statement: String| {
        let code = format!(
            "import sqlite3\nc = sqlite3.connect({:?})\nc.execute({statement:?})\nc.commit()",
            db.display().to_string()
        );
        python(&code, &[]);
    };
    python_args(format!(
        "UPDATE batches SET lease_owner = 'elsewhere/1/abcd', lease_until = '{held_until}'"
    ));
    let run = iotpipe(dir.path())
        .args(["-v", "compact", "--data-dir", "data", "-o", "jsonl"])
        .run()
        .success();
    assert!(
        run.stderr().contains("held by another runner"),
        "{}",
        run.stderr()
    );
    assert!(
        run.json_lines().is_empty(),
        "nothing compacted: {}",
        run.stdout()
    );
    assert_eq!(files(&data.join("raw")).len(), 20, "raw objects untouched");

    // Its lease ends: the batch is resumed, every reading once.
    python_args("UPDATE batches SET lease_until = '2000-01-01T00:00:00.000Z'".to_string());
    iotpipe(dir.path())
        .args(["compact", "--data-dir", "data"])
        .run()
        .success();
    let (rows, keys) = compacted_keys(&data);
    assert_eq!(rows, 1000);
    assert_eq!(keys, keys_of(&readings));
    assert!(files(&data.join("raw")).is_empty());
}

/// Lands 1,000 readings in 40 objects, each repeating the last rows of the
/// one before, so that consecutive batches of 5 share readings.
fn overlapping_batches(dir: &Path) -> BTreeSet<(String, String, i64)> {
    let readings = readings(dir);
    land(&dir.join("data"), &readings, 40);
    keys_of(&readings)
}

#[test]
fn compactors_side_by_side_keep_each_reading_once() {
    for runners in [2, 3] {
        let dir = temp_dir();
        let expected = overlapping_batches(dir.path());
        let started: Vec<_> = (0..runners)
            .map(|_| {
                iotpipe(dir.path())
                    .env("IOTPIPE_COUNTER_THRESHOLD", "5")
                    .args(["compact", "--data-dir", "data", "--all"])
                    .start()
            })
            .collect();
        for mut runner in started {
            let status = runner.child.wait().unwrap();
            assert!(status.success(), "{runners} runners: {status}");
        }
        // Whatever each left to the others (a batch it waited too long for) is
        // finished by one more run.
        iotpipe(dir.path())
            .env("IOTPIPE_COUNTER_THRESHOLD", "5")
            .args(["compact", "--data-dir", "data", "--all"])
            .run()
            .success();
        let (rows, keys) = compacted_keys(&dir.path().join("data"));
        assert_eq!(keys, expected, "{runners} runners");
        assert_eq!(
            rows,
            expected.len(),
            "{runners} runners: every reading once"
        );
        assert!(files(&dir.path().join("data/raw")).is_empty());
    }
}

/// Whether process `pid` is stopped (SIGSTOP), per /proc.
fn stopped(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('T'))
    })
}

#[test]
fn a_runner_frozen_past_its_lease_changes_nothing_when_it_thaws() {
    let dir = temp_dir();
    let expected = overlapping_batches(dir.path());
    let cli = || {
        iotpipe(dir.path())
            .env("IOTPIPE_COMPACT_LEASE", "2s")
            .args(["compact", "--data-dir", "data", "--all"])
    };
    // B writes its first batch, then freezes (as under Ctrl-Z or a closed lid).
    let mut frozen = cli().args(["--fail-point", "stop-after-write"]).start();
    let pid = frozen.child.id();
    let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !stopped(pid) {
        assert!(
            std::time::Instant::now() < until,
            "the runner never stopped"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // Past its lease, A takes the batch (and the writer lock) over and finishes everything.
    std::thread::sleep(std::time::Duration::from_millis(2_500));
    cli().run().success();
    let (rows, keys) = compacted_keys(&dir.path().join("data"));
    assert_eq!((rows, &keys), (expected.len(), &expected));
    // B thaws: it finds its lease ran out, and marks and deletes nothing.
    let _ = std::process::Command::new("kill")
        .args(["-CONT", &pid.to_string()])
        .status();
    // The drain then goes on: the batch is its new holder's, nothing failed here.
    let (code, stderr) = frozen.wait();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("lease lost midway"), "{stderr}");
    let (rows, keys) = compacted_keys(&dir.path().join("data"));
    assert_eq!(keys, expected);
    assert_eq!(rows, expected.len(), "every reading once after the thaw");
    let counters = iotpipe(dir.path())
        .args(["counters", "--data-dir", "data", "-o", "json"])
        .run()
        .success();
    let counters: Value = serde_json::from_str(&counters.stdout()).unwrap();
    assert_eq!(counters["failed"], 0, "{counters}");
    assert_eq!(counters["claimed"], 0, "{counters}");
}
