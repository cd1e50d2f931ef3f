//! The AWS side: credentials and region, the bucket, the counter table, the
//! Athena workgroup and its output location, the IoT rule's role.

use super::Report;
use crate::aws::iam::{PassRole, RoleLookup};
use crate::aws::{BucketState, NoIdentity};
use crate::config::Config;
use crate::counter::Readiness;

pub(super) async fn check(report: &mut Report, config: &Config) {
    let sdk = crate::aws::sdk_config(&config.aws).await;
    let caller = match crate::aws::identity(&sdk).await {
        Ok(identity) => {
            report.ok(
                "aws",
                "credentials and region",
                format!(
                    "region {}; key {}; {}",
                    identity.region, identity.key, identity.arn
                ),
            );
            identity.arn
        }
        Err(problem) => {
            let (detail, fix, why) = match problem {
                NoIdentity::Region => (
                    "no region".to_string(),
                    "set aws.region (or --region, AWS_REGION, or region in ~/.aws/config)",
                    "no region",
                ),
                NoIdentity::Credentials { region, error } => (
                    format!("region {region}; no credentials: {error}"),
                    "run `aws configure` (or `aws sso login`), pick a profile with --profile / \
                     aws.profile / AWS_PROFILE, or run where an instance role is attached",
                    "no credentials",
                ),
                NoIdentity::Refused { key, error } => (
                    format!("STS refused key {key}: {error}"),
                    "the credentials are wrong or expired: `aws configure` / `aws sso login`, or \
                     another --profile",
                    "credentials refused",
                ),
            };
            report.fail("aws", "credentials and region", detail, fix);
            return skip_all(report, why);
        }
    };

    match &config.aws.bucket {
        None => report.skip(
            "aws",
            "S3 bucket",
            "aws.bucket is not set (backend = \"local\" needs none)",
        ),
        Some(bucket) => {
            let missing = "set aws.bucket to your bucket, or create it (examples/aws/iotpipe.yaml)";
            bucket_check(report, &sdk, "S3 bucket", bucket, missing).await;
        }
    }
    counter_table(report, config, &sdk).await;
    athena(report, config, &sdk).await;
    iot_rule(report, config, &sdk).await;
    iot_rule_role(report, config, &sdk, &caller).await;
}

fn skip_all(report: &mut Report, why: &str) {
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

async fn bucket_check(
    report: &mut Report,
    sdk: &crate::aws::Sdk,
    check: &str,
    bucket: &str,
    missing_fix: &str,
) {
    let check = format!("{check} {bucket}");
    match crate::aws::bucket_state(sdk, bucket).await {
        BucketState::Reachable => report.ok("aws", check, "reachable"),
        BucketState::Missing => report.fail("aws", check, "does not exist", missing_fix),
        BucketState::Denied => report.fail(
            "aws",
            check,
            "access denied",
            format!(
                "grant s3:ListBucket on arn:aws:s3:::{bucket} to this identity (and check the \
                 bucket policy)"
            ),
        ),
        BucketState::Unreachable(error) => report.fail(
            "aws",
            check,
            error,
            "check the region (--region) and the network",
        ),
    }
}

async fn counter_table(report: &mut Report, config: &Config, sdk: &crate::aws::Sdk) {
    let check = format!("DynamoDB table {}", config.counter.table);
    let counter = crate::backends::dynamodb_counter(sdk, config);
    match counter.check().await {
        Ok(Readiness::Ready) => report.ok("aws", check, "exists, key pk, pending index, TTL"),
        Ok(Readiness::Outdated(missing)) => report.fail(
            "aws",
            check,
            format!("exists, but lacks {missing}"),
            "run `iotpipe counters --init`: it adds them and indexes the objects already waiting",
        ),
        Ok(Readiness::Foreign) => report.fail(
            "aws",
            check,
            "exists, but its key is not `pk`: not an iotpipe counter table",
            "set counter.table to another name and run `iotpipe counters --init`",
        ),
        Ok(Readiness::Missing) => report.fail(
            "aws",
            check,
            "does not exist",
            "run `iotpipe counters --init` (or deploy examples/aws/iotpipe.yaml)",
        ),
        Err(error) => report.fail(
            "aws",
            check,
            error.to_string(),
            "grant dynamodb:DescribeTable and dynamodb:DescribeTimeToLive on it, or check \
             counter.table and the region",
        ),
    }
}

async fn athena(report: &mut Report, config: &Config, sdk: &crate::aws::Sdk) {
    let name = &config.athena.workgroup;
    let check = format!("Athena workgroup {name}");
    let configured = config.athena.output_location.as_deref();
    let workgroup = match crate::compact::athena::workgroup(sdk, name, configured).await {
        Ok(Some(workgroup)) => workgroup,
        Ok(None) => {
            report.fail("aws", check, "not found", "set athena.workgroup");
            return;
        }
        Err(error) => {
            report.fail(
                "aws",
                check,
                error,
                "create the workgroup (examples/aws/iotpipe.yaml has one with a bytes-scanned \
                 limit) or set athena.workgroup",
            );
            report.skip("aws", "Athena output location", "no workgroup");
            return;
        }
    };
    if workgroup.enabled {
        let limit = workgroup.bytes_limit.map_or_else(
            || "no bytes-scanned limit".to_string(),
            |b| format!("limit {} per query", indicatif::HumanBytes(b)),
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
    match workgroup.output_location {
        None => report.fail(
            "aws",
            "Athena output location",
            "none: Athena has nowhere to write results",
            "set athena.output_location (e.g. s3://<bucket>/athena-results/) or the workgroup's \
             result location",
        ),
        Some(location) => {
            let bucket = location
                .trim_start_matches("s3://")
                .split('/')
                .next()
                .unwrap_or_default()
                .to_string();
            let missing = format!("create the bucket of {location}, or set athena.output_location");
            bucket_check(report, sdk, "Athena output location", &bucket, &missing).await;
        }
    }
}

async fn iot_rule(report: &mut Report, config: &Config, sdk: &crate::aws::Sdk) {
    let Some(name) = &config.aws.iot_rule else {
        report.skip("aws", "IoT rule", "aws.iot_rule is not set");
        return;
    };
    let check = format!("IoT rule {name}");
    match crate::aws::iot::rule(sdk, name).await {
        Err(error) => report.fail(
            "aws",
            check,
            error,
            "grant iot:GetTopicRule on it to this identity, or check aws.iot_rule and the region",
        ),
        Ok(None) => report.fail(
            "aws",
            check,
            "does not exist",
            "deploy examples/aws/iotpipe.yaml (SensorRule), or set aws.iot_rule to the rule that \
             routes the topic to Kinesis (aws iot list-topic-rules)",
        ),
        Ok(Some(rule)) if rule.disabled => report.fail(
            "aws",
            check,
            "is disabled: readings published to the topic go nowhere",
            format!("aws iot enable-topic-rule --rule-name {name}"),
        ),
        Ok(Some(rule)) => match rule.error_action {
            None => report.fail(
                "aws",
                check,
                "has no error action: a put it cannot make (a role it cannot assume, a \
                 throttled stream) is dropped without a trace",
                "give it an errorAction, e.g. CloudWatch Logs as examples/aws/iotpipe.yaml does \
                 (aws iot replace-topic-rule), and watch that log group",
            ),
            Some(errors) => {
                report.ok(
                    "aws",
                    check,
                    format!("enabled, {} action(s), failures to {errors}", rule.actions),
                );
                if let Some(group) = &rule.error_log_group {
                    rule_errors(report, sdk, group).await;
                }
            }
        },
    }
}

/// What the rule failed to do lately, from its error log, if readable.
async fn rule_errors(report: &mut Report, sdk: &crate::aws::Sdk, group: &str) {
    const CHECK: &str = "IoT rule errors, last 24 h";
    match crate::aws::iot::recent_errors(sdk, group, 24).await {
        Err(error) => report.skip("aws", CHECK, format!("cannot read {group}: {error}")),
        Ok(errors) if errors.is_empty() => {
            report.ok("aws", CHECK, format!("none in {group}"));
        }
        Ok(errors) => {
            let latest = errors.last().map(String::as_str).unwrap_or_default();
            let shown: String = crate::terminal::escape(latest).chars().take(400).collect();
            report.fail(
                "aws",
                CHECK,
                format!("{} or more in {group}; the latest: {shown}", errors.len()),
                format!(
                    "each is a reading the rule could not put to Kinesis: `aws logs tail {group}` \
                     shows them all; a role it cannot assume is fixed as the IoT rule role check \
                     says, a throttled stream needs more shards"
                ),
            );
        }
    }
}

async fn iot_rule_role(report: &mut Report, config: &Config, sdk: &crate::aws::Sdk, caller: &str) {
    const PASS: &str = "iam:PassRole on the role";
    let Some(role) = &config.aws.iot_rule_role else {
        report.skip("aws", "IoT rule role", "aws.iot_rule_role is not set");
        report.skip("aws", PASS, "aws.iot_rule_role is not set");
        return;
    };
    let name = role.rsplit('/').next().unwrap_or(role);
    let check = format!("IoT rule role {name}");
    let (arn, trust) = match crate::aws::iam::role(sdk, name).await {
        RoleLookup::Found { arn, trust } => (arn, trust),
        RoleLookup::Missing => {
            report.fail(
                "aws",
                check,
                "does not exist",
                "deploy examples/aws/iotpipe.yaml (IotRuleRole), or set aws.iot_rule_role to the \
                 role the rule uses",
            );
            report.skip("aws", PASS, "no role");
            return;
        }
        RoleLookup::Unreadable(error) => {
            report.fail(
                "aws",
                check,
                error,
                "grant iam:GetRole on it to this identity",
            );
            report.skip("aws", PASS, "role unreadable");
            return;
        }
    };
    // arn:<partition>:iam::<account>:role/<name>
    let mut parts = arn.split(':');
    let partition = parts.nth(1).unwrap_or("aws").to_string();
    let account = parts.nth(2).unwrap_or_default().to_string();
    let region = sdk
        .region()
        .map(|r| r.to_string())
        .unwrap_or_else(|| "*".into());
    let policy = serde_json::to_string_pretty(&crate::aws::iam::iot_trust_policy(
        &partition, &region, &account,
    ))
    .unwrap_or_default();
    if crate::aws::iam::trusts(&trust, "iot.amazonaws.com")
        && crate::aws::iam::guarded(&trust, "iot.amazonaws.com")
    {
        report.ok(
            "aws",
            check,
            "iot.amazonaws.com may assume it, for this account's rules only",
        );
    } else if crate::aws::iam::trusts(&trust, "iot.amazonaws.com") {
        report.fail(
            "aws",
            check,
            "iot.amazonaws.com may assume it for any account's rule: the trust policy lacks \
             aws:SourceAccount and aws:SourceArn conditions (the confused deputy)",
            format!(
                "save this trust policy as trust.json:\n{policy}\nthen: aws iam \
                 update-assume-role-policy --role-name {name} --policy-document file://trust.json"
            ),
        );
    } else {
        report.fail(
            "aws",
            check,
            "its trust policy does not let iot.amazonaws.com assume it: the rule fails with \
             \"unable to assume role (sts:AssumeRole)\"",
            format!(
                "save this trust policy as trust.json:\n{policy}\nthen: aws iam \
                 update-assume-role-policy --role-name {name} --policy-document file://trust.json"
            ),
        );
    }
    match crate::aws::iam::pass_role(sdk, caller, &arn).await {
        PassRole::Allowed => report.ok("aws", PASS, format!("{caller} may pass it to IoT")),
        PassRole::Denied(statement) => report.fail(
            "aws",
            PASS,
            format!("{caller} may not pass it: creating or updating the IoT rule fails"),
            format!(
                "add this statement to the identity's policy:\n{}",
                serde_json::to_string_pretty(&statement).unwrap_or_default()
            ),
        ),
        PassRole::Unknown(error) => report.skip(
            "aws",
            PASS,
            format!("cannot simulate (needs iam:SimulatePrincipalPolicy): {error}"),
        ),
    }
}
