//! The infrastructure example (examples/aws/iotpipe.yaml) passes cfn-lint
//! offline and still says what iotpipe expects: the IoT rule's role trusted by
//! iot.amazonaws.com and allowed only kinesis:PutRecord on the stream, Firehose
//! writing GZIP, newline-delimited objects under raw/, the Lambda configured
//! with keys iotpipe knows, the tables matching the Parquet schema.

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::common::{iotpipe, python, temp_dir, venv};

fn template_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/aws/iotpipe.yaml")
}

/// The template as JSON, decoded by cfn-lint (which understands !Ref, !Sub, ...).
pub(crate) fn template() -> Value {
    let path = template_path();
    let json = python(
        "import json, os\n\
         from cfnlint.decode import decode\n\
         template, errors = decode(os.environ['TEMPLATE'])\n\
         assert not errors, errors\n\
         print(json.dumps(template))",
        &[("TEMPLATE", path.to_str().unwrap())],
    );
    serde_json::from_str(&json).unwrap()
}

/// A policy element that is one string or a list of them, as a list.
pub(crate) fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(one) => vec![one.clone()],
        many => many
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a.as_str().map(str::to_string))
            .collect(),
    }
}

#[test]
fn the_cloudformation_example_passes_cfn_lint() {
    let output = std::process::Command::new(venv().join("bin/cfn-lint"))
        .arg(template_path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "cfn-lint:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_example_matches_what_iotpipe_expects() {
    let template = template();
    let resources = &template["Resources"];
    let props = |name: &str| &resources[name]["Properties"];

    // The IoT rule's role: iot.amazonaws.com may assume it, and it may only put to the stream.
    let role = props("IotRuleRole");
    let trust = &role["AssumeRolePolicyDocument"]["Statement"];
    assert_eq!(trust.as_array().map(Vec::len), Some(1));
    assert_eq!(trust[0]["Effect"], "Allow");
    assert_eq!(
        trust[0]["Principal"],
        json!({"Service": "iot.amazonaws.com"})
    );
    assert_eq!(trust[0]["Action"], "sts:AssumeRole");
    // Trusted only for this account's rule (AWS's own example has both).
    let condition = &trust[0]["Condition"];
    assert_eq!(
        condition["StringEquals"]["aws:SourceAccount"],
        json!({"Ref": "AWS::AccountId"})
    );
    assert!(
        condition["ArnLike"]["aws:SourceArn"]
            .to_string()
            .contains(":rule/"),
        "{condition}"
    );
    let policies = role["Policies"].as_array().unwrap();
    assert_eq!(policies.len(), 1);
    let allowed = &policies[0]["PolicyDocument"]["Statement"];
    assert_eq!(
        allowed,
        &json!([
            {"Effect": "Allow", "Action": "kinesis:PutRecord", "Resource": {"Fn::GetAtt": ["SensorStream", "Arn"]}},
            {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"], "Resource": {"Fn::GetAtt": ["RuleErrors", "Arn"]}},
            {"Effect": "Allow", "Action": "s3:PutObject", "Resource": {"Fn::Sub": "arn:${AWS::Partition}:s3:::${Name}-${AWS::AccountId}-data/rejected/identity/*"}}
        ]),
        "least privilege: the stream, the error log (the three actions the IoT \
         guide's CloudWatch Logs action requires), and where impostors are set aside"
    );
    // A device publishes only as itself: the readings rule routes a reading
    // only when its device_id is the thing whose topic it came on, and the
    // impostor rule sets aside exactly the others (its condition is the
    // first's negation, a missing device_id included).
    let sql = |name: &str| {
        props(name)["TopicRulePayload"]["Sql"]["Fn::Sub"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        sql("SensorRule"),
        "SELECT * FROM '${Topic}/+' WHERE topic() = concat('${Topic}/', device_id)"
    );
    let impostors = sql("ImpostorRule");
    assert!(
        impostors.contains("FROM '${Topic}/+' WHERE isUndefined(device_id) OR topic() <> concat('${Topic}/', device_id)"),
        "{impostors}"
    );
    let set_aside = &props("ImpostorRule")["TopicRulePayload"]["Actions"][0]["S3"];
    assert_eq!(set_aside["BucketName"], json!({"Ref": "DataBucket"}));
    assert!(
        set_aside["Key"]
            .as_str()
            .is_some_and(|k| k.starts_with("rejected/identity/")),
        "{set_aside}"
    );
    // Both rules may use the role, and no other rule.
    let sources = trust[0]["Condition"]["ArnLike"]["aws:SourceArn"].to_string();
    assert!(
        sources.contains("_sensor_to_kinesis") && sources.contains("_set_aside_impostors"),
        "{sources}"
    );
    // Every certificate attached exclusively: `doctor` and `tail` connect
    // under <thing>-… ids, which a non-exclusive attachment refuses.
    assert_eq!(
        props("DeviceCertificateThing")["ThingPrincipalType"],
        "EXCLUSIVE_THING"
    );
    assert!(
        template["Outputs"]["DevicePolicy"].is_object(),
        "config init writes aws.device_policy"
    );

    // Roles as the services document them: an Athena INSERT into a Glue table
    // reads partitions in batches (the AmazonAthenaFullAccess managed policy
    // grants glue:BatchGetPartition beside GetPartition(s)); Firehose's S3
    // destination needs GetObject beside PutObject ("Grant Firehose access to
    // an Amazon S3 destination").
    let actions_of = |role: &str| -> Vec<String> {
        props(role)["Policies"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| p["PolicyDocument"]["Statement"].as_array().unwrap().clone())
            .flat_map(|s| strings(&s["Action"]))
            .collect()
    };
    let lambda = actions_of("CounterRole");
    for action in [
        "glue:GetTable",
        "glue:GetPartition",
        "glue:GetPartitions",
        "glue:BatchGetPartition",
        "glue:BatchCreatePartition",
        "athena:GetQueryResults",
    ] {
        assert!(
            lambda.iter().any(|a| a == action),
            "the Lambda's role lacks {action}"
        );
    }
    let firehose = actions_of("FirehoseRole");
    for action in [
        "s3:AbortMultipartUpload",
        "s3:GetBucketLocation",
        "s3:GetObject",
        "s3:ListBucket",
        "s3:ListBucketMultipartUploads",
        "s3:PutObject",
    ] {
        assert!(
            firehose.iter().any(|a| a == action),
            "Firehose's role lacks {action}"
        );
    }
    // A stack whose workgroup ran queries can still be deleted.
    assert_eq!(props("Workgroup")["RecursiveDeleteOption"], true);
    let rule = props("SensorRule");
    let action = &rule["TopicRulePayload"]["Actions"][0]["Kinesis"];
    assert_eq!(
        action["RoleArn"],
        json!({"Fn::GetAtt": ["IotRuleRole", "Arn"]})
    );
    assert_eq!(action["StreamName"], json!({"Ref": "SensorStream"}));
    // A failed put is logged, not dropped.
    let error = &rule["TopicRulePayload"]["ErrorAction"]["CloudwatchLogs"];
    assert_eq!(error["LogGroupName"], json!({"Ref": "RuleErrors"}));
    assert_eq!(resources["RuleErrors"]["Type"], "AWS::Logs::LogGroup");

    // Firehose: iotpipe's raw layout, gzip, one reading per line.
    let s3 = &props("Delivery")["ExtendedS3DestinationConfiguration"];
    assert_eq!(s3["Prefix"], iotpipe::store::RAW);
    assert_eq!(s3["CompressionFormat"], "GZIP");
    let processor = &s3["ProcessingConfiguration"]["Processors"][0];
    assert_eq!(processor["Type"], "AppendDelimiterToRecord");
    // Its default delimiter is a newline; a parameter "\\n" in YAML would be
    // a backslash and an n.
    assert!(processor["Parameters"].is_null(), "{processor}");
    assert_eq!(
        s3["CloudWatchLoggingOptions"]["Enabled"], true,
        "Firehose logs its errors"
    );

    // Only new raw objects reach the counter, through a queue with a
    // dead-letter queue: S3's direct invocation drops an event after two retries.
    let notification = &props("DataBucket")["NotificationConfiguration"]["QueueConfigurations"][0];
    assert_eq!(notification["Event"], "s3:ObjectCreated:*");
    assert_eq!(
        notification["Queue"],
        json!({"Fn::GetAtt": ["RawEvents", "Arn"]})
    );
    assert_eq!(
        notification["Filter"]["S3Key"]["Rules"][0]["Value"],
        iotpipe::store::RAW
    );
    let redrive = &props("RawEvents")["RedrivePolicy"];
    assert_eq!(
        redrive["deadLetterTargetArn"],
        json!({"Fn::GetAtt": ["RawEventsDeadLetter", "Arn"]})
    );
    assert!(
        props("RawEvents")["VisibilityTimeout"].as_i64()
            >= props("CounterFunction")["Timeout"].as_i64(),
        "a message is not handed out twice while the function works on it"
    );
    let mapping = props("RawEventsToCounter");
    assert_eq!(
        mapping["FunctionResponseTypes"],
        json!(["ReportBatchItemFailures"])
    );
    assert!(
        !resources
            .as_object()
            .unwrap()
            .values()
            .any(|r| r["Type"] == "AWS::Lambda::Permission"
                && r["Properties"]["Principal"] == "s3.amazonaws.com"),
        "S3 no longer invokes the function directly"
    );
    let bucket = props("DataBucket");
    let block = &bucket["PublicAccessBlockConfiguration"];
    for setting in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(block[setting], true, "{setting}");
    }
    assert!(bucket["BucketEncryption"].is_object());
    let lifecycle = bucket["LifecycleConfiguration"]["Rules"].to_string();
    assert!(
        lifecycle.contains("AbortIncompleteMultipartUpload"),
        "{lifecycle}"
    );
    let tls = &props("DataBucketPolicy")["PolicyDocument"]["Statement"][0];
    assert_eq!(
        (
            &tls["Effect"],
            &tls["Condition"]["Bool"]["aws:SecureTransport"]
        ),
        (&json!("Deny"), &json!("false"))
    );
    // What holds data outlives the stack.
    for name in [
        "DataBucket",
        "CounterTable",
        "Database",
        "RawTable",
        "RawLinesTable",
        "ReadingsTable",
    ] {
        assert_eq!(resources[name]["DeletionPolicy"], "Retain", "{name}");
        assert_eq!(resources[name]["UpdateReplacePolicy"], "Retain", "{name}");
    }
    // Two stacks do not collide, and a stack name with capitals does not break the bucket.
    let parameters = &template["Parameters"];
    assert!(
        parameters["Name"]["AllowedPattern"]
            .as_str()
            .is_some_and(|p| p.starts_with("[a-z0-9]")),
        "{}",
        parameters["Name"]
    );
    assert!(
        props("Database")["DatabaseInput"]["Name"].is_object(),
        "the Glue database is named after the stack's Name, not fixed"
    );
    // A new release is a new code key, so CloudFormation redeploys the function.
    assert!(
        parameters["LambdaCodeKey"]["Default"]
            .as_str()
            .is_some_and(|k| k.contains(env!("CARGO_PKG_VERSION"))),
        "{}",
        parameters["LambdaCodeKey"]
    );
    // The table shows exactly the days a stored reading may have.
    assert_eq!(
        props("ReadingsTable")["TableInput"]["Parameters"]["projection.dt.range"],
        iotpipe::compact::athena_sql::PROJECTED_DAYS
    );
    // The device policy itself is evaluated, for every id and topic, in iot_policy.rs.
    // A certificate from a CSR made on the Pi, attached to the thing and the policy.
    assert_eq!(
        props("DeviceCertificate")["CertificateSigningRequest"],
        json!({"Ref": "CertificateSigningRequest"})
    );
    assert_eq!(
        props("DeviceCertificateThing")["Principal"],
        json!({"Fn::GetAtt": ["DeviceCertificate", "Arn"]})
    );
    assert_eq!(
        props("DeviceCertificatePolicy")["PolicyName"],
        json!({"Ref": "DevicePolicy"})
    );
    // QuickSight imports the measurements as floats, not fixed point.
    let columns = &props("QuickSightDataSet")["PhysicalTableMap"]["readings"]["RelationalTable"]["InputColumns"];
    for column in columns.as_array().unwrap() {
        if column["Type"] == "DECIMAL" {
            assert_eq!(column["SubType"], "FLOAT", "{column}");
        }
    }
    // AWS::IoT::Thing cannot name a thing type: the guide attaches one if wanted.
    assert!(resources.get("ThingType").is_none());

    // The Lambda: the iotpipe binary as bootstrap, configured with keys iotpipe knows.
    let function = props("CounterFunction");
    assert_eq!(
        (
            &function["Runtime"],
            &function["Handler"],
            &function["Architectures"]
        ),
        (
            &json!("provided.al2023"),
            &json!("bootstrap"),
            &json!(["arm64"])
        )
    );
    let variables = function["Environment"]["Variables"].as_object().unwrap();
    let dir = temp_dir();
    let mut check = iotpipe(dir.path()).args(["config", "show", "-o", "json"]);
    for (name, value) in variables {
        // Intrinsic functions resolve at deploy time: a plain stand-in here.
        let value = value
            .as_str()
            .map_or_else(|| "20".to_string(), str::to_string);
        check = check.env(name, value);
    }
    let run = check.run().success();
    assert!(
        !run.stderr().contains("IOTPIPE_"),
        "every variable is a known key: {}",
        run.stderr()
    );

    // The Glue tables are the ones `compact --init` creates.
    let mut expected = vec!["v", "device_id", "run_id", "seq", "ts"];
    expected.extend(iotpipe::payload::measurement_names());
    for table in ["RawTable", "ReadingsTable"] {
        let columns: Vec<&str> = props(table)["TableInput"]["StorageDescriptor"]["Columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["Name"].as_str().unwrap())
            .collect();
        assert_eq!(columns, expected, "{table}");
        // The compacted rows carry their batch: a retry finds its own files by it.
        expected.push("batch");
    }
    // The lines the survey reads: the raw table's name with `_lines`, split
    // only at \x01, as `compact --init` creates it.
    let lines = &props("RawLinesTable")["TableInput"];
    assert_eq!(
        lines["Name"].as_str().unwrap(),
        format!(
            "{}_lines",
            props("RawTable")["TableInput"]["Name"].as_str().unwrap()
        )
    );
    let storage = &lines["StorageDescriptor"];
    assert_eq!(
        storage["Columns"],
        json!([{"Name": "line", "Type": "string"}, {"Name": "rest", "Type": "string"}])
    );
    assert_eq!(storage["SerdeInfo"]["Parameters"]["field.delim"], "\u{1}");
    assert_eq!(
        storage["Location"],
        props("RawTable")["TableInput"]["StorageDescriptor"]["Location"]
    );
    let parameters = &props("ReadingsTable")["TableInput"]["Parameters"];
    let ddl = iotpipe::compact::athena_sql::ddl(&iotpipe::compact::athena_sql::Target {
        database: "iotpipe".into(),
        raw_table: "raw_readings".into(),
        lines_table: "raw_readings_lines".into(),
        table: "readings".into(),
        raw_location: "s3://b/raw/".into(),
        compacted_location: "s3://b/compacted/".into(),
    });
    for (key, value) in parameters.as_object().unwrap() {
        if key.starts_with("projection.") {
            let property = format!("'{key}' = '{}'", value.as_str().unwrap());
            assert!(ddl[2].contains(&property), "{property} in {}", ddl[2]);
        }
    }
    let partitions: Vec<Value> = props("ReadingsTable")["TableInput"]["PartitionKeys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["Name"].clone())
        .collect();
    assert_eq!(partitions, [json!("dt")]);
    assert!(
        props("Workgroup")["WorkGroupConfiguration"]["BytesScannedCutoffPerQuery"].is_object(),
        "the workgroup limits bytes scanned per query"
    );
}

/// The systemd units (examples/systemd/, shipped in the package) pass
/// `systemd-analyze verify` with ExecStart pointed at the built binary, run
/// commands this build has, and share what a service on the Pi needs.
#[test]
fn the_systemd_units_verify_and_run_real_commands() {
    let units = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/systemd");
    let dir = temp_dir();
    let binary = env!("CARGO_BIN_EXE_iotpipe");
    for name in ["iotpipe-publish.service", "iotpipe-up.service"] {
        let text = std::fs::read_to_string(units.join(name)).unwrap();
        for line in [
            "User=iotpipe",
            "SupplementaryGroups=i2c",
            "Environment=IOTPIPE_CONFIG=/etc/iotpipe/iotpipe.toml",
            "Environment=MALLOC_ARENA_MAX=2",
            "ProtectSystem=strict",
            "ReadWritePaths=/var/lib/iotpipe",
            "DeviceAllow=/dev/i2c-1 rw",
            "KillSignal=SIGTERM",
            "Type=notify",
            "WatchdogSec=60",
        ] {
            assert!(text.lines().any(|l| l == line), "{name} lacks {line}");
        }
        let other = if name == "iotpipe-up.service" {
            "iotpipe-publish"
        } else {
            "iotpipe-up"
        };
        assert!(
            text.contains(&format!("Conflicts={other}.service")),
            "{name}"
        );
        let exec = text
            .lines()
            .find_map(|l| l.strip_prefix("ExecStart=/usr/local/bin/iotpipe "))
            .unwrap_or_else(|| panic!("{name}: ExecStart runs /usr/local/bin/iotpipe"));
        // The command line parses: --help after it prints that command's help.
        let mut args: Vec<&str> = exec.split_whitespace().collect();
        args.push("--help");
        iotpipe(dir.path()).args(&args).run().success();
        let local = dir.path().join(name);
        std::fs::write(&local, text.replace("/usr/local/bin/iotpipe", binary)).unwrap();
        let Ok(verify) = std::process::Command::new("systemd-analyze")
            .args(["verify", "--man=no"])
            .arg(&local)
            .output()
        else {
            eprintln!("systemd-analyze is not installed: {name} not verified");
            continue;
        };
        let stderr = String::from_utf8_lossy(&verify.stderr);
        let complaints: Vec<&str> = stderr.lines().filter(|l| l.contains(name)).collect();
        assert!(
            verify.status.success() && complaints.is_empty(),
            "{name}: {stderr}"
        );
    }
}
