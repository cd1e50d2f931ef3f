//! Proof that the shared test plumbing works against the real services:
//! later tests build on these helpers.

use std::process::Command;

use crate::common::{Mosquitto, Moto, python};

#[test]
fn mosquitto_helper_starts_a_broker_that_relays_messages() {
    let broker = Mosquitto::start();
    let other = Mosquitto::start();
    assert_ne!(broker.port, other.port, "each test gets its own broker");
    let port = broker.port.to_string();
    let sub = Command::new("mosquitto_sub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-t",
            "harness/#",
            "-C",
            "1",
            "-W",
            "10",
            "-v",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("mosquitto_sub is installed by scripts/test");
    // Publish until the subscriber has subscribed and received one message.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut sub = sub;
    loop {
        let status = Command::new("mosquitto_pub")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-t",
                "harness/ping",
                "-m",
                "hello",
                "-q",
                "1",
            ])
            .status()
            .unwrap();
        assert!(status.success());
        if sub.try_wait().unwrap().is_some() || std::time::Instant::now() > deadline {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let output = sub.wait_with_output().unwrap();
    assert!(output.status.success(), "mosquitto_sub got nothing");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "harness/ping hello"
    );
    drop(other);
}

#[test]
fn moto_helper_starts_an_aws_emulator() {
    let moto = Moto::start();
    let env = moto.aws_env();
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
