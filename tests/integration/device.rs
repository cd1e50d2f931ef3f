//! `iotpipe device`: a device's key and signing request made on the device,
//! and the fleet managed in IoT Core's registry (moto, with the exclusive
//! attachments and IAM refusals the IoT API reference describes added by
//! tests/doubles/moto_server.py).

use std::path::Path;

use aws_sdk_iot::types::ThingPrincipalType;

use crate::common::{Iotpipe, Service, http_post, iotpipe, moto, moto_endpoint, sdk, temp_dir};

const POLICY: &str = "fleet-device";

fn on_moto(dir: &Path, moto: &Service) -> Iotpipe {
    iotpipe(dir)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_ENDPOINT_URL", moto_endpoint(moto))
        .env("IOTPIPE_DATA_DIR", dir.join("data"))
        .args(["--region", "us-east-1"])
}

/// A device's signing request for `thing`, made with a key under `device`.
fn csr(device: &Path, thing: &str) -> std::path::PathBuf {
    let out = device.join(format!("{thing}.csr.pem"));
    iotpipe(device)
        .env("IOTPIPE_DATA_DIR", device.join("data"))
        .args(["device", "csr", "--name", thing, "--out"])
        .args([&out])
        .run()
        .success();
    out
}

async fn principals(iot: &aws_sdk_iot::Client, thing: &str) -> Vec<(String, ThingPrincipalType)> {
    iot.list_thing_principals_v2()
        .thing_name(thing)
        .send()
        .await
        .unwrap()
        .thing_principal_objects()
        .iter()
        .map(|o| {
            (
                o.principal().to_string(),
                o.thing_principal_type().cloned().unwrap(),
            )
        })
        .collect()
}

#[test]
fn device_csr_keeps_one_key_readable_by_its_owner_and_says_what_comes_next() {
    let device = temp_dir();
    let first = iotpipe(device.path())
        .env("IOTPIPE_DATA_DIR", device.path().join("data"))
        .args(["device", "csr", "--name", "pi-attic"])
        .run()
        .success();
    assert!(
        first
            .stdout()
            .starts_with("-----BEGIN CERTIFICATE REQUEST-----")
    );
    let key = device.path().join("data/device/private.pem.key");
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    for says in [
        "made the private key",
        "iotpipe device add pi-attic --csr",
        "data/device/certificate.pem.crt",
        "topic = \"sensor/data/pi-attic\"",
    ] {
        assert!(first.stderr().contains(says), "{says}: {}", first.stderr());
    }
    let before = std::fs::read(&key).unwrap();
    let again = iotpipe(device.path())
        .env("IOTPIPE_DATA_DIR", device.path().join("data"))
        .args(["device", "csr", "--name", "pi-attic"])
        .run()
        .success();
    assert!(
        again.stderr().contains("kept the private key"),
        "{}",
        again.stderr()
    );
    assert_eq!(
        std::fs::read(&key).unwrap(),
        before,
        "the key is never replaced"
    );

    let bad = iotpipe(device.path())
        .args(["device", "csr", "--name", "pi attic"])
        .run()
        .expect_code(2);
    assert!(
        bad.stderr().contains("cannot be a thing name"),
        "{}",
        bad.stderr()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_add_list_remove_manage_the_fleet_in_iot_core() {
    let moto = moto();
    let iot = aws_sdk_iot::Client::new(&sdk(&moto).await);
    iot.create_policy()
        .policy_name(POLICY)
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    let operator = temp_dir();
    let attic = temp_dir();
    let request = csr(attic.path(), "pi-attic");
    let cli = || on_moto(operator.path(), &moto);
    let cert = operator.path().join("pi-attic.pem.crt");
    let add = || {
        cli()
            .args(["device", "add", "pi-attic", "--policy", POLICY, "--csr"])
            .args([&request])
            .args(["-o", "json"])
    };

    let added = add().run().success();
    let row = &serde_json::from_str::<serde_json::Value>(&added.stdout()).unwrap()[0];
    assert_eq!(row["thing"], "pi-attic");
    assert_eq!(row["status"], "ACTIVE");
    assert_eq!(row["attachment"], "exclusive");
    let id = row["certificate_id"].as_str().unwrap().to_string();
    assert!(
        added.stderr().contains("made thing pi-attic"),
        "{}",
        added.stderr()
    );
    // The certificate written is for the device's own key.
    let pem = std::fs::read_to_string(&cert).unwrap();
    assert_eq!(
        iotpipe::device::key::certificate_public_key(&pem),
        Some(
            iotpipe::device::key::request_public_key("", &std::fs::read(&request).unwrap())
                .unwrap()
        )
    );
    // As IoT has it: attached to the thing exclusively, the fleet policy on it.
    let attached = principals(&iot, "pi-attic").await;
    assert_eq!(attached.len(), 1);
    assert_eq!(attached[0].1, ThingPrincipalType::ExclusiveThing);
    let policies = iot
        .list_attached_policies()
        .target(&attached[0].0)
        .send()
        .await
        .unwrap();
    assert_eq!(
        policies
            .policies()
            .iter()
            .filter_map(|p| p.policy_name())
            .collect::<Vec<_>>(),
        [POLICY]
    );

    // Rerun: nothing new, the same certificate written again.
    std::fs::remove_file(&cert).unwrap();
    let rerun = add().run().success();
    assert!(
        rerun
            .stderr()
            .contains("kept thing pi-attic, its certificate"),
        "{}",
        rerun.stderr()
    );
    assert!(rerun.stdout().contains(&id), "{}", rerun.stdout());
    assert_eq!(std::fs::read_to_string(&cert).unwrap(), pem);
    let certificates = iot.list_certificates().send().await.unwrap();
    assert_eq!(
        certificates.certificates().len(),
        1,
        "no second certificate"
    );

    // Another device's key under a taken name is refused, and so is what is not a request.
    let impostor = temp_dir();
    let other = csr(impostor.path(), "pi-attic");
    let taken = cli()
        .args(["device", "add", "pi-attic", "--policy", POLICY, "--csr"])
        .args([&other])
        .run()
        .expect_code(2);
    for says in ["already has certificate", "device remove pi-attic"] {
        assert!(taken.stderr().contains(says), "{says}: {}", taken.stderr());
    }
    let not_a_request = cli()
        .args(["device", "add", "pi-den", "--policy", POLICY, "--csr"])
        .args([&cert])
        .run()
        .expect_code(2);
    assert!(
        not_a_request
            .stderr()
            .contains("is not a certificate signing request"),
        "{}",
        not_a_request.stderr()
    );
    let no_policy = cli()
        .args(["device", "add", "pi-den", "--policy", "no-such", "--csr"])
        .args([&other])
        .run()
        .expect_code(2);
    assert!(
        no_policy.stderr().contains("no IoT policy named no-such"),
        "{}",
        no_policy.stderr()
    );
    let unnamed = cli()
        .args(["device", "add", "pi-den", "--csr"])
        .args([&other])
        .run()
        .expect_code(2);
    assert!(
        unnamed.stderr().contains("aws.device_policy"),
        "{}",
        unnamed.stderr()
    );
    // Nothing was made for the refused requests.
    assert!(
        iot.describe_thing()
            .thing_name("pi-den")
            .send()
            .await
            .is_err()
    );

    // An identity without iot:CreateCertificateFromCsr is told which action to allow.
    http_post(
        moto.port,
        "/iotpipe-test/iot/deny",
        r#"{"operations": ["CreateCertificateFromCsr"]}"#,
    );
    let cellar = temp_dir();
    let cellar_request = csr(cellar.path(), "pi-cellar");
    let denied = cli()
        .env("IOTPIPE_AWS_DEVICE_POLICY", POLICY)
        .args(["device", "add", "pi-cellar", "--csr"])
        .args([&cellar_request])
        .run()
        .expect_code(1);
    for says in [
        "AWS refused iot:CreateCertificateFromCsr",
        "allow iot:CreateCertificateFromCsr",
    ] {
        assert!(
            denied.stderr().contains(says),
            "{says}: {}",
            denied.stderr()
        );
    }
    http_post(moto.port, "/iotpipe-test/iot/deny", r#"{"operations": []}"#);

    // The list: each thing, its certificate, and the newest reading the counter knows.
    let counter = iotpipe::counter::sqlite::SqliteCounter::open(
        &operator.path().join("data/counter.sqlite3"),
    )
    .unwrap();
    iotpipe::counter::merge_device_last_readings(
        &counter,
        [(
            "pi-attic".to_string(),
            "2026-12-05T08:00:00.000Z".to_string(),
        )]
        .into(),
    )
    .await
    .unwrap();
    let listed = cli().args(["device", "list", "-o", "json"]).run().success();
    let rows: serde_json::Value = serde_json::from_str(&listed.stdout()).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    let attic_row = rows.iter().find(|r| r["thing"] == "pi-attic").unwrap();
    assert_eq!(attic_row["certificate_id"], id.as_str());
    assert_eq!(attic_row["status"], "ACTIVE");
    assert_eq!(attic_row["attachment"], "exclusive");
    assert!(
        attic_row["expires"].as_str().is_some_and(|e| e.len() >= 20),
        "{attic_row}"
    );
    assert_eq!(attic_row["newest_reading"], "2026-12-05T08:00:00.000Z");
    // The refused add left its thing: a rerun finishes it.
    let cellar_row = rows.iter().find(|r| r["thing"] == "pi-cellar").unwrap();
    assert!(cellar_row["certificate_id"].is_null(), "{cellar_row}");

    // Remove: detached, deactivated, deleted; a rerun has nothing to do.
    let removed = cli()
        .args(["device", "remove", "pi-attic", "-o", "json"])
        .run()
        .success();
    let summary: serde_json::Value = serde_json::from_str(&removed.stdout()).unwrap();
    assert_eq!(summary["deleted_certificates"], serde_json::json!([id]));
    assert!(
        iot.describe_thing()
            .thing_name("pi-attic")
            .send()
            .await
            .is_err()
    );
    assert!(
        iot.describe_certificate()
            .certificate_id(&id)
            .send()
            .await
            .is_err()
    );
    let again = cli().args(["device", "remove", "pi-attic"]).run().success();
    assert!(
        again.stderr().contains("nothing to remove"),
        "{}",
        again.stderr()
    );
    // The name is free again for the same device.
    add().run().success();
}
