//! Configuration: precedence (defaults < file < env < flags), discovery, and errors.

use std::path::Path;

use serde_json::Value;

use crate::common::{Iotpipe, iotpipe, temp_dir};

fn show(cmd: Iotpipe) -> std::collections::BTreeMap<String, (Value, String)> {
    cmd.args(["config", "show", "-o", "jsonl"])
        .run()
        .success()
        .json_lines()
        .into_iter()
        .map(|row| {
            let key = row["key"].as_str().unwrap().to_string();
            (
                key,
                (
                    row["value"].clone(),
                    row["source"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect()
}

fn device_id_of(cmd: Iotpipe, flags: &[&str]) -> String {
    let readings = cmd
        .args(["sense", "--sim", "-o", "jsonl"])
        .args(flags)
        .run()
        .success()
        .json_lines();
    readings[0]["device_id"].as_str().unwrap().to_string()
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn file_then_env_then_flag() {
    let dir = temp_dir();
    write(
        dir.path(),
        "iotpipe.toml",
        "device_id = \"from-file\"\n[mqtt]\nport = 1884\nqos = 0\n",
    );

    assert_eq!(device_id_of(iotpipe(dir.path()), &[]), "from-file");
    assert_eq!(
        device_id_of(
            iotpipe(dir.path()).env("IOTPIPE_DEVICE_ID", "from-env"),
            &[]
        ),
        "from-env"
    );
    assert_eq!(
        device_id_of(
            iotpipe(dir.path()).env("IOTPIPE_DEVICE_ID", "from-env"),
            &["--device-id", "from-flag"]
        ),
        "from-flag"
    );

    let values = show(
        iotpipe(dir.path())
            .env("IOTPIPE_MQTT_QOS", "1")
            .args(["--region", "eu-north-1"]),
    );
    assert_eq!(
        values["mqtt.port"],
        (Value::from(1884), "file iotpipe.toml".to_string())
    );
    assert_eq!(
        values["mqtt.qos"],
        (Value::from(1), "env IOTPIPE_MQTT_QOS".to_string())
    );
    assert_eq!(
        values["aws.region"],
        (Value::from("eu-north-1"), "flag --region".to_string())
    );
    assert_eq!(
        values["mqtt.topic"],
        (Value::from("sensor/data"), "default".to_string())
    );
    assert_eq!(values["aws.bucket"], (Value::Null, "unset".to_string()));
}

#[test]
fn config_flag_env_and_xdg_discovery() {
    let dir = temp_dir();
    let xdg = write(
        dir.path(),
        ".config/iotpipe/iotpipe.toml",
        "device_id = \"xdg\"\n",
    );
    assert_eq!(device_id_of(iotpipe(dir.path()), &[]), "xdg");
    let local = write(dir.path(), "iotpipe.toml", "device_id = \"local\"\n");
    assert_eq!(
        device_id_of(iotpipe(dir.path()), &[]),
        "local",
        "./iotpipe.toml wins over XDG"
    );
    let other = write(
        dir.path(),
        "elsewhere/custom.toml",
        "device_id = \"custom\"\n",
    );
    assert_eq!(
        device_id_of(iotpipe(dir.path()).env("IOTPIPE_CONFIG", &other), &[]),
        "custom"
    );
    assert_eq!(
        device_id_of(
            iotpipe(dir.path()).args([std::ffi::OsStr::new("--config"), xdg.as_os_str()]),
            &[]
        ),
        "xdg"
    );
    drop(local);
}

#[track_caller]
fn config_error(dir: &Path, file: &str, must_contain: &[&str]) -> String {
    write(dir, "iotpipe.toml", file);
    let run = iotpipe(dir).args(["sense", "--sim"]).run().expect_code(2);
    let err = run.stderr();
    for needle in must_contain {
        assert!(err.contains(needle), "{needle:?} not in:\n{err}");
    }
    assert!(!err.contains("panicked"), "{err}");
    assert!(run.stdout().is_empty());
    err.to_string()
}

#[test]
fn bad_config_exits_2_naming_file_key_and_expectation() {
    let dir = temp_dir();
    let d = dir.path();
    config_error(
        d,
        "[mqtt]\nhots = \"x\"\n",
        &["unknown key `mqtt.hots`", "iotpipe.toml", "mqtt.host"],
    );
    config_error(
        d,
        "[mqtt]\nport = \"many\"\n",
        &["`mqtt.port`", "iotpipe.toml", "an integer from 1 to 65535"],
    );
    config_error(d, "[mqtt]\nqos = 2\n", &["`mqtt.qos`", "expected 0 or 1"]);
    config_error(
        d,
        "[sense]\nevery = \"often\"\n",
        &["`sense.every`", "a duration"],
    );
    config_error(
        d,
        "backend = \"gcp\"\n",
        &["`backend`", "one of local, aws"],
    );
    config_error(d, "[nope]\nx = 1\n", &["unknown key `nope`", "[mqtt]"]);
    config_error(d, "device_id = \n", &["not valid TOML", "line 1"]);
    // A syntax error on a secret's line locates it but never echoes the value.
    let out = config_error(
        d,
        "[mqtt]\nhost = \"h\"\npassword = \"hunter2\n",
        &["not valid TOML", "line 3", "password = (hidden)"],
    );
    assert!(!out.contains("hunter2"), "{out}");
    // Nor inside an inline table, where the line assigns a section first.
    let out = config_error(
        d,
        "mqtt = { password = \"S3CRET-1\", port = }\n",
        &["not valid TOML", "line 1", "password = (hidden)"],
    );
    assert!(!out.contains("S3CRET-1"), "{out}");
    let doctor = iotpipe(d).args(["doctor", "--only", "device"]).run();
    let report = format!("{}{}", doctor.stdout(), doctor.stderr());
    assert!(report.contains("password = (hidden)"), "{report}");
    assert!(
        !report.contains("hunter2"),
        "doctor echoed the password: {report}"
    );
    // The password's value is never echoed, even when it is wrong.
    config_error(
        d,
        "[mqtt]\npassword = 12345678\n",
        &["`mqtt.password`", "(hidden)"],
    );
    assert!(
        !std::fs::read_to_string(d.join("iotpipe.toml"))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn bad_environment_and_missing_file_exit_2() {
    let dir = temp_dir();
    let run = iotpipe(dir.path())
        .env("IOTPIPE_MQTT_PORT", "0")
        .args(["config", "show"])
        .run()
        .expect_code(2);
    assert!(
        run.stderr().contains("IOTPIPE_MQTT_PORT"),
        "{}",
        run.stderr()
    );
    // An unknown variable is named in a warning but does not stop the command.
    let run = iotpipe(dir.path())
        .env("IOTPIPE_MQTT_HOTS", "x")
        .args(["config", "show"])
        .run()
        .success();
    assert!(
        run.stderr().contains("ignoring IOTPIPE_MQTT_HOTS"),
        "{}",
        run.stderr()
    );
    let run = iotpipe(dir.path())
        .args(["--config", "missing.toml", "config", "show"])
        .run()
        .expect_code(2);
    assert!(run.stderr().contains("missing.toml"), "{}", run.stderr());
}

#[test]
fn secrets_are_never_printed() {
    let dir = temp_dir();
    write(
        dir.path(),
        "iotpipe.toml",
        "[mqtt]\npassword = \"hunter2-secret\"\n",
    );
    for format in ["table", "json", "jsonl"] {
        let run = iotpipe(dir.path())
            .args(["config", "show", "-o", format])
            .run()
            .success();
        assert!(
            !run.stdout().contains("hunter2") && !run.stderr().contains("hunter2"),
            "{format}"
        );
        assert!(
            run.stdout().contains("********"),
            "{format}: {}",
            run.stdout()
        );
    }
}

#[test]
fn example_config_is_valid_and_complete() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/iotpipe.toml");
    let text = std::fs::read_to_string(&example).unwrap();
    let dir = temp_dir();
    // Every key appears in the example (commented out or set) ...
    let values = show(iotpipe(dir.path()));
    for key in values.keys() {
        let field = key.rsplit('.').next().unwrap();
        assert!(
            text.contains(&format!("{field} =")),
            "examples/iotpipe.toml does not document {key}"
        );
    }
    // ... and with every line uncommented it is still accepted.
    let uncommented: String = text
        .lines()
        .map(|l| {
            l.strip_prefix("# ")
                .filter(|r| r.contains(" = "))
                .unwrap_or(l)
        })
        .collect::<Vec<_>>()
        .join("\n");
    write(dir.path(), "iotpipe.toml", &uncommented);
    iotpipe(dir.path()).args(["config", "show"]).run().success();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_init_writes_the_config_from_a_stacks_outputs() {
    let moto = crate::common::moto();
    // A stack with the outputs and parameters of examples/aws/iotpipe.yaml
    // (moto's CloudFormation answers DescribeStacks as CloudFormation does).
    let template = serde_json::json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": {
            "ThingName": {"Type": "String"},
            "Topic": {"Type": "String", "Default": "sensor/data"},
            "BatchThreshold": {"Type": "Number", "Default": 20}
        },
        "Resources": {"Events": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "events"}}},
        "Outputs": {
            "Bucket": {"Value": "iotpipe-123456789012-data"},
            "CounterTable": {"Value": "iotpipe-counter"},
            "Stream": {"Value": "iotpipe-sensor"},
            "Workgroup": {"Value": "iotpipe"},
            "Database": {"Value": "iotpipe"},
            "IotRuleRoleArn": {"Value": "arn:aws:iam::123456789012:role/iotpipe-iot-rule"},
            "DevicePolicy": {"Value": "iotpipe-device"},
            "DataSetId": {"Value": "iotpipe-readings"}
        }
    });
    let sdk = crate::common::sdk(&moto).await;
    aws_sdk_cloudformation::Client::new(&sdk)
        .create_stack()
        .stack_name("iotpipe")
        .template_body(template.to_string())
        .parameters(
            aws_sdk_cloudformation::types::Parameter::builder()
                .parameter_key("ThingName")
                .parameter_value("pi-kitchen")
                .build(),
        )
        .parameters(
            aws_sdk_cloudformation::types::Parameter::builder()
                .parameter_key("BatchThreshold")
                .parameter_value("100")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let dir = temp_dir();
    let cli = || {
        iotpipe(dir.path())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_ENDPOINT_URL", crate::common::moto_endpoint(&moto))
            .args(["--region", "us-east-1"])
    };
    let run = cli()
        .args(["config", "init", "--from-stack", "iotpipe"])
        .run()
        .success();
    assert!(
        run.stderr()
            .contains("wrote iotpipe.toml from stack iotpipe"),
        "{}",
        run.stderr()
    );
    let values = show(iotpipe(dir.path()));
    let value = |key: &str| values[key].0.clone();
    assert_eq!(value("backend"), "aws");
    assert_eq!(value("device_id"), "pi-kitchen");
    assert_eq!(value("mqtt.topic"), "sensor/data/pi-kitchen");
    assert_eq!(value("mqtt.iot_core"), true);
    assert_eq!(value("aws.device_policy"), "iotpipe-device");
    assert_eq!(value("aws.bucket"), "iotpipe-123456789012-data");
    assert_eq!(value("aws.region"), "us-east-1");
    assert_eq!(
        value("aws.iot_rule_role"),
        "arn:aws:iam::123456789012:role/iotpipe-iot-rule"
    );
    assert_eq!(value("counter.table"), "iotpipe-counter");
    assert_eq!(value("counter.threshold"), 100);
    assert_eq!(value("athena.workgroup"), "iotpipe");
    assert_eq!(
        value("athena.output_location"),
        "s3://iotpipe-123456789012-data/athena-results/"
    );
    assert_eq!(value("kinesis.stream"), "iotpipe-sensor");
    assert_eq!(
        value("quicksight.datasets"),
        serde_json::json!(["iotpipe-readings"])
    );
    assert!(
        values["aws.bucket"].1.starts_with("file"),
        "{:?}",
        values["aws.bucket"]
    );

    let again = cli()
        .args(["config", "init", "--from-stack", "iotpipe"])
        .run()
        .expect_code(2);
    assert!(again.stderr().contains("--force"), "{}", again.stderr());
    let missing = cli()
        .args([
            "config",
            "init",
            "--from-stack",
            "nope",
            "--file",
            "other.toml",
        ])
        .run()
        .expect_code(1);
    assert!(
        missing.stderr().contains("reading stack nope") && missing.stderr().contains("region"),
        "{}",
        missing.stderr()
    );
}
