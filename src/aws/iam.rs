//! The IoT rule's role: the trust policy it needs (`iot.amazonaws.com` may
//! `sts:AssumeRole`) and whether the caller may pass it to IoT (`iam:PassRole`).
//! The original system's one recorded failure was this role: "unable to
//! assume role".

use aws_config::SdkConfig;

/// The trust policy the IoT rule's role needs: IoT may assume it, for the
/// rules of `account` in `region` only (AWS's guard against the confused
/// deputy: `aws:SourceAccount` and `aws:SourceArn`).
pub fn iot_trust_policy(partition: &str, region: &str, account: &str) -> serde_json::Value {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "iot.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": account},
                "ArnLike": {"aws:SourceArn": format!("arn:{partition}:iot:{region}:{account}:rule/*")}
            }
        }]
    })
}

/// Whether a statement allows something to the service principal `service`.
fn allows(statement: &serde_json::Value, service: &str) -> bool {
    statement["Effect"] == "Allow"
        && one_or_many(&statement["Principal"]["Service"])
            .iter()
            .any(|s| s.as_str() == Some(service))
}

/// Whether every statement letting `service` assume the role is limited by
/// both `aws:SourceAccount` and `aws:SourceArn`.
pub fn guarded(document: &serde_json::Value, service: &str) -> bool {
    let allowing: Vec<&serde_json::Value> = one_or_many(&document["Statement"])
        .into_iter()
        .filter(|statement| allows(statement, service))
        .collect();
    !allowing.is_empty()
        && allowing.iter().all(|statement| {
            let has = |key: &str| {
                statement["Condition"]
                    .as_object()
                    .is_some_and(|ops| ops.values().any(|op| op.get(key).is_some()))
            };
            has("aws:SourceAccount") && has("aws:SourceArn")
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
            allows(statement, service)
                && one_or_many(&statement["Action"])
                    .iter()
                    .any(|a| matches!(a.as_str(), Some("sts:AssumeRole" | "sts:*" | "*")))
        })
}

/// An assumed-role session ARN as the role ARN IAM simulates.
pub fn principal_arn(caller: &str) -> String {
    // arn:aws:sts::123:assumed-role/Name/session -> arn:aws:iam::123:role/Name
    if let Some((prefix, rest)) = caller.split_once(":sts::")
        && let Some((account, path)) = rest.split_once(":assumed-role/")
    {
        let role = path.split('/').next().unwrap_or_default();
        let partition = prefix.trim_start_matches("arn:");
        return format!("arn:{partition}:iam::{account}:role/{role}");
    }
    caller.to_string()
}

/// The role as IAM has it.
pub enum RoleLookup {
    Missing,
    Unreadable(String),
    Found {
        arn: String,
        /// The decoded trust policy (IAM returns it URL-encoded).
        trust: serde_json::Value,
    },
}

pub async fn role(sdk: &SdkConfig, name: &str) -> RoleLookup {
    match super::iam(sdk).get_role().role_name(name).send().await {
        Ok(output) => match output.role() {
            Some(role) => RoleLookup::Found {
                arn: role.arn().to_string(),
                trust: role
                    .assume_role_policy_document()
                    .map(|d| {
                        percent_encoding::percent_decode_str(d)
                            .decode_utf8_lossy()
                            .into_owned()
                    })
                    .and_then(|d| serde_json::from_str(&d).ok())
                    .unwrap_or(serde_json::Value::Null),
            },
            None => RoleLookup::Unreadable("IAM returned no role".into()),
        },
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_no_such_entity_exception()) =>
        {
            RoleLookup::Missing
        }
        Err(error) => RoleLookup::Unreadable(super::describe(&error)),
    }
}

/// Whether `caller` may pass the role `role_arn` (IAM's policy simulator).
pub enum PassRole {
    Allowed,
    /// Denied; the statement that would allow it.
    Denied(serde_json::Value),
    /// The simulator could not be asked (most emulators; a missing permission).
    Unknown(String),
}

pub async fn pass_role(sdk: &SdkConfig, caller: &str, role_arn: &str) -> PassRole {
    // A diagnostic: one retry at most, so that an IAM that cannot simulate
    // does not hold the report up.
    let quick = aws_sdk_iam::config::Builder::default()
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(2));
    let simulated = super::iam(sdk)
        .simulate_principal_policy()
        .policy_source_arn(principal_arn(caller))
        .action_names("iam:PassRole")
        .resource_arns(role_arn)
        .customize()
        .config_override(quick)
        .send()
        .await;
    match simulated {
        Ok(output) => {
            let results = output.evaluation_results();
            if !results.is_empty()
                && results
                    .iter()
                    .all(|r| r.eval_decision().as_str() == "allowed")
            {
                PassRole::Allowed
            } else {
                PassRole::Denied(serde_json::json!({
                    "Effect": "Allow",
                    "Action": "iam:PassRole",
                    "Resource": role_arn,
                    "Condition": {"StringEquals": {"iam:PassedToService": "iot.amazonaws.com"}}
                }))
            }
        }
        Err(error) => PassRole::Unknown(super::describe(&error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_policies_are_read_in_all_their_shapes() {
        let recommended = iot_trust_policy("aws", "eu-west-1", "123456789012");
        assert!(trusts(&recommended, "iot.amazonaws.com"));
        assert!(guarded(&recommended, "iot.amazonaws.com"));
        let open = serde_json::json!({"Statement": {"Effect": "Allow",
            "Principal": {"Service": "iot.amazonaws.com"}, "Action": "sts:AssumeRole"}});
        assert!(trusts(&open, "iot.amazonaws.com"));
        assert!(!guarded(&open, "iot.amazonaws.com"));
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
        assert_eq!(super::super::mask("AKIAIOSFODNN7EXAMPLE"), "AKIA…MPLE");
    }
}
