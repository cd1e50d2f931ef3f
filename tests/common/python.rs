//! The test venv (moto, boto3, duckdb): Python snippets, DuckDB as the
//! independent reader of iotpipe's files, and the Python test doubles.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::{Service, required_path};

/// The venv that scripts/test prepared (moto, boto3, duckdb).
pub fn venv() -> PathBuf {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let default = home.join(".cache/iotpipe/venv");
    let venv = required_path(
        "IOTPIPE_TEST_VENV",
        &[default.to_str().unwrap_or_default()],
        "the Python venv",
    );
    assert!(
        venv.join("bin/python").exists(),
        "{} has no bin/python: rerun ./scripts/test",
        venv.display()
    );
    venv
}

/// Runs a Python snippet in the test venv, returning stdout; panics with stderr on failure.
#[track_caller]
pub fn python(code: &str, envs: &[(&str, &str)]) -> String {
    let stdout = run_python(&[code], envs, code);
    String::from_utf8_lossy(&stdout).into_owned()
}

/// `python -c <args...>` in the venv; stdout, or a panic naming `what` with stderr.
#[track_caller]
fn run_python(args: &[&str], envs: &[(&str, &str)], what: &str) -> Vec<u8> {
    let output = Command::new(venv().join("bin/python"))
        .arg("-c")
        .args(args)
        .envs(envs.iter().copied())
        .output()
        .expect("running python");
    assert!(
        output.status.success(),
        "python failed:\n{what}\n--- stderr\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// Runs a DuckDB query (an independent reader of our files) and returns rows as JSON.
#[track_caller]
pub fn duckdb(sql: &str) -> Vec<serde_json::Value> {
    let code = "import duckdb, json, sys\n\
                cur = duckdb.sql(sys.argv[1])\n\
                cols = [d[0] for d in cur.description]\n\
                print(json.dumps([dict(zip(cols, row)) for row in cur.fetchall()], default=str))";
    let stdout = run_python(&[code, sql], &[], sql);
    serde_json::from_slice(&stdout).expect("duckdb output is JSON")
}

/// Starts a test double written in Python, `tests/doubles/<script>`, with the
/// venv's interpreter: `python <script> <port> <args(dir)...>`.
pub fn python_double(
    name: &'static str,
    script: &str,
    args: impl Fn(&Path) -> Vec<String> + 'static,
    ready: fn(u16) -> bool,
) -> Service {
    let python = venv().join("bin/python");
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/doubles")
        .join(script);
    Service::start(
        name,
        Duration::from_secs(30),
        move |dir, port| {
            let mut command = Command::new(&python);
            command.arg(&script).arg(port.to_string()).args(args(dir));
            command
        },
        ready,
    )
}

/// The `(device_id, run_id, seq)` of every row in `<data>/compacted/`, read by
/// DuckDB, and how many rows there are (none when nothing is compacted yet).
pub fn compacted_keys(data: &Path) -> (usize, std::collections::BTreeSet<(String, String, i64)>) {
    if !data.join("compacted").exists() {
        return (0, Default::default());
    }
    let rows = duckdb(&format!(
        "SELECT device_id, run_id, seq FROM read_parquet('{}/compacted/**/*.parquet')",
        data.display()
    ));
    let keys = rows
        .iter()
        .map(|r| {
            (
                r["device_id"].as_str().expect("device_id").to_string(),
                r["run_id"].as_str().expect("run_id").to_string(),
                r["seq"].as_i64().expect("seq"),
            )
        })
        .collect();
    (rows.len(), keys)
}
