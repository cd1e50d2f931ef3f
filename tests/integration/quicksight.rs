//! `refresh-dashboard` against the QuickSight test double: the exact REST calls
//! (paths, account id, ingestion id), row counts, failures with QuickSight's
//! message, the daily quota, the timeout and refresh schedules.

use crate::common::{
    Iotpipe, Service, TempDir, http_body, http_get, http_post, iotpipe, quicksight, temp_dir,
};

struct Double {
    service: Service,
    dir: TempDir,
}

impl Double {
    fn start(datasets: &[&str]) -> Double {
        let service = quicksight();
        for dataset in datasets {
            let body = serde_json::json!({ "id": dataset, "name": format!("{dataset} name") });
            http_post(service.port, "/_double/dataset", &body.to_string());
        }
        Double {
            service,
            dir: temp_dir(),
        }
    }

    fn plan(&self, plan: serde_json::Value) {
        http_post(self.service.port, "/_double/plan", &plan.to_string());
    }

    fn requests(&self) -> Vec<serde_json::Value> {
        let response = http_get(self.service.port, "/_double/requests").unwrap();
        serde_json::from_str(http_body(&response)).unwrap()
    }

    fn iotpipe(&self, args: &[&str]) -> Iotpipe {
        iotpipe(self.dir.path())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .args([
                "--endpoint-url",
                &format!("http://127.0.0.1:{}", self.service.port),
                "--region",
                "us-east-1",
                "refresh-dashboard",
            ])
            .args(args)
    }
}

const INGESTIONS: &str = "/accounts/123456789012/data-sets/sensor-readings/ingestions/";

#[test]
fn refresh_waits_for_completion_and_reports_rows_with_the_exact_requests() {
    let double = Double::start(&["sensor-readings"]);
    double.plan(serde_json::json!({
        "dataset": "sensor-readings",
        "states": ["QUEUED", "RUNNING", "COMPLETED"],
        "rows": {"RowsIngested": 1234, "RowsDropped": 2},
    }));
    let run = double
        .iotpipe(&["--dataset", "sensor-readings", "--wait", "-o", "json"])
        .run()
        .success();
    let out: Vec<serde_json::Value> = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0]["status"], "COMPLETED");
    assert_eq!(
        (
            out[0]["rows_ingested"].as_i64(),
            out[0]["rows_dropped"].as_i64()
        ),
        (Some(1234), Some(2))
    );
    assert!(
        run.stderr().contains("1234 rows ingested, 2 dropped"),
        "{}",
        run.stderr()
    );

    let id = out[0]["ingestion"].as_str().unwrap();
    let (prefix, suffix) = id.rsplit_once('-').unwrap();
    assert!(prefix.starts_with("iotpipe-") && suffix.len() == 12, "{id}");
    let requests = double.requests();
    assert_eq!(
        requests[0]["method"], "POST",
        "the account id comes from STS"
    );
    assert!(
        requests[0]["body"]
            .as_str()
            .unwrap()
            .contains("Action=GetCallerIdentity")
    );
    assert_eq!(requests[1]["method"], "PUT");
    assert_eq!(requests[1]["path"], format!("{INGESTIONS}{id}"));
    let body: serde_json::Value =
        serde_json::from_str(requests[1]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["IngestionType"], "FULL_REFRESH");
    let polls: Vec<&serde_json::Value> = requests[2..].iter().collect();
    assert_eq!(polls.len(), 3, "QUEUED, RUNNING, COMPLETED: {requests:?}");
    assert!(
        polls
            .iter()
            .all(|r| r["method"] == "GET" && r["path"] == format!("{INGESTIONS}{id}"))
    );

    // Without --wait: started, not followed.
    let started = double
        .iotpipe(&["--dataset", "sensor-readings", "-o", "json"])
        .run()
        .success();
    let out: Vec<serde_json::Value> = serde_json::from_str(&started.stdout()).unwrap();
    assert_eq!(out[0]["status"], "INITIALIZED");
    assert_eq!(
        double.requests().len(),
        requests.len() + 2,
        "STS and one PUT"
    );

    let list = double.iotpipe(&["--list", "-o", "json"]).run().success();
    let list: Vec<serde_json::Value> = serde_json::from_str(&list.stdout()).unwrap();
    assert_eq!(list[0]["dataset"], "sensor-readings");
    assert_eq!(list[0]["name"], "sensor-readings name");
    assert!(
        list[0]["last"]["ingestion"]
            .as_str()
            .unwrap()
            .starts_with("iotpipe-")
    );
}

#[test]
fn a_failed_ingestion_shows_quicksights_error_and_fails_the_run() {
    let double = Double::start(&["a", "b"]);
    std::fs::write(
        double.dir.path().join("iotpipe.toml"),
        "[quicksight]\naccount_id = \"123456789012\"\ndatasets = [\"a\", \"b\"]\n",
    )
    .unwrap();
    double.plan(serde_json::json!({
        "dataset": "a",
        "states": ["RUNNING", "FAILED"],
        "rows": {"RowsIngested": 0, "RowsDropped": 0},
        "error": {"Type": "DATA_SOURCE_AUTH_FAILED", "Message": "Athena cannot read s3://pipe/compacted/"},
    }));
    double.plan(
        serde_json::json!({"dataset": "b", "states": ["COMPLETED"], "rows": {"RowsIngested": 5}}),
    );
    let run = double.iotpipe(&["--wait"]).run().expect_code(3);
    let stderr = run.stderr();
    assert!(
        stderr.contains("dataset a ingestion")
            && stderr.contains(
                "ended FAILED: DATA_SOURCE_AUTH_FAILED: Athena cannot read s3://pipe/compacted/"
            ),
        "{stderr}"
    );
    assert!(stderr.contains("hint:"), "{stderr}");
    assert!(
        double.requests().iter().all(|r| r["method"] != "POST"),
        "the configured account id is used, STS is not asked"
    );
    let single = double
        .iotpipe(&["--dataset", "a", "--wait"])
        .run()
        .expect_code(1);
    assert!(
        single.stderr().contains("DATA_SOURCE_AUTH_FAILED"),
        "{}",
        single.stderr()
    );
    let missing = double.iotpipe(&["--dataset", "nope"]).run().expect_code(1);
    assert!(
        missing
            .stderr()
            .contains("dataset nope does not exist in account 123456789012"),
        "{}",
        missing.stderr()
    );
}

#[test]
fn the_daily_quota_and_the_timeout_are_explained() {
    let double = Double::start(&["sensor-readings", "slow"]);
    double.plan(serde_json::json!({
        "dataset": "sensor-readings",
        "limit_exceeded": true,
        "history_hours": [1, 5, 23],
    }));
    let quota = double
        .iotpipe(&["--dataset", "sensor-readings", "--wait"])
        .run()
        .expect_code(1);
    // Three ingestions is under any daily quota: what QuickSight said, and not "used up".
    let stderr = quota.stderr();
    assert!(
        stderr.contains(
            "refused an ingestion of dataset sensor-readings: LimitExceededException: \
             Ingestion limit exceeded for this dataset (3 ingestions in the last 24 h)"
        ) && stderr.contains("another QuickSight limit"),
        "{stderr}"
    );
    double.plan(serde_json::json!({
        "dataset": "sensor-readings",
        "limit_exceeded": true,
        "history_hours": (0..32).map(|i| 0.5 + f64::from(i) * 0.7).collect::<Vec<_>>(),
    }));
    let used_up = double
        .iotpipe(&["--dataset", "sensor-readings"])
        .run()
        .expect_code(1);
    let stderr = used_up.stderr();
    assert!(
        stderr.contains("(35 ingestions in the last 24 h)")
            && stderr.contains("32 ingestions per dataset per 24 hours")
            && stderr.contains("retry after 20"),
        "{stderr}"
    );
    let creates = double
        .requests()
        .iter()
        .filter(|r| r["method"] == "PUT")
        .count();
    assert_eq!(
        creates, 2,
        "a refused CreateIngestion is not retried (two runs)"
    );

    double.plan(serde_json::json!({"dataset": "slow", "states": ["QUEUED"]}));
    let timeout = double
        .iotpipe(&["--dataset", "slow", "--wait", "--timeout", "2s"])
        .run()
        .expect_code(4);
    assert!(
        timeout
            .stderr()
            .contains("1 ingestions still running after 2s"),
        "{}",
        timeout.stderr()
    );
}

#[test]
fn schedules_are_created_updated_and_deleted() {
    let double = Double::start(&["sensor-readings"]);
    let change = |args: &[&str]| -> serde_json::Value {
        let mut all = vec!["--dataset", "sensor-readings", "-o", "json"];
        all.extend_from_slice(args);
        let run = double.iotpipe(&all).run().success();
        serde_json::from_str::<Vec<serde_json::Value>>(&run.stdout()).unwrap()[0].clone()
    };
    assert_eq!(change(&["--schedule", "hourly"])["action"], "created");
    assert_eq!(change(&["--schedule", "daily"])["action"], "updated");
    assert_eq!(change(&["--schedule", "off"])["action"], "deleted");
    assert_eq!(change(&["--schedule", "off"])["action"], "absent");
    assert_eq!(
        change(&["--schedule"])["schedule"],
        "hourly",
        "quicksight.schedule"
    );
    let writes: Vec<(String, serde_json::Value)> = double
        .requests()
        .iter()
        .filter(|r| r["method"] == "POST" || r["method"] == "PUT")
        .filter(|r| r["path"].as_str().unwrap().ends_with("/refresh-schedules"))
        .map(|r| {
            (
                r["method"].as_str().unwrap().to_string(),
                serde_json::from_str(r["body"].as_str().unwrap()).unwrap(),
            )
        })
        .collect();
    assert_eq!(writes.len(), 3);
    assert_eq!(writes[0].0, "POST");
    assert_eq!(writes[0].1["Schedule"]["ScheduleId"], "iotpipe-refresh");
    assert_eq!(
        writes[0].1["Schedule"]["ScheduleFrequency"]["Interval"],
        "HOURLY"
    );
    assert_eq!(writes[0].1["Schedule"]["RefreshType"], "FULL_REFRESH");
    assert_eq!(
        (
            writes[1].0.as_str(),
            &writes[1].1["Schedule"]["ScheduleFrequency"]["Interval"]
        ),
        ("PUT", &serde_json::json!("DAILY"))
    );
}

/// The stand-in recomputes every request's SigV4 signature, as QuickSight
/// does: signed with another secret, the call is refused with AWS's error, and
/// iotpipe says so; signed right (every other test here), it is accepted.
#[test]
fn a_request_signed_with_another_secret_is_refused_and_explained() {
    let double = Double::start(&["sensor-readings"]);
    std::fs::write(
        double.dir.path().join("iotpipe.toml"),
        "[quicksight]\naccount_id = \"123456789012\"\n",
    )
    .unwrap();
    let run = double
        .iotpipe(&["--dataset", "sensor-readings"])
        .env("AWS_SECRET_ACCESS_KEY", "not-the-secret")
        .run()
        .expect_code(1);
    assert!(
        run.stderr()
            .contains("InvalidSignatureException: signature mismatch"),
        "{}",
        run.stderr()
    );
    // The same call with the right secret goes through.
    double
        .iotpipe(&["--dataset", "sensor-readings"])
        .run()
        .success();
}
