//! AWS stand-ins: moto, kinesalite, the QuickSight and Lambda runtime
//! doubles, and iotpipe or an SDK client aimed at them with dummy credentials.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::{
    Iotpipe, Service, http_body, http_get, http_post, iotpipe, python_double, required_path,
};

/// A moto server (S3, DynamoDB, Kinesis, Athena, ... emulator) on a free
/// loopback port, run by `tests/doubles/moto_server.py`: one request at a time
/// (moto's DynamoDB transactions are not thread-safe, while DynamoDB serializes
/// them), and Athena queries can be made to fail ([`moto_fail_athena`]).
pub fn moto() -> Service {
    python_double(
        "moto_server",
        "moto_server.py",
        |_| Vec::new(),
        |port| {
            http_get(port, "/moto-api/data.json")
                .is_some_and(|r| r.starts_with("HTTP/1.") && r.contains(" 200 "))
        },
    )
}

/// kinesalite (a Kinesis emulator that, unlike moto, closes a split parent
/// shard) on a free loopback port; installed by scripts/test.
pub fn kinesalite() -> Service {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let default = home.join(".cache/iotpipe/kinesalite");
    let dir = required_path(
        "IOTPIPE_TEST_KINESALITE",
        &[default.to_str().unwrap_or_default()],
        "kinesalite",
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/doubles/kinesalite.js");
    Service::start(
        "kinesalite",
        Duration::from_secs(20),
        move |_, port| {
            let mut command = Command::new("node");
            command
                .env("NODE_PATH", dir.join("node_modules"))
                .arg(&script)
                .arg(port.to_string());
            command
        },
        |port| http_get(port, "/").is_some_and(|r| r.starts_with("HTTP/1.")),
    )
}

/// The QuickSight test double (`tests/doubles/quicksight.py`, which also
/// answers STS GetCallerIdentity for account 123456789012).
pub fn quicksight() -> Service {
    python_double(
        "quicksight",
        "quicksight.py",
        |_| Vec::new(),
        |port| http_get(port, "/_double/requests").is_some_and(|r| r.contains(" 200 ")),
    )
}

/// The QuickSight test double serving HTTPS with `cert` and `key` (PEM
/// files), with `datasets`; ready once it accepts connections.
pub fn quicksight_tls(cert: &Path, key: &Path, datasets: &[&str]) -> Service {
    let mut args = vec!["--tls".to_string(), path_text(cert), path_text(key)];
    args.extend(datasets.iter().map(|d| d.to_string()));
    python_double(
        "quicksight-tls",
        "quicksight.py",
        move |_| args.clone(),
        |port| std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
    )
}

fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// A Lambda runtime API double (`tests/doubles/lambda_runtime.py`) that hands
/// out `events` one by one and records what the function answers.
pub fn lambda_runtime(events: &serde_json::Value) -> Service {
    let events = events.to_string();
    python_double(
        "lambda_runtime",
        "lambda_runtime.py",
        move |dir| {
            let file = dir.join("events.json");
            std::fs::write(&file, &events).expect("writing the events");
            vec![file.display().to_string()]
        },
        |port| http_get(port, "/_double/results").is_some_and(|r| r.contains(" 200 ")),
    )
}

/// The Athena stand-in (`tests/doubles/athena.py`) over `moto`'s S3: it
/// records the DDL and runs every query with DuckDB after translating it from
/// Athena's dialect with sqlglot. iotpipe reaches it through
/// `AWS_ENDPOINT_URL_ATHENA` ([`Cloud::cli`]).
pub fn athena(moto: &Service) -> Service {
    let s3 = moto_endpoint(moto);
    python_double(
        "athena",
        "athena.py",
        move |_| vec![s3.clone()],
        |port| http_get(port, "/iotpipe-test/athena/queries").is_some_and(|r| r.contains(" 200 ")),
    )
}

/// moto for everything but Athena, and the Athena stand-in over its S3.
pub struct Cloud {
    pub moto: Service,
    pub athena: Service,
}

/// One query the Athena stand-in was sent.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct AthenaQuery {
    pub id: String,
    pub sql: String,
    pub state: String,
    pub reason: Option<String>,
    pub scanned: u64,
}

impl Cloud {
    pub fn start() -> Cloud {
        let moto = moto();
        let athena = athena(&moto);
        Cloud { moto, athena }
    }

    /// iotpipe with `backend = "aws"` aimed at moto and the Athena stand-in
    /// through the environment (`--endpoint-url`, set in code, would win over
    /// `AWS_ENDPOINT_URL_ATHENA`, as the SDKs document).
    pub fn cli(&self, dir: &Path) -> Iotpipe {
        on_test_account(dir)
            .env("AWS_ENDPOINT_URL", moto_endpoint(&self.moto))
            .env("AWS_ENDPOINT_URL_ATHENA", self.athena_endpoint())
    }

    pub fn athena_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.athena.port)
    }

    /// An SDK configuration for moto.
    pub async fn sdk(&self) -> aws_config::SdkConfig {
        sdk(&self.moto).await
    }

    /// An Athena client aimed at the stand-in.
    pub async fn athena_client(&self) -> aws_sdk_athena::Client {
        let config = aws_sdk_athena::config::Builder::from(&self.sdk().await)
            .endpoint_url(self.athena_endpoint())
            .build();
        aws_sdk_athena::Client::from_conf(config)
    }

    /// The rows of `sql` run through the stand-in as a user would query
    /// Athena (header row first); panics with Athena's reason if it fails.
    pub async fn select(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        let client = self.athena_client().await;
        let started = client
            .start_query_execution()
            .query_string(sql)
            .result_configuration(
                aws_sdk_athena::types::ResultConfiguration::builder()
                    .output_location("s3://pipe/athena-results/")
                    .build(),
            )
            .send()
            .await
            .expect("StartQueryExecution");
        let id = started.query_execution_id().unwrap_or_default().to_string();
        loop {
            let execution = client
                .get_query_execution()
                .query_execution_id(&id)
                .send()
                .await
                .expect("GetQueryExecution");
            let status = execution.query_execution().and_then(|e| e.status());
            match status.and_then(|s| s.state()).map(|s| s.as_str()) {
                Some("SUCCEEDED") => break,
                Some("FAILED" | "CANCELLED") => {
                    panic!("{sql}: {:?}", status.and_then(|s| s.state_change_reason()))
                }
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        let results = client
            .get_query_results()
            .query_execution_id(&id)
            .send()
            .await
            .expect("GetQueryResults");
        results
            .result_set()
            .map(|set| {
                set.rows()
                    .iter()
                    .map(|row| {
                        row.data()
                            .iter()
                            .map(|d| d.var_char_value().map(str::to_string))
                            .collect()
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The Athena engine on the stand-in over bucket `pipe` (default database
    /// and tables, results under `athena-results/`), never cancelled.
    pub async fn athena_engine(
        &self,
        store: &std::sync::Arc<iotpipe::store::s3::S3Store>,
    ) -> std::sync::Arc<iotpipe::compact::athena::AthenaEngine> {
        std::sync::Arc::new(iotpipe::compact::athena::AthenaEngine::new(
            self.athena_client().await,
            store.clone(),
            &iotpipe::config::AthenaConfig {
                database: "iotpipe".into(),
                raw_table: "raw_readings".into(),
                table: "readings".into(),
                workgroup: "primary".into(),
                output_location: Some("s3://pipe/athena-results/".into()),
            },
            iotpipe::signal::Cancel::never(),
        ))
    }

    /// Every query the stand-in was sent, oldest first.
    pub fn queries(&self) -> Vec<AthenaQuery> {
        let response = http_get(self.athena.port, "/iotpipe-test/athena/queries")
            .expect("the Athena stand-in answers");
        serde_json::from_str(http_body(&response)).expect("queries as JSON")
    }

    /// Makes the next `count` queries containing `matching` end FAILED with `reason`.
    pub fn fail_queries(&self, reason: &str, count: u32, matching: Option<&str>) {
        let body = serde_json::json!({ "reason": reason, "count": count, "match": matching });
        self.test_route("/iotpipe-test/athena/fail", &body);
    }

    /// Keeps the next `count` queries containing `matching` RUNNING until
    /// [`Cloud::release_queries`] or StopQueryExecution.
    pub fn hold_queries(&self, count: u32, matching: Option<&str>) {
        let body = serde_json::json!({ "count": count, "match": matching });
        self.test_route("/iotpipe-test/athena/hold", &body);
    }

    /// What the stand-in's JSON SerDe does with a value of the wrong type:
    /// `"fail"` (HIVE_BAD_DATA, the OpenX SerDe) or `"null"` (read as NULL).
    pub fn serde_mismatch(&self, reads: &str) {
        self.test_route(
            "/iotpipe-test/athena/serde",
            &serde_json::json!({ "mismatch": reads }),
        );
    }

    pub fn release_queries(&self) {
        self.test_route("/iotpipe-test/athena/release", &serde_json::json!({}));
    }

    fn test_route(&self, path: &str, body: &serde_json::Value) {
        let response = http_post(self.athena.port, path, &body.to_string());
        assert!(response.contains(" 200 "), "{response}");
    }
}

/// The endpoint of a moto server.
pub fn moto_endpoint(moto: &Service) -> String {
    format!("http://127.0.0.1:{}", moto.port)
}

/// An AWS client configuration aimed at a local emulator (moto, kinesalite)
/// with dummy credentials: the traffic stays on 127.0.0.1.
pub async fn sdk(service: &Service) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(iotpipe::aws::https_client())
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(moto_endpoint(service))
        .load()
        .await
}

/// iotpipe aimed at an AWS emulator (moto, kinesalite, a double) with dummy
/// credentials, `backend = "aws"`, bucket `pipe` and counter table `pipe-counter`.
pub fn iotpipe_on_aws(dir: &Path, service: &Service) -> Iotpipe {
    on_test_account(dir).args(["--endpoint-url", &moto_endpoint(service)])
}

/// iotpipe with dummy credentials in us-east-1, `backend = "aws"`, bucket
/// `pipe` and counter table `pipe-counter`; the endpoints are the caller's.
fn on_test_account(dir: &Path) -> Iotpipe {
    iotpipe(dir)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("IOTPIPE_BACKEND", "aws")
        .env("IOTPIPE_AWS_BUCKET", "pipe")
        .env("IOTPIPE_COUNTER_TABLE", "pipe-counter")
        .args(["--region", "us-east-1"])
}

/// Environment for an AWS client aimed at a moto server with dummy credentials.
pub fn aws_env(moto: &Service) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", moto_endpoint(moto)),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_DEFAULT_REGION", "us-east-1".into()),
    ]
}

/// Every row of the compacted table under `prefix` of `store`, as DuckDB reads
/// the Parquet files (whichever engine wrote them): the row count and the
/// distinct readings. Like Athena, names starting with `_` or `.` are skipped
/// (the key-range sidecars live under `.keys/`).
pub async fn s3_table_rows(
    store: &iotpipe::store::s3::S3Store,
    prefix: &str,
) -> (usize, std::collections::BTreeSet<(String, String, i64)>) {
    use iotpipe::store::Store;
    let local = super::temp_dir();
    std::fs::create_dir_all(local.path().join("compacted")).expect("a temp dir");
    for (i, object) in store.list(prefix).await.unwrap().into_iter().enumerate() {
        if object
            .key
            .split('/')
            .any(|part| part.starts_with(['_', '.']))
        {
            continue;
        }
        let body = store.get(&object.key).await.unwrap();
        std::fs::write(local.path().join(format!("compacted/{i}.parquet")), body).unwrap();
    }
    super::compacted_keys(local.path())
}
