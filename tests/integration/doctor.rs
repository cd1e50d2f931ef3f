//! `iotpipe doctor` against real services: moto and the Athena stand-in for the
//! AWS side (a role whose trust policy is wrong is reported with the policy to
//! apply, and passes once it is applied), mosquitto for the broker, and this
//! machine's missing I2C bus.

use serde_json::Value;

use crate::common::{Cloud, iotpipe, mosquitto, temp_dir};

fn checks(stdout: &str) -> Vec<Value> {
    serde_json::from_str(stdout).unwrap()
}

fn find<'a>(checks: &'a [Value], name: &str) -> &'a Value {
    checks
        .iter()
        .find(|c| c["check"].as_str().is_some_and(|n| n.starts_with(name)))
        .unwrap_or_else(|| panic!("no check {name}: {checks:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_trust_policy_is_reported_with_the_fix_and_passes_once_applied() {
    let cloud = Cloud::start();
    let sdk = cloud.sdk().await;
    iotpipe::aws::s3(&sdk)
        .create_bucket()
        .bucket("pipe")
        .send()
        .await
        .unwrap();
    let iam = iotpipe::aws::iam(&sdk);
    let lambda_trust = serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    iam.create_role()
        .role_name("iotpipe-iot-rule")
        .assume_role_policy_document(lambda_trust.to_string())
        .send()
        .await
        .unwrap();
    let dir = temp_dir();
    let doctor = || {
        cloud
            .cli(dir.path())
            .env("IOTPIPE_AWS_IOT_RULE_ROLE", "iotpipe-iot-rule")
    };
    doctor().args(["counters", "--init"]).run().success();

    let run = doctor()
        .args(["doctor", "--only", "aws", "-o", "json"])
        .run()
        .expect_code(1);
    let found = checks(&run.stdout());
    for ok in [
        "credentials and region",
        "S3 bucket pipe",
        "DynamoDB table pipe-counter",
        "Athena workgroup primary",
        "Athena output location",
    ] {
        assert_eq!(find(&found, ok)["status"], "ok", "{ok}: {found:?}");
    }
    let role = find(&found, "IoT rule role");
    assert_eq!(role["status"], "fail");
    assert!(
        role["detail"]
            .as_str()
            .unwrap()
            .contains("unable to assume role"),
        "{role}"
    );
    assert_eq!(
        find(&found, "iam:PassRole")["status"],
        "skip",
        "moto cannot simulate policies"
    );
    assert!(!run.stdout().contains("testing"), "no secret printed");

    // Trusting IoT without the confused-deputy conditions is not enough.
    let open_trust = serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "iot.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    iam.update_assume_role_policy()
        .role_name("iotpipe-iot-rule")
        .policy_document(open_trust.to_string())
        .send()
        .await
        .unwrap();
    let run = doctor()
        .args(["doctor", "--only", "aws", "-o", "json"])
        .run()
        .expect_code(1);
    let found = checks(&run.stdout());
    let role = find(&found, "IoT rule role");
    assert_eq!(role["status"], "fail");
    assert!(
        role["detail"].as_str().unwrap().contains("aws:SourceArn"),
        "{role}"
    );

    // Apply the policy exactly as printed.
    let fix = role["fix"].as_str().unwrap();
    assert!(
        fix.contains("\"aws:SourceAccount\": \"123456789012\"") && fix.contains(":rule/*"),
        "{fix}"
    );
    let policy = &fix[fix.find('{').unwrap()..=fix.rfind('}').unwrap()];
    assert!(
        fix.contains("aws iam update-assume-role-policy --role-name iotpipe-iot-rule"),
        "{fix}"
    );
    iam.update_assume_role_policy()
        .role_name("iotpipe-iot-rule")
        .policy_document(policy)
        .send()
        .await
        .unwrap();
    let run = doctor()
        .args(["doctor", "--only", "aws", "-o", "json"])
        .run()
        .success();
    assert_eq!(
        find(&checks(&run.stdout()), "IoT rule role")["status"],
        "ok"
    );

    // The rule: checked for an error action, then passing once it has one.
    let iot = aws_sdk_iot::Client::new(&sdk);
    let rule = |error_action: bool| {
        let kinesis = aws_sdk_iot::types::Action::builder()
            .kinesis(
                aws_sdk_iot::types::KinesisAction::builder()
                    .role_arn("arn:aws:iam::123456789012:role/iotpipe-iot-rule")
                    .stream_name("iotpipe-sensor")
                    .build()
                    .unwrap(),
            )
            .build();
        let mut payload = aws_sdk_iot::types::TopicRulePayload::builder()
            .sql("SELECT * FROM 'sensor/data'")
            .actions(kinesis)
            .rule_disabled(false);
        if error_action {
            payload = payload.error_action(
                aws_sdk_iot::types::Action::builder()
                    .cloudwatch_logs(
                        aws_sdk_iot::types::CloudwatchLogsAction::builder()
                            .role_arn("arn:aws:iam::123456789012:role/iotpipe-iot-rule")
                            .log_group_name("/iotpipe/rule-errors")
                            .build()
                            .unwrap(),
                    )
                    .build(),
            );
        }
        payload.build().unwrap()
    };
    iot.create_topic_rule()
        .rule_name("sensor_to_kinesis")
        .topic_rule_payload(rule(false))
        .send()
        .await
        .unwrap();
    // One check of `doctor --only aws` with the rule configured.
    let rule_doctor = |check: &str| {
        let run = doctor()
            .env("IOTPIPE_AWS_IOT_RULE", "sensor_to_kinesis")
            .args(["doctor", "--only", "aws", "-o", "json"])
            .run();
        find(&checks(&run.stdout()), check).clone()
    };
    let rule_check = || rule_doctor("IoT rule sensor_to_kinesis");
    let silent = rule_check();
    assert_eq!(silent["status"], "fail", "{silent}");
    assert!(
        silent["detail"]
            .as_str()
            .unwrap()
            .contains("no error action"),
        "{silent}"
    );
    iot.replace_topic_rule()
        .rule_name("sensor_to_kinesis")
        .topic_rule_payload(rule(true))
        .send()
        .await
        .unwrap();
    let logged = rule_check();
    assert_eq!(logged["status"], "ok", "{logged}");
    assert!(
        logged["detail"]
            .as_str()
            .unwrap()
            .contains("CloudWatch Logs /iotpipe/rule-errors"),
        "{logged}"
    );

    // Its error log, read back: what the rule could not deliver lately.
    let errors_check = || rule_doctor("IoT rule errors");
    assert_eq!(errors_check()["status"], "skip", "no log group yet");
    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk);
    logs.create_log_group()
        .log_group_name("/iotpipe/rule-errors")
        .send()
        .await
        .unwrap();
    logs.create_log_stream()
        .log_group_name("/iotpipe/rule-errors")
        .log_stream_name("errors")
        .send()
        .await
        .unwrap();
    assert_eq!(errors_check()["status"], "ok");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    logs.put_log_events()
        .log_group_name("/iotpipe/rule-errors")
        .log_stream_name("errors")
        .log_events(
            aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                .timestamp(now)
                .message("Failed to put record: unable to assume role (sts:AssumeRole)")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let failing = errors_check();
    assert_eq!(failing["status"], "fail", "{failing}");
    assert!(
        failing["detail"]
            .as_str()
            .unwrap()
            .contains("unable to assume role"),
        "{failing}"
    );

    // A missing table and bucket are named with their fix.
    let run = doctor()
        .env("IOTPIPE_AWS_BUCKET", "nope")
        .env("IOTPIPE_COUNTER_TABLE", "nope")
        .args(["doctor", "--only", "aws", "-o", "json"])
        .run()
        .expect_code(1);
    let found = checks(&run.stdout());
    assert!(
        find(&found, "DynamoDB table nope")["fix"]
            .as_str()
            .unwrap()
            .contains("iotpipe counters --init")
    );
    assert_eq!(find(&found, "S3 bucket nope")["detail"], "does not exist");
}

#[test]
fn the_device_and_the_broker_are_checked_for_real() {
    let broker = mosquitto();
    let dir = temp_dir();
    let run = iotpipe(dir.path())
        .env("IOTPIPE_MQTT_PORT", broker.port.to_string())
        .args(["doctor", "--only", "device", "--only", "mqtt", "-o", "json"])
        .run()
        .expect_code(1);
    let found = checks(&run.stdout());
    let bus = find(&found, "I2C bus /dev/i2c-1");
    assert_eq!(bus["status"], "fail", "this machine has no I2C bus");
    assert!(
        bus["fix"].as_str().unwrap().contains("raspi-config"),
        "{bus}"
    );
    assert_eq!(find(&found, "Sense HAT chips")["status"], "skip");
    let reachable = find(&found, "broker reachable");
    assert_eq!(reachable["status"], "ok", "{reachable}");
    assert!(found.iter().all(|c| c["area"] != "aws"), "--only");

    drop(broker);
    let run = iotpipe(dir.path())
        .env("IOTPIPE_MQTT_PORT", "1")
        .args(["doctor", "--only", "mqtt", "--timeout", "2s", "-o", "table"])
        .run()
        .expect_code(1);
    assert!(
        run.stdout().contains("Connection refused"),
        "{}",
        run.stdout()
    );
    assert!(
        run.stdout().contains("fix mqtt / broker reachable:"),
        "the fix follows the table: {}",
        run.stdout()
    );
}

/// A mosquitto that keeps only 10 messages for a subscriber that is away (and
/// nothing across a restart): doctor reads its configuration and prints the
/// lines to set; with them, the check passes.
#[test]
fn doctor_names_the_mosquitto_settings_that_drop_a_sinks_readings() {
    let broker = crate::common::mosquitto_with("max_queued_messages 10\n");
    let conf = broker.dir.path().join("mosquitto.conf");
    let dir = temp_dir();
    let doctor = |conf: &std::path::Path| {
        iotpipe(dir.path())
            .env("IOTPIPE_MQTT_PORT", broker.port.to_string())
            .args(["doctor", "--only", "mqtt", "-o", "json"])
            .args([std::ffi::OsStr::new("--mosquitto-conf"), conf.as_os_str()])
            .run()
    };
    let run = doctor(&conf).expect_code(1);
    let found = checks(&run.stdout());
    let queues = find(&found, "mosquitto queues for the sink");
    assert_eq!(queues["status"], "fail", "{queues}");
    let detail = queues["detail"].as_str().unwrap();
    assert!(
        detail.contains("max_queued_messages 10") && detail.contains("persistence off"),
        "{detail}"
    );
    let fix = queues["fix"].as_str().unwrap();
    assert!(
        fix.contains("`max_queued_messages 0`") && fix.contains("`persistence true`"),
        "{fix}"
    );
    // The fixed configuration, a later line winning as in mosquitto.
    let fixed = dir.path().join("fixed.conf");
    let mut text = std::fs::read_to_string(&conf).unwrap();
    text.push_str("max_queued_messages 0\npersistence true\n");
    std::fs::write(&fixed, text).unwrap();
    let run = doctor(&fixed).success();
    let found = checks(&run.stdout());
    assert_eq!(
        find(&found, "mosquitto queues for the sink")["status"],
        "ok"
    );
}
