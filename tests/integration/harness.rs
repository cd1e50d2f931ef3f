//! Proof that the shared test plumbing works against the real services:
//! later tests build on these helpers.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Service, aws_env, mosquitto, moto, python};

/// Subscribes with mosquitto_sub and publishes with mosquitto_pub until one
/// message has gone through the broker; returns what the subscriber printed.
fn relay_one_message(broker: &Service) -> String {
    let port = broker.port.to_string();
    let host = ["-h", "127.0.0.1", "-p", port.as_str()];
    let mut sub = Command::new("mosquitto_sub")
        .args(host)
        .args(["-t", "harness/#", "-C", "1", "-W", "10", "-v"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("mosquitto_sub is installed by scripts/test");
    // The subscription races the first publish: publish until it arrives.
    let deadline = Instant::now() + Duration::from_secs(10);
    while sub.try_wait().unwrap().is_none() && Instant::now() < deadline {
        let published = Command::new("mosquitto_pub")
            .args(host)
            .args(["-t", "harness/ping", "-m", "hello", "-q", "1"])
            .status()
            .unwrap();
        assert!(published.success(), "{}", broker.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = sub.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "mosquitto_sub got nothing: {}",
        broker.log()
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

#[test]
fn mosquitto_helper_starts_restarts_and_isolates_brokers() {
    let mut broker = mosquitto();
    let other = mosquitto();
    assert_ne!(broker.port, other.port, "each test gets its own broker");
    assert_eq!(relay_one_message(&broker), "harness/ping hello");

    broker.kill();
    let refused = Command::new("mosquitto_pub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &broker.port.to_string(),
            "-t",
            "t",
            "-m",
            "m",
        ])
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(!refused.success(), "a killed broker must not answer");
    broker.restart();
    assert_eq!(relay_one_message(&broker), "harness/ping hello");
    drop(other);
}

#[test]
fn moto_helper_starts_an_aws_emulator() {
    let moto = moto();
    let env = aws_env(&moto);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let listed = python(
        "import boto3\n\
         s3 = boto3.client('s3')\n\
         s3.create_bucket(Bucket='harness')\n\
         s3.put_object(Bucket='harness', Key='raw/a.jsonl', Body=b'{}')\n\
         print(','.join(o['Key'] for o in s3.list_objects_v2(Bucket='harness')['Contents']))",
        &env,
    );
    assert_eq!(listed.trim(), "raw/a.jsonl");
}
