//! The IoT rule that routes readings to Kinesis, as `doctor` checks it: there,
//! enabled, and with an error action, so that a put it cannot make (the
//! original system's "unable to assume role") leaves a trace.

use aws_config::SdkConfig;
use hyper::Method;

use super::rest::{self, Client};

/// A topic rule as IoT has it.
pub struct Rule {
    pub disabled: bool,
    pub actions: usize,
    /// Where failed actions go, in a few words; None: nowhere.
    pub error_action: Option<String>,
    /// The CloudWatch Logs group of the error action, when it is one.
    pub error_log_group: Option<String>,
}

/// The newest messages in a log group since `hours` ago, oldest first (at most 5).
pub async fn recent_errors(
    sdk: &SdkConfig,
    group: &str,
    hours: u64,
) -> Result<Vec<String>, String> {
    let since = time::OffsetDateTime::now_utc() - time::Duration::hours(hours as i64);
    // CloudWatch Logs API reference, FilterLogEvents (AWS JSON 1.1).
    let output = Client::new(sdk, &rest::LOGS)
        .call(Method::POST, "/")
        .target(
            "Logs_20140328.FilterLogEvents",
            &serde_json::json!({
                "logGroupName": group,
                "startTime": (since.unix_timestamp_nanos() / 1_000_000) as i64,
            }),
        )
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let mut messages: Vec<String> = output["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["message"].as_str().map(str::to_string))
        .collect();
    let keep = messages.len().saturating_sub(5);
    Ok(messages.split_off(keep))
}

/// The rule `name`; None when IoT has no such rule.
pub async fn rule(sdk: &SdkConfig, name: &str) -> Result<Option<Rule>, String> {
    // IoT API reference, GetTopicRule: GET /rules/{ruleName}.
    let path = format!("/rules/{}", rest::label(name));
    let output = match Client::new(sdk, &rest::IOT)
        .call(Method::GET, path)
        .send()
        .await
    {
        Ok(output) => output,
        Err(e) => {
            return match e.code() {
                Some("ResourceNotFoundException") => Ok(None),
                // IoT answers so for a rule that does not exist, too.
                Some("UnauthorizedException") => Err(format!(
                    "IoT refused: the rule does not exist, or this identity may not \
                     iot:GetTopicRule it ({e})"
                )),
                _ => Err(e.to_string()),
            };
        }
    };
    let rule = &output["rule"];
    if !rule.is_object() {
        return Ok(None);
    }
    let error_action = rule["errorAction"].as_object().and_then(|action| {
        let field =
            |kind: &str, key: &str| action.get(kind)?.get(key)?.as_str().map(str::to_string);
        if let Some(group) = field("cloudwatchLogs", "logGroupName") {
            Some(format!("CloudWatch Logs {group}"))
        } else if let Some(bucket) = field("s3", "bucketName") {
            let key = field("s3", "key").unwrap_or_default();
            Some(format!("S3 s3://{bucket}/{key}"))
        } else if let Some(queue) = field("sqs", "queueUrl") {
            Some(format!("SQS {queue}"))
        } else {
            // One of the two dozen other kinds, or an empty action (which
            // some implementations return for "none").
            action
                .values()
                .any(|kind| kind.as_object().is_some_and(|k| !k.is_empty()))
                .then(|| "an error action".to_string())
        }
    });
    Ok(Some(Rule {
        disabled: rule["ruleDisabled"].as_bool().unwrap_or(false),
        actions: rule["actions"].as_array().map_or(0, Vec::len),
        error_action,
        error_log_group: rule["errorAction"]["cloudwatchLogs"]["logGroupName"]
            .as_str()
            .map(str::to_string),
    }))
}
