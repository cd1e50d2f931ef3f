//! The broker: its settings, the TLS files, and whether it answers.

use std::path::PathBuf;
use std::time::Duration;

use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::Report;
use crate::config::Config;
use crate::mqtt::connection::Probe;
use crate::mqtt::{ClientRole, ConnectFailure, Settings, Tls, Validity};

pub(super) async fn check(report: &mut Report, config: &Config, timeout: Duration) {
    let settings = match Settings::for_role(config, ClientRole::Doctor, false) {
        Ok(settings) => settings,
        Err(error) => return report.error("mqtt", "broker settings", &error),
    };
    // On IoT Core the policy decides which ids may connect: say which we use.
    let thing = crate::mqtt::base_client_id(&config.mqtt, &config.device_id)
        .unwrap_or(&config.device_id)
        .to_string();
    let client_id = settings.client_id.clone();
    if settings.iot_core {
        iot_core_ids(report, config, &thing, &client_id);
    }
    let tls_ok = match &settings.tls {
        None => {
            report.skip(
                "mqtt",
                "TLS files",
                "plain MQTT (no mqtt.tls, mqtt.cafile, mqtt.cert or mqtt.key)",
            );
            true
        }
        Some(tls) => tls_files(report, tls),
    };
    if !tls_ok {
        report.skip("mqtt", "broker reachable", "fix the TLS files first");
        return;
    }
    let endpoint = settings.endpoint();
    let outcome = match crate::mqtt::connection::probe(settings, timeout).await {
        Ok(outcome) => outcome,
        Err(error) => return report.error("mqtt", "broker reachable", &error),
    };
    match outcome {
        Probe::Connected => {
            report.ok(
                "mqtt",
                "broker reachable",
                format!("{endpoint} accepted the connection"),
            );
        }
        Probe::Refused { error, failure } => {
            let fix = match failure {
                ConnectFailure::Transient => "start the broker (sudo systemctl start mosquitto) \
                     or point mqtt.host/mqtt.port at one; for IoT Core the host is `aws iot \
                     describe-endpoint --endpoint-type iot:Data-ATS` and the port 8883 (443 with \
                     mqtt.alpn = true)"
                    .to_string(),
                ConnectFailure::Auth => format!(
                    "check mqtt.username/mqtt.password, or for IoT Core: `iotpipe device list` \
                     shows whether thing `{thing}` has an ACTIVE certificate attached \
                     exclusively; `iotpipe device add {thing}` attaches it and the fleet policy \
                     (this check connected as `{client_id}`; set device_id or mqtt.client_id to \
                     the thing name)"
                ),
                ConnectFailure::Tls => "mqtt.cafile must hold the CA that signed the broker's \
                     certificate (AmazonRootCA1.pem for IoT Core), and mqtt.host must match a \
                     name in it"
                    .into(),
            };
            report.fail(
                "mqtt",
                "broker reachable",
                format!("{endpoint}: {error}"),
                fix,
            );
        }
        Probe::NoAnswer => report.fail(
            "mqtt",
            "broker reachable",
            format!(
                "{endpoint}: no answer in {}",
                humantime::format_duration(timeout)
            ),
            "is a firewall dropping the port? check mqtt.host/mqtt.port; --timeout waits longer",
        ),
    }
}

/// Which client ids, topics and IAM actions IoT Core must allow, said before trying.
fn iot_core_ids(report: &mut Report, config: &Config, thing: &str, client_id: &str) {
    report.ok(
        "mqtt",
        "IoT Core client ids",
        format!(
            "publish connects as `{thing}` (the thing name), this check as `{client_id}`, \
             tail as `{thing}-tail-…`: the fleet policy (examples/aws/iotpipe.yaml, \
             DevicePolicy) allows client/${{iot:Connection.Thing.ThingName}} and …-* to a \
             certificate attached exclusively to thing {thing} (`iotpipe device add` attaches it so)"
        ),
    );
    let topic = &config.mqtt.topic;
    // The fleet policy lets a device publish on <prefix>/<its thing> only.
    if topic.rsplit('/').next() == Some(thing) {
        report.ok(
            "mqtt",
            "IoT Core topic",
            format!("{topic}: the device's own topic, which the fleet policy allows it alone"),
        );
    } else {
        report.fail(
            "mqtt",
            "IoT Core topic",
            format!("{topic} does not end in /{thing}: the fleet policy refuses it"),
            format!(
                "set mqtt.topic = \"{topic}/{thing}\" (the stack's Topic, then the thing name)"
            ),
        );
    }
    report.ok(
        "mqtt",
        "IoT Core with --sigv4",
        format!(
            "`tail mqtt --sigv4` and `publish --sigv4` connect over WebSockets with your AWS \
             credentials instead of a certificate: that IAM identity needs iot:Connect on \
             arn:aws:iot:REGION:ACCOUNT:client/{thing} and client/{thing}-*, iot:Subscribe on \
             topicfilter/{topic} and iot:Receive on topic/{topic} (tail), iot:Publish on \
             topic/{topic} (publish)"
        ),
    );
}

/// A TLS file read.
enum Loaded {
    Certs(Vec<CertificateDer<'static>>),
    Key(PrivateKeyDer<'static>),
}

/// Files readable and parseable, certificate and key a pair, certificate in its validity.
fn tls_files(report: &mut Report, tls: &Tls) -> bool {
    let mut all_ok = true;
    let mut read = Vec::new();
    // Reads one file if it is configured; a failure is reported with its fix.
    let mut load = |what: &'static str, path: &Option<PathBuf>, report: &mut Report| {
        let path = path.as_ref()?;
        let loaded = match what {
            "private key" => Tls::read_key(path).map(Loaded::Key),
            _ => crate::mqtt::read_certs(what, path).map(Loaded::Certs),
        };
        match loaded {
            Ok(loaded) => {
                read.push(format!("{what} {}", path.display()));
                Some(loaded)
            }
            Err(error) => {
                all_ok = false;
                let fix = format!(
                    "check that {} exists and that this user can read it (ls -l {0}); for IoT \
                     Core, the {what} comes with the thing's certificate",
                    path.display()
                );
                report.fail("mqtt", "TLS files", error.to_string(), fix);
                None
            }
        }
    };
    load("CA file", &tls.cafile, report);
    let chain = match load("certificate", &tls.cert, report) {
        Some(Loaded::Certs(chain)) => Some(chain),
        _ => None,
    };
    let key = match load("private key", &tls.key, report) {
        Some(Loaded::Key(key)) => Some(key),
        _ => None,
    };
    if all_ok {
        report.ok(
            "mqtt",
            "TLS files",
            format!("readable: {}", read.join(", ")),
        );
    }
    let (Some(chain), Some(key)) = (chain, key) else {
        if tls.cert.is_none() && tls.key.is_none() {
            report.skip(
                "mqtt",
                "certificate and key match",
                "no client certificate (mqtt.cert, mqtt.key)",
            );
            report.skip("mqtt", "certificate not expired", "no client certificate");
        }
        return all_ok;
    };
    match crate::mqtt::keys_match(&chain, key) {
        Ok(()) => report.ok(
            "mqtt",
            "certificate and key match",
            "the key is the certificate's",
        ),
        Err(reason) => {
            all_ok = false;
            report.fail(
                "mqtt",
                "certificate and key match",
                format!("they are not a pair: {reason}"),
                "mqtt.key must be the private key the certificate was issued for: download both \
                 from the same IoT certificate (or `aws iot create-keys-and-certificate`)",
            );
        }
    }
    all_ok &= validity(report, Validity::of(&chain[0]));
    all_ok
}

fn validity(report: &mut Report, validity: Result<Validity, String>) -> bool {
    const CHECK: &str = "certificate not expired";
    let validity = match validity {
        Ok(validity) => validity,
        Err(e) => {
            report.fail(
                "mqtt",
                CHECK,
                format!("cannot read its validity: {e}"),
                "mqtt.cert must be an X.509 certificate in PEM",
            );
            return false;
        }
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    if now > validity.not_after {
        report.fail(
            "mqtt",
            CHECK,
            format!("expired on {}", validity.not_after_text),
            "issue a new certificate for the thing (IoT Core: `aws iot \
             create-keys-and-certificate --set-as-active`, attach the policy and the \
             thing), then point mqtt.cert and mqtt.key at it",
        );
        false
    } else if now < validity.not_before {
        report.fail(
            "mqtt",
            CHECK,
            format!("not valid before {}", validity.not_before_text),
            "check the device clock (timedatectl), then the certificate",
        );
        false
    } else {
        let days = (validity.not_after - now) / 86_400;
        report.ok(
            "mqtt",
            CHECK,
            format!("valid until {} ({days} days)", validity.not_after_text),
        );
        true
    }
}
