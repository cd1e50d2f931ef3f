//! The IoT rule that routes readings to Kinesis, as `doctor` checks it: there,
//! enabled, and with an error action, so that a put it cannot make (the
//! original system's "unable to assume role") leaves a trace.

use aws_config::SdkConfig;

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
    let client = aws_sdk_cloudwatchlogs::Client::new(sdk);
    let output = client
        .filter_log_events()
        .log_group_name(group)
        .start_time((since.unix_timestamp_nanos() / 1_000_000) as i64)
        .send()
        .await
        .map_err(|e| super::describe(&e))?;
    let mut messages: Vec<String> = output
        .events()
        .iter()
        .filter_map(|e| e.message().map(str::to_string))
        .collect();
    let keep = messages.len().saturating_sub(5);
    Ok(messages.split_off(keep))
}

/// The rule `name`; None when IoT has no such rule.
pub async fn rule(sdk: &SdkConfig, name: &str) -> Result<Option<Rule>, String> {
    let client = aws_sdk_iot::Client::new(sdk);
    let output = match client.get_topic_rule().rule_name(name).send().await {
        Ok(output) => output,
        Err(e) => {
            use aws_sdk_iot::error::ProvideErrorMetadata;
            let code = e.as_service_error().and_then(|s| s.code());
            return match code {
                Some("ResourceNotFoundException") => Ok(None),
                // IoT answers so for a rule that does not exist, too.
                Some("UnauthorizedException") => Err(format!(
                    "IoT refused: the rule does not exist, or this identity may not \
                     iot:GetTopicRule it ({})",
                    super::describe(&e)
                )),
                _ => Err(super::describe(&e)),
            };
        }
    };
    let Some(rule) = output.rule() else {
        return Ok(None);
    };
    let error_action = rule.error_action().and_then(|action| {
        if let Some(logs) = action.cloudwatch_logs() {
            Some(format!("CloudWatch Logs {}", logs.log_group_name()))
        } else if let Some(s3) = action.s3() {
            Some(format!("S3 s3://{}/{}", s3.bucket_name(), s3.key()))
        } else if let Some(sqs) = action.sqs() {
            Some(format!("SQS {}", sqs.queue_url()))
        } else {
            // One of the two dozen other kinds, or an empty action (which
            // some implementations return for "none").
            format!("{action:?}")
                .contains("Some(")
                .then(|| "an error action".to_string())
        }
    });
    Ok(Some(Rule {
        disabled: rule.rule_disabled().unwrap_or(false),
        actions: rule.actions().len(),
        error_action,
        error_log_group: rule
            .error_action()
            .and_then(|a| a.cloudwatch_logs())
            .map(|l| l.log_group_name().to_string()),
    }))
}
