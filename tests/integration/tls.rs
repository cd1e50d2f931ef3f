//! TLS with client certificates, as AWS IoT Core wants it, against a mosquitto
//! listener that requires a certificate. The PKI is generated here with rcgen.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
};

use crate::common::{Collector, Service, TempDir, iotpipe, mosquitto_with, temp_dir};

struct Pki {
    ca: PathBuf,
    server_cert: PathBuf,
    server_key: PathBuf,
    client_cert: PathBuf,
    client_key: PathBuf,
}

impl Pki {
    /// The mosquitto_sub / iotpipe flags of a client with the good certificate.
    fn client_flags(&self) -> [&str; 6] {
        [
            "--cafile",
            self.ca.to_str().unwrap(),
            "--cert",
            self.client_cert.to_str().unwrap(),
            "--key",
            self.client_key.to_str().unwrap(),
        ]
    }
}

fn ca(name: &str) -> (CertificateParams, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    (params, key)
}

fn leaf(
    names: &[&str],
    usage: ExtendedKeyUsagePurpose,
    issuer: &Issuer<'_, KeyPair>,
) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    params.extended_key_usages = vec![usage];
    params.distinguished_name.push(DnType::CommonName, names[0]);
    let cert = params.signed_by(&key, issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn pki(dir: &Path) -> Pki {
    let (params, key) = ca("iotpipe test CA");
    let ca_pem = params.self_signed(&key).unwrap().pem();
    let issuer = Issuer::new(params, key);
    let (server_cert, server_key) = leaf(
        &["127.0.0.1", "localhost"],
        ExtendedKeyUsagePurpose::ServerAuth,
        &issuer,
    );
    let (client_cert, client_key) = leaf(
        &["pi-kitchen"],
        ExtendedKeyUsagePurpose::ClientAuth,
        &issuer,
    );
    Pki {
        ca: write(dir, "ca.pem", &ca_pem),
        server_cert: write(dir, "server.pem", &server_cert),
        server_key: write(dir, "server.key", &server_key),
        client_cert: write(dir, "client.pem", &client_cert),
        client_key: write(dir, "client.key", &client_key),
    }
}

/// A temp dir with a PKI, and a mosquitto that requires a client certificate
/// signed by its CA (as IoT Core does).
fn tls_broker() -> (TempDir, Pki, Service) {
    let dir = temp_dir();
    // mosquitto drops root privileges: let it read the PKI.
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let pki = pki(dir.path());
    for file in [&pki.server_key, &pki.client_key] {
        std::fs::set_permissions(file, std::os::unix::fs::PermissionsExt::from_mode(0o644))
            .unwrap();
    }
    let broker = mosquitto_with(&format!(
        "cafile {}\ncertfile {}\nkeyfile {}\nrequire_certificate true\n",
        pki.ca.display(),
        pki.server_cert.display(),
        pki.server_key.display()
    ));
    (dir, pki, broker)
}

#[test]
fn client_certificates_work_and_a_wrong_ca_is_explained() {
    let (dir, pki, broker) = tls_broker();
    let port = broker.port.to_string();
    let tls = |ca: &Path, cert: &Path, key: &Path| {
        [
            "--cafile".to_string(),
            ca.display().to_string(),
            "--cert".to_string(),
            cert.display().to_string(),
            "--key".to_string(),
            key.display().to_string(),
        ]
    };
    let good = pki.client_flags();

    let witness = Collector::start_tls(&broker, "secure/#", &[], &pki.client_flags());
    let run = iotpipe(dir.path())
        .args([
            "publish",
            "-p",
            &port,
            "-t",
            "secure/data",
            "-m",
            "{\"ok\":true}",
        ])
        .args(good)
        .run()
        .success();
    assert!(
        run.stderr().contains("mqtts://127.0.0.1"),
        "{}",
        run.stderr()
    );
    assert_eq!(
        witness.wait_for(1, std::time::Duration::from_secs(10)),
        ["{\"ok\":true}"]
    );

    // The broker's certificate was signed by another CA: a clear error, no retrying.
    let (params, key) = ca("some other CA");
    let other_ca = write(
        dir.path(),
        "other-ca.pem",
        &params.self_signed(&key).unwrap().pem(),
    );
    let run = iotpipe(dir.path())
        .args(["publish", "-p", &port, "-t", "secure/data", "-m", "{}"])
        .args(tls(&other_ca, &pki.client_cert, &pki.client_key))
        .run()
        .expect_code(1);
    let err = run.stderr();
    assert!(
        err.contains("cannot connect to mqtts://127.0.0.1") && err.contains("UnknownIssuer"),
        "{err}"
    );
    assert!(err.contains("--cafile must hold the CA"), "{err}");

    // No client certificate: the broker refuses the handshake.
    let run = iotpipe(dir.path())
        .args([
            "publish",
            "-p",
            &port,
            "-t",
            "secure/data",
            "-m",
            "{}",
            "--retry-for",
            "1s",
            "--cafile",
        ])
        .args([&pki.ca])
        .run();
    assert_ne!(run.code(), 0, "{}", run.stderr());

    // Unreadable or non-PEM files are named.
    let run = iotpipe(dir.path())
        .args(["publish", "-p", &port, "-m", "{}"])
        .args(tls(&pki.ca, &pki.client_cert, Path::new("missing.key")))
        .run()
        .expect_code(2);
    assert!(
        run.stderr().contains("private key missing.key"),
        "{}",
        run.stderr()
    );
}

/// examples/mosquitto/bridge.conf, run for real: a local mosquitto with the
/// example's bridge settings (only the endpoint, port and file paths replaced)
/// bridges to a TLS broker that requires a client certificate, as IoT Core does.
#[test]
fn the_example_bridge_forwards_sensor_topics_over_verified_tls() {
    let (dir, pki, iot_core) = tls_broker();
    let example = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/mosquitto/bridge.conf"),
    )
    .unwrap();
    let bridge: String = example
        .lines()
        // The harness gives the local broker its own listener and storage.
        .filter(|line| {
            !["listener ", "allow_anonymous ", "persistence "]
                .iter()
                .any(|p| line.starts_with(p))
        })
        .map(|line| {
            if line.starts_with("address ") {
                format!("address 127.0.0.1:{}", iot_core.port)
            } else {
                line.replace(
                    "/etc/mosquitto/certs/AmazonRootCA1.pem",
                    pki.ca.to_str().unwrap(),
                )
                .replace(
                    "/etc/mosquitto/certs/device.pem.crt",
                    pki.client_cert.to_str().unwrap(),
                )
                .replace(
                    "/etc/mosquitto/certs/private.pem.key",
                    pki.client_key.to_str().unwrap(),
                )
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(bridge.contains("bridge_insecure false") && bridge.contains("topic sensor/# out 1"));
    let pi = mosquitto_with(&bridge);
    let witness = Collector::start_tls(&iot_core, "sensor/#", &[], &pki.client_flags());
    iotpipe(dir.path())
        .args([
            "publish",
            "-p",
            &pi.port.to_string(),
            "-t",
            "sensor/data",
            "-m",
            "{\"bridged\":true}",
        ])
        .run()
        .success();
    assert_eq!(
        witness.wait_for(1, std::time::Duration::from_secs(20)),
        ["{\"bridged\":true}"],
        "{}",
        pi.log()
    );
}

#[test]
fn doctor_checks_tls_files_key_pairs_and_expiry() {
    let (dir, pki, broker) = tls_broker();
    let doctor = |cert: &Path, key: &Path| {
        let run = iotpipe(dir.path())
            .env("IOTPIPE_MQTT_PORT", broker.port.to_string())
            .env("IOTPIPE_MQTT_CAFILE", &pki.ca)
            .env("IOTPIPE_MQTT_CERT", cert)
            .env("IOTPIPE_MQTT_KEY", key)
            .args(["doctor", "--only", "mqtt", "-o", "json"])
            .run();
        let checks: Vec<serde_json::Value> = serde_json::from_str(&run.stdout()).unwrap();
        (run.code(), checks)
    };
    let status = |checks: &[serde_json::Value], name: &str| {
        checks
            .iter()
            .find(|c| c["check"] == name)
            .map(|c| {
                (
                    c["status"].as_str().unwrap().to_string(),
                    c["detail"].as_str().unwrap().to_string(),
                )
            })
            .unwrap()
    };

    let (code, checks) = doctor(&pki.client_cert, &pki.client_key);
    assert_eq!(code, 0, "{checks:?}");
    for name in [
        "TLS files",
        "certificate and key match",
        "certificate not expired",
        "broker reachable",
    ] {
        assert_eq!(status(&checks, name).0, "ok", "{name}: {checks:?}");
    }

    // Another key than the certificate's.
    let other_key = write(
        dir.path(),
        "other.key",
        &KeyPair::generate().unwrap().serialize_pem(),
    );
    let (code, checks) = doctor(&pki.client_cert, &other_key);
    assert_eq!(code, 1);
    let (result, detail) = status(&checks, "certificate and key match");
    assert_eq!(result, "fail", "{detail}");

    // An expired certificate.
    let (params, key) = ca("iotpipe test CA 2");
    let issuer = Issuer::new(params, key);
    let client_key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["pi-kitchen".to_string()]).unwrap();
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    let expired = params.signed_by(&client_key, &issuer).unwrap();
    let expired_cert = write(dir.path(), "expired.pem", &expired.pem());
    let expired_key = write(dir.path(), "expired.key", &client_key.serialize_pem());
    let (code, checks) = doctor(&expired_cert, &expired_key);
    assert_eq!(code, 1);
    let (result, detail) = status(&checks, "certificate not expired");
    assert_eq!(result, "fail");
    assert!(
        detail.contains("expired on") && detail.contains("2021"),
        "{detail}"
    );

    // A file that is not there.
    let (code, checks) = doctor(Path::new("missing.pem"), &pki.client_key);
    assert_eq!(code, 1);
    assert_eq!(status(&checks, "TLS files").0, "fail");
    assert_eq!(status(&checks, "broker reachable").0, "skip");
}

/// `--sigv4`: MQTT over a TLS WebSocket whose URL carries a SigV4 signature
/// made from the AWS credential chain (here the environment), as IoT Core
/// wants it, with no client certificate. The endpoint is a WebSocket bridge
/// in front of mosquitto that logs each request's path and query.
#[test]
fn sigv4_websockets_carry_mqtt_with_a_signed_url() {
    let dir = temp_dir();
    let pki = pki(dir.path());
    let broker = crate::common::mosquitto();
    let log = dir.path().join("requests.log");
    let (cert, key, log_arg) = (
        pki.server_cert.display().to_string(),
        pki.server_key.display().to_string(),
        log.display().to_string(),
    );
    let broker_port = broker.port.to_string();
    let bridge = crate::common::python_double(
        "ws-bridge",
        "ws_bridge.py",
        move |_| {
            vec![
                cert.clone(),
                key.clone(),
                broker_port.clone(),
                log_arg.clone(),
            ]
        },
        crate::common::tcp_accepts,
    );
    let signed = || {
        iotpipe(dir.path())
            .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
            .env(
                "AWS_SECRET_ACCESS_KEY",
                "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            )
            .env("AWS_SESSION_TOKEN", "token/from+sso=")
            .env("AWS_REGION", "eu-west-1")
            .env("IOTPIPE_MQTT_CAFILE", &pki.ca)
            .env("IOTPIPE_DEVICE_ID", "pi-kitchen")
    };
    let bridge_port = bridge.port.to_string();
    let tail = iotpipe(dir.path())
        .args([
            "tail",
            "mqtt",
            "-p",
            &broker.port.to_string(),
            "-t",
            "sensor/data",
        ])
        .args(["-C", "3", "-W", "20", "-o", "jsonl"])
        .start();
    std::thread::sleep(std::time::Duration::from_millis(800));
    let run = signed()
        .args(["publish", "--sigv4", "-h", "127.0.0.1", "-p", &bridge_port])
        .args(["--sim", "--count", "3", "--no-outbox"])
        .args(["-t", "sensor/data", "-o", "json"])
        .run()
        .success();
    let report: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(report["acknowledged"], 3, "{}", run.stderr());
    let mut tail = tail;
    let (code, err) = tail.wait();
    assert_eq!(
        code,
        Some(0),
        "the three readings crossed the bridge: {err}"
    );
    let requests = std::fs::read_to_string(&log).unwrap();
    let request = requests.lines().next().expect("a WebSocket request");
    assert!(
        request.starts_with("/mqtt?X-Amz-Algorithm=AWS4-HMAC-SHA256&"),
        "{request}"
    );
    for part in [
        "X-Amz-Credential=AKIDEXAMPLE%2F",
        "%2Feu-west-1%2Fiotdevicegateway%2Faws4_request",
        "X-Amz-SignedHeaders=host",
        "X-Amz-Signature=",
    ] {
        assert!(request.contains(part), "{part} in {request}");
    }
    assert!(
        request.ends_with("&X-Amz-Security-Token=token%2Ffrom%2Bsso%3D"),
        "the token last, after the signature: {request}"
    );
}

/// The AWS calls made without an SDK crate (QuickSight's here; IoT's and
/// CloudWatch Logs' share the client) verify the endpoint's certificate: a
/// server of a CA the system does not trust is refused and the error says so;
/// trusted through `SSL_CERT_FILE`, the same server is reached.
#[test]
fn aws_calls_without_an_sdk_crate_verify_the_endpoints_certificate() {
    let dir = temp_dir();
    let pki = pki(dir.path());
    let double = crate::common::quicksight_tls(&pki.server_cert, &pki.server_key, &["readings"]);
    std::fs::write(
        dir.path().join("iotpipe.toml"),
        "[quicksight]\naccount_id = \"123456789012\"\n",
    )
    .unwrap();
    let endpoint = format!("https://127.0.0.1:{}", double.port);
    let refresh = || {
        iotpipe(dir.path())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .args(["--endpoint-url", &endpoint, "--region", "us-east-1"])
            .args(["refresh-dashboard", "--dataset", "readings"])
    };
    let refused = refresh().run().expect_code(1);
    assert!(
        refused.stderr().contains("its certificate is not trusted")
            && refused.stderr().contains("UnknownIssuer")
            && refused.stderr().contains("SSL_CERT_FILE"),
        "{}",
        refused.stderr()
    );
    let trusted = refresh().env("SSL_CERT_FILE", &pki.ca).run().success();
    assert!(
        trusted.stdout().contains("\"status\":\"INITIALIZED\""),
        "{}",
        trusted.stdout()
    );
}
