//! `iotpipe doctor`: checks, in order, everything the pipeline needs — the
//! configuration, the Sense HAT, the broker and its TLS files, and the AWS side
//! (credentials, bucket, table, Athena, the IoT rule's role) — and prints each
//! result with the exact fix. Exit 0 only if nothing failed.

use std::time::Duration;

use clap::{Args, ValueEnum};
use serde::Serialize;

use super::Context;
use crate::config::Config;
use crate::error::Exit;
use crate::mqtt::connection::{Link, LinkEvent};
use crate::mqtt::{ConnectFailure, Session, Settings};
use crate::output::{Column, Format, Row};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Area {
    /// The Sense HAT: I2C bus, permissions, chips
    Device,
    /// The broker: TLS files, certificate, reachability
    Mqtt,
    /// Credentials, bucket, table, Athena, the IoT rule's role
    Aws,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Only these checks (the configuration is always checked); repeatable
    #[arg(long, value_enum, value_name = "AREA")]
    pub only: Vec<Area>,

    /// How long to wait for the broker and AWS before calling them unreachable
    #[arg(long, value_name = "DUR", default_value = "5s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Fail,
    /// Not applicable here, or not checkable (the detail says why).
    Skip,
}

/// One check's result.
#[derive(Debug, Serialize)]
pub struct Check {
    pub area: &'static str,
    pub check: String,
    pub status: Status,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Row for Check {
    fn headers() -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            Column::left("area", 6),
            Column::left("check", 30),
            Column::left("result", 6),
            Column::left("detail", 60),
        ];
        COLUMNS
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.area.to_string(),
            self.check.clone(),
            match self.status {
                Status::Ok => "OK",
                Status::Fail => "FAIL",
                Status::Skip => "skip",
            }
            .to_string(),
            self.detail.clone(),
        ]
    }
}

/// The checks of one run, in order.
#[derive(Default)]
struct Report {
    checks: Vec<Check>,
}

impl Report {
    fn add(
        &mut self,
        area: &'static str,
        check: impl Into<String>,
        status: Status,
        detail: impl Into<String>,
        fix: Option<String>,
    ) {
        self.checks.push(Check {
            area,
            check: check.into(),
            status,
            detail: detail.into(),
            fix,
        });
    }

    fn ok(&mut self, area: &'static str, check: impl Into<String>, detail: impl Into<String>) {
        self.add(area, check, Status::Ok, detail, None);
    }

    fn fail(
        &mut self,
        area: &'static str,
        check: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.add(area, check, Status::Fail, detail, Some(fix.into()));
    }

    fn skip(&mut self, area: &'static str, check: impl Into<String>, detail: impl Into<String>) {
        self.add(area, check, Status::Skip, detail, None);
    }
}

pub fn run(ctx: &mut Context, args: &DoctorArgs) -> anyhow::Result<Exit> {
    let wanted = |area| args.only.is_empty() || args.only.contains(&area);
    let mut report = Report::default();
    match ctx.config(Vec::new()) {
        Ok(resolved) => {
            let from = resolved.file.as_ref().map_or_else(
                || "defaults and IOTPIPE_* variables".to_string(),
                |f| f.display().to_string(),
            );
            report.ok("config", "configuration valid", format!("from {from}"));
            let config = resolved.config;
            if wanted(Area::Device) {
                device(&mut report, &config);
            }
            super::runtime()?.block_on(async {
                if wanted(Area::Mqtt) {
                    mqtt(&mut report, &config, args.timeout).await;
                }
                if wanted(Area::Aws) {
                    aws(&mut report, &config).await;
                }
            });
        }
        Err(error) => {
            let hint = crate::error::hint_of(&error)
                .unwrap_or_else(|| "fix the file or variable it names".into());
            report.fail("config", "configuration valid", format!("{error:#}"), hint);
        }
    }
    print(ctx, &report)?;
    let failed = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .count();
    if !ctx.global.is_quiet() {
        let skipped = report
            .checks
            .iter()
            .filter(|c| c.status == Status::Skip)
            .count();
        eprintln!(
            "doctor: {} checks, {failed} failed, {skipped} skipped",
            report.checks.len()
        );
    }
    Ok(if failed == 0 { Exit::Ok } else { Exit::Failure })
}

fn print(ctx: &mut Context, report: &Report) -> anyhow::Result<()> {
    let table = ctx.output.format == Format::Table;
    let mut records = ctx.output.records::<Check>(false);
    for check in &report.checks {
        records.write(check)?;
    }
    records.finish()?;
    if table {
        let out = ctx.output.raw();
        for check in report.checks.iter().filter(|c| c.status == Status::Fail) {
            if let Some(fix) = &check.fix {
                writeln!(out, "\nfix {} / {}:\n{fix}", check.area, check.check)?;
            }
        }
        out.flush()?;
    }
    Ok(())
}

// --- device ----------------------------------------------------------------------

fn device(report: &mut Report, config: &Config) {
    use crate::sense::SenseError;
    let bus = config.sense.bus;
    let path = format!("/dev/i2c-{bus}");
    match crate::sense::open_bus(bus) {
        Ok(mut opened) => {
            report.ok("device", format!("I2C bus {path}"), "present");
            report.ok("device", "permission to use the bus", "opened read/write");
            let rows = crate::sense::hat::probe(&mut opened);
            let found: Vec<&str> = rows
                .iter()
                .filter(|r| r.status == "found")
                .map(|r| r.chip)
                .collect();
            if found.len() == rows.len() {
                report.ok("device", "Sense HAT chips", found.join(", "));
            } else {
                let problems: Vec<String> = rows
                    .iter()
                    .filter(|r| r.status != "found")
                    .map(|r| format!("{} at {}: {}", r.chip, r.address, r.status))
                    .collect();
                report.fail(
                    "device",
                    "Sense HAT chips",
                    problems.join("; "),
                    "seat the Sense HAT firmly on all 40 pins; `iotpipe sense --probe` shows each \
                     chip; a chip held by a kernel driver needs the driver blacklisted \
                     (docs/raspberry-pi.md)",
                );
            }
        }
        Err(error) => {
            let bus_check = format!("I2C bus {path}");
            let why = if matches!(error, SenseError::Permission { .. }) {
                report.ok("device", bus_check, "present");
                report.fail(
                    "device",
                    "permission to use the bus",
                    error.to_string(),
                    error.hint(),
                );
                "cannot open the bus"
            } else {
                report.fail("device", bus_check, error.to_string(), error.hint());
                report.skip("device", "permission to use the bus", "no usable bus");
                "no usable bus"
            };
            report.skip("device", "Sense HAT chips", why);
        }
    }
}

// --- mqtt ------------------------------------------------------------------------

async fn mqtt(report: &mut Report, config: &Config, timeout: Duration) {
    let client_id = format!("iotpipe-doctor-{}", crate::mqtt::random_suffix());
    let settings = match Settings::from_config(&config.mqtt, client_id) {
        Ok(settings) => settings,
        Err(error) => {
            report.fail(
                "mqtt",
                "broker settings",
                error.to_string(),
                error.hint().unwrap_or_default(),
            );
            return;
        }
    };
    let tls_ok = match &settings.tls {
        None => {
            report.skip(
                "mqtt",
                "TLS files",
                "plain MQTT (no mqtt.tls, mqtt.cafile, mqtt.cert or mqtt.key)",
            );
            true
        }
        Some(tls) => tls_files(report, tls),
    };
    if !tls_ok {
        report.skip("mqtt", "broker reachable", "fix the TLS files first");
        return;
    }
    let endpoint = settings.endpoint();
    let mut link = match Link::new(settings, Session::Clean) {
        Ok(link) => link,
        Err(error) => {
            report.fail(
                "mqtt",
                "broker reachable",
                error.to_string(),
                error.hint().unwrap_or_default(),
            );
            return;
        }
    };
    let outcome = tokio::time::timeout(timeout, async {
        loop {
            match link.next().await {
                Ok(LinkEvent::Event(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(_)))) => {
                    return Ok(());
                }
                Ok(LinkEvent::Event(_)) => continue,
                Ok(LinkEvent::Lost { error, failure }) => return Err((error, failure)),
                Err(error) => return Err((error.to_string(), ConnectFailure::Tls)),
            }
        }
    })
    .await;
    match outcome {
        Ok(Ok(())) => {
            link.disconnect().await;
            report.ok(
                "mqtt",
                "broker reachable",
                format!("{endpoint} accepted the connection"),
            );
        }
        Ok(Err((error, failure))) => {
            let fix = match failure {
                ConnectFailure::Transient => "start the broker (sudo systemctl start mosquitto) \
                     or point mqtt.host/mqtt.port at one; for IoT Core the host is `aws iot \
                     describe-endpoint --endpoint-type iot:Data-ATS` and the port 8883 (443 with \
                     mqtt.alpn = true)"
                    .to_string(),
                ConnectFailure::Auth => {
                    "check mqtt.username/mqtt.password, or for IoT Core attach \
                     a policy allowing iot:Connect on this client id to the certificate, and \
                     activate the certificate"
                        .into()
                }
                ConnectFailure::Tls => "mqtt.cafile must hold the CA that signed the broker's \
                     certificate (AmazonRootCA1.pem for IoT Core), and mqtt.host must match a \
                     name in it"
                    .into(),
            };
            report.fail(
                "mqtt",
                "broker reachable",
                format!("{endpoint}: {error}"),
                fix,
            );
        }
        Err(_) => report.fail(
            "mqtt",
            "broker reachable",
            format!(
                "{endpoint}: no answer in {}",
                humantime::format_duration(timeout)
            ),
            "is a firewall dropping the port? check mqtt.host/mqtt.port; --timeout waits longer",
        ),
    }
}

/// PEM certificates from `path`, or the reason they cannot be read.
fn pem_certs(
    path: &std::path::Path,
) -> Result<Vec<rustls_pki_types::CertificateDer<'static>>, String> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no PEM certificate in it", path.display()));
    }
    Ok(certs)
}

/// Files readable and parseable, certificate and key a pair, certificate in its validity.
fn tls_files(report: &mut Report, tls: &crate::mqtt::Tls) -> bool {
    use rustls_pki_types::PrivateKeyDer;
    use rustls_pki_types::pem::PemObject;
    let unreadable = |what: &str, path: &std::path::Path| {
        format!(
            "check that {} exists and that this user can read it (ls -l {0}); for IoT Core, \
             the {what} comes with the thing's certificate",
            path.display()
        )
    };
    let mut all_ok = true;
    let mut read = Vec::new();
    let mut certs = |what: &'static str, path: &Option<std::path::PathBuf>, report: &mut Report| {
        let path = path.as_ref()?;
        match pem_certs(path) {
            Ok(certs) => {
                read.push(format!("{what} {}", path.display()));
                Some(certs)
            }
            Err(reason) => {
                all_ok = false;
                report.fail("mqtt", "TLS files", reason, unreadable(what, path));
                None
            }
        }
    };
    certs("CA file", &tls.cafile, report);
    let chain = certs("certificate", &tls.cert, report);
    let key = match &tls.key {
        Some(path) => match PrivateKeyDer::from_pem_file(path) {
            Ok(key) => {
                read.push(format!("key {}", path.display()));
                Some(key)
            }
            Err(e) => {
                all_ok = false;
                report.fail(
                    "mqtt",
                    "TLS files",
                    format!("{}: {e}", path.display()),
                    unreadable("private key", path),
                );
                None
            }
        },
        None => None,
    };
    if all_ok {
        report.ok(
            "mqtt",
            "TLS files",
            format!("readable: {}", read.join(", ")),
        );
    }
    let (Some(chain), Some(key)) = (chain, key) else {
        if tls.cert.is_none() && tls.key.is_none() {
            report.skip(
                "mqtt",
                "certificate and key match",
                "no client certificate (mqtt.cert, mqtt.key)",
            );
            report.skip("mqtt", "certificate not expired", "no client certificate");
        }
        return all_ok;
    };
    let provider = rustls::ClientConfig::builder().crypto_provider().clone();
    let matched = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| e.to_string())
        .and_then(|signing| {
            rustls::sign::CertifiedKey::new(chain.clone(), signing)
                .keys_match()
                .map_err(|e| e.to_string())
        });
    match matched {
        Ok(()) => report.ok(
            "mqtt",
            "certificate and key match",
            "the key is the certificate's",
        ),
        Err(reason) => {
            all_ok = false;
            report.fail(
                "mqtt",
                "certificate and key match",
                format!("they are not a pair: {reason}"),
                "mqtt.key must be the private key the certificate was issued for: download both \
                 from the same IoT certificate (or `aws iot create-keys-and-certificate`)",
            );
        }
    }
    match x509_parser::parse_x509_certificate(chain[0].as_ref()) {
        Ok((_, cert)) => {
            let validity = cert.validity();
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            let (from, until) = (
                validity.not_before.timestamp(),
                validity.not_after.timestamp(),
            );
            let until_text = validity.not_after.to_string();
            if now > until {
                all_ok = false;
                report.fail(
                    "mqtt",
                    "certificate not expired",
                    format!("expired on {until_text}"),
                    "issue a new certificate for the thing (IoT Core: `aws iot \
                     create-keys-and-certificate --set-as-active`, attach the policy and the \
                     thing), then point mqtt.cert and mqtt.key at it",
                );
            } else if now < from {
                all_ok = false;
                report.fail(
                    "mqtt",
                    "certificate not expired",
                    format!("not valid before {}", validity.not_before),
                    "check the device clock (timedatectl), then the certificate",
                );
            } else {
                let days = (until - now) / 86_400;
                report.ok(
                    "mqtt",
                    "certificate not expired",
                    format!("valid until {until_text} ({days} days)"),
                );
            }
        }
        Err(e) => {
            all_ok = false;
            report.fail(
                "mqtt",
                "certificate not expired",
                format!("cannot read its validity: {e}"),
                "mqtt.cert must be an X.509 certificate in PEM",
            );
        }
    }
    all_ok
}

// --- aws -------------------------------------------------------------------------

/// The trust policy the IoT rule's role needs.
pub fn iot_trust_policy() -> serde_json::Value {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "iot.amazonaws.com"},
            "Action": "sts:AssumeRole"
        }]
    })
}

fn one_or_many(value: &serde_json::Value) -> Vec<&serde_json::Value> {
    match value {
        serde_json::Value::Array(items) => items.iter().collect(),
        serde_json::Value::Null => Vec::new(),
        other => vec![other],
    }
}

/// Whether a trust policy lets `service` assume the role.
pub fn trusts(document: &serde_json::Value, service: &str) -> bool {
    one_or_many(&document["Statement"])
        .into_iter()
        .any(|statement| {
            statement["Effect"] == "Allow"
                && one_or_many(&statement["Principal"]["Service"])
                    .iter()
                    .any(|s| s.as_str() == Some(service))
                && one_or_many(&statement["Action"])
                    .iter()
                    .any(|a| matches!(a.as_str(), Some("sts:AssumeRole" | "sts:*" | "*")))
        })
}

/// An assumed-role session ARN as the role ARN IAM simulates.
fn principal_arn(caller: &str) -> String {
    // arn:aws:sts::123:assumed-role/Name/session -> arn:aws:iam::123:role/Name
    if let Some((prefix, rest)) = caller.split_once(":sts::") {
        if let Some((account, path)) = rest.split_once(":assumed-role/") {
            let role = path.split('/').next().unwrap_or_default();
            let partition = prefix.trim_start_matches("arn:");
            return format!("arn:{partition}:iam::{account}:role/{role}");
        }
    }
    caller.to_string()
}

fn mask(access_key: &str) -> String {
    let chars: Vec<char> = access_key.chars().collect();
    if chars.len() <= 8 {
        return "****".into();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

async fn aws(report: &mut Report, config: &Config) {
    use aws_sdk_sts::config::ProvideCredentials;
    let sdk = crate::aws::sdk_config(&config.aws).await;
    let Some(region) = sdk.region().map(|r| r.to_string()) else {
        report.fail(
            "aws",
            "credentials and region",
            "no region",
            "set aws.region (or --region, AWS_REGION, or region in ~/.aws/config)",
        );
        return skip_aws(report, "no region");
    };
    let credentials = match sdk.credentials_provider() {
        Some(provider) => provider
            .provide_credentials()
            .await
            .map_err(|e| crate::aws::describe(&e)),
        None => Err("no credentials provider".to_string()),
    };
    let credentials = match credentials {
        Ok(credentials) => credentials,
        Err(error) => {
            report.fail(
                "aws",
                "credentials and region",
                format!("region {region}; no credentials: {error}"),
                "run `aws configure` (or `aws sso login`), pick a profile with --profile / \
                 aws.profile / AWS_PROFILE, or run where an instance role is attached",
            );
            return skip_aws(report, "no credentials");
        }
    };
    let identity = aws_sdk_sts::Client::new(&sdk)
        .get_caller_identity()
        .send()
        .await;
    let caller = match identity {
        Ok(identity) => {
            let arn = identity.arn().unwrap_or_default().to_string();
            report.ok(
                "aws",
                "credentials and region",
                format!(
                    "region {region}; key {}; {}",
                    mask(credentials.access_key_id()),
                    arn
                ),
            );
            arn
        }
        Err(error) => {
            report.fail(
                "aws",
                "credentials and region",
                format!(
                    "STS refused key {}: {}",
                    mask(credentials.access_key_id()),
                    crate::aws::describe(&error)
                ),
                "the credentials are wrong or expired: `aws configure` / `aws sso login`, or \
                 another --profile",
            );
            return skip_aws(report, "credentials refused");
        }
    };

    let s3 = crate::aws::s3(&sdk);
    match &config.aws.bucket {
        None => report.skip(
            "aws",
            "S3 bucket",
            "aws.bucket is not set (backend = \"local\" needs none)",
        ),
        Some(bucket) => {
            head_bucket(
                report,
                &s3,
                "S3 bucket",
                bucket,
                "set aws.bucket to your bucket, or create it (examples/aws/iotpipe.yaml)",
            )
            .await
        }
    }

    let table = &config.counter.table;
    match crate::aws::dynamodb(&sdk)
        .describe_table()
        .table_name(table)
        .send()
        .await
    {
        Ok(output) => {
            let keyed_by_pk = output
                .table()
                .map(|t| t.key_schema().iter().any(|k| k.attribute_name() == "pk"))
                .unwrap_or(false);
            if keyed_by_pk {
                report.ok("aws", format!("DynamoDB table {table}"), "exists, key pk");
            } else {
                report.fail(
                    "aws",
                    format!("DynamoDB table {table}"),
                    "exists, but its key is not `pk`: not an iotpipe counter table",
                    "set counter.table to another name and run `iotpipe counters --init`",
                );
            }
        }
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            report.fail(
                "aws",
                format!("DynamoDB table {table}"),
                "does not exist",
                "run `iotpipe counters --init` (or deploy examples/aws/iotpipe.yaml)",
            );
        }
        Err(error) => report.fail(
            "aws",
            format!("DynamoDB table {table}"),
            crate::aws::describe(&error),
            "grant dynamodb:DescribeTable on it, or check counter.table and the region",
        ),
    }

    athena(report, config, &sdk, &s3).await;
    iot_rule_role(report, config, &sdk, &caller).await;
}

fn skip_aws(report: &mut Report, why: &str) {
    for check in [
        "S3 bucket",
        "DynamoDB table",
        "Athena workgroup",
        "Athena output location",
        "IoT rule role",
        "iam:PassRole on the role",
    ] {
        report.skip("aws", check, why);
    }
}

async fn head_bucket(
    report: &mut Report,
    s3: &aws_sdk_s3::Client,
    check: &str,
    bucket: &str,
    missing_fix: &str,
) {
    match s3.head_bucket().bucket(bucket).send().await {
        Ok(_) => report.ok("aws", format!("{check} {bucket}"), "reachable"),
        Err(error) => {
            let status = error.raw_response().map(|r| r.status().as_u16());
            match status {
                Some(404) => report.fail("aws", format!("{check} {bucket}"), "does not exist", missing_fix),
                Some(403) => report.fail(
                    "aws",
                    format!("{check} {bucket}"),
                    "access denied",
                    format!("grant s3:ListBucket on arn:aws:s3:::{bucket} to this identity (and check the bucket policy)"),
                ),
                _ => report.fail("aws", format!("{check} {bucket}"), crate::aws::describe(&error), "check the region (--region) and the network"),
            }
        }
    }
}

async fn athena(
    report: &mut Report,
    config: &Config,
    sdk: &aws_config::SdkConfig,
    s3: &aws_sdk_s3::Client,
) {
    let name = &config.athena.workgroup;
    let check = format!("Athena workgroup {name}");
    let workgroup = match crate::aws::athena(sdk)
        .get_work_group()
        .work_group(name)
        .send()
        .await
    {
        Ok(output) => output.work_group().cloned(),
        Err(error) => {
            report.fail("aws", check, crate::aws::describe(&error), "create the workgroup (examples/aws/iotpipe.yaml has one with a bytes-scanned limit) or set athena.workgroup");
            report.skip("aws", "Athena output location", "no workgroup");
            return;
        }
    };
    let Some(workgroup) = workgroup else {
        report.fail("aws", check, "not found", "set athena.workgroup");
        return;
    };
    let configuration = workgroup.configuration();
    let enabled = workgroup.state().is_none_or(|s| s.as_str() == "ENABLED");
    if enabled {
        let limit = configuration
            .and_then(|c| c.bytes_scanned_cutoff_per_query())
            .map_or_else(
                || "no bytes-scanned limit".to_string(),
                |b| format!("limit {} per query", indicatif::HumanBytes(b.max(0) as u64)),
            );
        report.ok("aws", check, format!("enabled, {limit}"));
    } else {
        report.fail(
            "aws",
            check,
            "disabled",
            format!("aws athena update-work-group --work-group {name} --state ENABLED"),
        );
    }
    let enforced = configuration.and_then(|c| {
        c.enforce_work_group_configuration()
            .unwrap_or(false)
            .then(|| c.result_configuration().and_then(|r| r.output_location()))
            .flatten()
    });
    let location = enforced
        .map(str::to_string)
        .or_else(|| config.athena.output_location.clone())
        .or_else(|| {
            configuration
                .and_then(|c| c.result_configuration())
                .and_then(|r| r.output_location())
                .map(str::to_string)
        });
    match location {
        None => report.fail("aws", "Athena output location", "none: Athena has nowhere to write results", "set athena.output_location (e.g. s3://<bucket>/athena-results/) or the workgroup's result location"),
        Some(location) => {
            let bucket = location.trim_start_matches("s3://").split('/').next().unwrap_or_default().to_string();
            head_bucket(report, s3, "Athena output location", &bucket, &format!("create the bucket of {location}, or set athena.output_location")).await;
        }
    }
}

async fn iot_rule_role(
    report: &mut Report,
    config: &Config,
    sdk: &aws_config::SdkConfig,
    caller: &str,
) {
    let Some(role) = &config.aws.iot_rule_role else {
        report.skip("aws", "IoT rule role", "aws.iot_rule_role is not set");
        report.skip(
            "aws",
            "iam:PassRole on the role",
            "aws.iot_rule_role is not set",
        );
        return;
    };
    let name = role.rsplit('/').next().unwrap_or(role);
    let iam = crate::aws::iam(sdk);
    let found = match iam.get_role().role_name(name).send().await {
        Ok(output) => output.role().cloned(),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_no_such_entity_exception()) =>
        {
            report.fail("aws", format!("IoT rule role {name}"), "does not exist", "deploy examples/aws/iotpipe.yaml (IotRuleRole), or set aws.iot_rule_role to the role the rule uses");
            report.skip("aws", "iam:PassRole on the role", "no role");
            return;
        }
        Err(error) => {
            report.fail(
                "aws",
                format!("IoT rule role {name}"),
                crate::aws::describe(&error),
                "grant iam:GetRole on it to this identity",
            );
            report.skip("aws", "iam:PassRole on the role", "role unreadable");
            return;
        }
    };
    let Some(found) = found else {
        report.fail(
            "aws",
            format!("IoT rule role {name}"),
            "IAM returned no role",
            "check aws.iot_rule_role",
        );
        return;
    };
    // IAM returns the trust policy URL-encoded.
    let document = found
        .assume_role_policy_document()
        .map(|d| {
            percent_encoding::percent_decode_str(d)
                .decode_utf8_lossy()
                .into_owned()
        })
        .and_then(|d| serde_json::from_str::<serde_json::Value>(&d).ok())
        .unwrap_or(serde_json::Value::Null);
    if trusts(&document, "iot.amazonaws.com") {
        report.ok(
            "aws",
            format!("IoT rule role {name}"),
            "iot.amazonaws.com may assume it",
        );
    } else {
        let policy = serde_json::to_string_pretty(&iot_trust_policy()).unwrap_or_default();
        report.fail(
            "aws",
            format!("IoT rule role {name}"),
            "its trust policy does not let iot.amazonaws.com assume it: the rule fails with \
             \"unable to assume role (sts:AssumeRole)\"",
            format!(
                "save this trust policy as trust.json:\n{policy}\nthen: aws iam update-assume-role-policy --role-name {name} --policy-document file://trust.json"
            ),
        );
    }
    // A diagnostic: one retry at most, so that an IAM that cannot simulate
    // (most emulators) does not hold the report up.
    let quick = aws_sdk_iam::config::Builder::default()
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(2));
    let simulated = iam
        .simulate_principal_policy()
        .policy_source_arn(principal_arn(caller))
        .action_names("iam:PassRole")
        .resource_arns(found.arn())
        .customize()
        .config_override(quick)
        .send()
        .await;
    match simulated {
        Ok(output) => {
            let allowed = output
                .evaluation_results()
                .iter()
                .all(|r| r.eval_decision().as_str() == "allowed")
                && !output.evaluation_results().is_empty();
            if allowed {
                report.ok(
                    "aws",
                    "iam:PassRole on the role",
                    format!("{caller} may pass it to IoT"),
                );
            } else {
                let statement = serde_json::json!({
                    "Effect": "Allow",
                    "Action": "iam:PassRole",
                    "Resource": found.arn(),
                    "Condition": {"StringEquals": {"iam:PassedToService": "iot.amazonaws.com"}}
                });
                report.fail(
                    "aws",
                    "iam:PassRole on the role",
                    format!("{caller} may not pass it: creating or updating the IoT rule fails"),
                    format!(
                        "add this statement to the identity's policy:\n{}",
                        serde_json::to_string_pretty(&statement).unwrap_or_default()
                    ),
                );
            }
        }
        Err(error) => report.skip(
            "aws",
            "iam:PassRole on the role",
            format!(
                "cannot simulate (needs iam:SimulatePrincipalPolicy): {}",
                crate::aws::describe(&error)
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_policies_are_read_in_all_their_shapes() {
        assert!(trusts(&iot_trust_policy(), "iot.amazonaws.com"));
        let lambda = serde_json::json!({"Statement": {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}});
        assert!(!trusts(&lambda, "iot.amazonaws.com"));
        let both = serde_json::json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": ["lambda.amazonaws.com", "iot.amazonaws.com"]}, "Action": ["sts:AssumeRole", "sts:TagSession"]}]});
        assert!(trusts(&both, "iot.amazonaws.com"));
        let denied = serde_json::json!({"Statement": [{"Effect": "Deny", "Principal": {"Service": "iot.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
        assert!(!trusts(&denied, "iot.amazonaws.com"));
    }

    #[test]
    fn assumed_role_sessions_are_simulated_as_their_role() {
        assert_eq!(
            principal_arn("arn:aws:sts::123456789012:assumed-role/admin/alice"),
            "arn:aws:iam::123456789012:role/admin"
        );
        assert_eq!(
            principal_arn("arn:aws:iam::123456789012:user/bob"),
            "arn:aws:iam::123456789012:user/bob"
        );
        assert_eq!(mask("AKIAIOSFODNN7EXAMPLE"), "AKIA…MPLE");
    }
}
