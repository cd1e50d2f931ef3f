//! The fleet in AWS IoT Core's registry: `add` makes a thing, an ACTIVE
//! certificate from the device's request, and attaches the certificate to the
//! thing exclusively and to the fleet policy; `list` and `remove` read and
//! undo that. Every step is idempotent, so an interrupted command is rerun.
//! Each call is the request of the AWS IoT API reference's page of the same
//! name (REST-JSON), through [`crate::aws::rest`].

use hyper::Method;
use serde_json::{Value, json};

use super::DeviceError;
use crate::aws::rest::{self, CallError, Client, label};

/// A thing's certificate as the registry has it.
#[derive(Debug, Clone)]
pub struct Certificate {
    pub id: String,
    pub arn: String,
    pub status: String,
    /// RFC 3339; None when IoT gives no validity.
    pub expires: Option<String>,
    pub pem: String,
    /// `EXCLUSIVE_THING`, `NON_EXCLUSIVE_THING`, or None when IoT did not say.
    pub attachment: Option<String>,
}

/// One thing and the certificates attached to it.
#[derive(Debug)]
pub struct Thing {
    pub name: String,
    pub certificates: Vec<Certificate>,
}

/// What `add` did.
#[derive(Debug)]
pub struct Added {
    pub certificate: Certificate,
    pub created_thing: bool,
    pub created_certificate: bool,
}

/// What `remove` did.
#[derive(Debug, Default)]
pub struct Removed {
    pub existed: bool,
    /// Certificates deactivated and deleted.
    pub deleted: Vec<String>,
    /// Certificates only detached: other things still use them.
    pub detached: Vec<String>,
}

/// An IoT call's error as the user should read it: a refusal names the IAM
/// action to allow.
fn failed(action: &'static str) -> impl FnOnce(CallError) -> DeviceError {
    move |error| {
        let message = error.to_string();
        let hint = error.hint();
        match error.code() {
            // IAM's refusal (AccessDeniedException), and IoT's own word for a
            // caller without the permission (UnauthorizedException, HTTP 401).
            Some("AccessDeniedException" | "UnauthorizedException" | "AccessDenied") => {
                DeviceError::Denied { action, message }
            }
            _ => DeviceError::Call {
                action,
                message,
                hint,
            },
        }
    }
}

/// Whether an error is IoT's "no such thing/policy/certificate".
fn not_found(error: &CallError) -> bool {
    error.code() == Some("ResourceNotFoundException")
}

/// A string field of an answer, or "".
fn text(value: &Value, key: &str) -> String {
    value[key].as_str().unwrap_or_default().to_string()
}

pub struct Registry {
    client: Client,
}

impl Registry {
    pub fn new(sdk: &aws_config::SdkConfig) -> Registry {
        Registry {
            client: Client::new(sdk, &rest::IOT),
        }
    }

    fn call(&self, method: Method, path: String) -> rest::Call<'_> {
        self.client.call(method, path)
    }

    /// Registers the device `thing` whose request asks for `public_key`.
    pub async fn add(
        &self,
        thing: &str,
        csr_pem: &str,
        public_key: &[u8],
        policy: &str,
    ) -> Result<Added, DeviceError> {
        super::check_thing_name(thing)?;
        // Before anything is made: a mistyped policy must not leave a certificate behind.
        let policy_path = format!("/policies/{}", label(policy));
        match self.call(Method::GET, policy_path).send().await {
            Ok(_) => {}
            Err(error) if not_found(&error) => return Err(DeviceError::NoPolicy(policy.into())),
            Err(error) => return Err(failed("iot:GetPolicy")(error)),
        }
        let thing_path = format!("/things/{}", label(thing));
        let created_thing = match self.call(Method::GET, thing_path.clone()).send().await {
            Ok(_) => false,
            Err(error) if not_found(&error) => {
                self.call(Method::POST, thing_path)
                    .json(&json!({}))
                    .send()
                    .await
                    .map_err(failed("iot:CreateThing"))?;
                true
            }
            Err(error) => return Err(failed("iot:DescribeThing")(error)),
        };
        let mut mine = None;
        for certificate in self.certificates(thing).await?.unwrap_or_default() {
            let same_key = crate::device::key::certificate_public_key(&certificate.pem)
                .is_some_and(|key| key == public_key);
            if same_key && certificate.status != "REVOKED" {
                mine = Some(certificate);
            } else {
                return Err(DeviceError::OtherCertificate {
                    thing: thing.into(),
                    certificate: certificate.id,
                    status: certificate.status,
                });
            }
        }
        let created_certificate = mine.is_none();
        let mut certificate = match mine {
            Some(certificate) => certificate,
            None => {
                let made = self
                    .call(Method::POST, "/certificates".into())
                    .query("setAsActive", "true")
                    .json(&json!({"certificateSigningRequest": csr_pem}))
                    .send()
                    .await
                    .map_err(failed("iot:CreateCertificateFromCsr"))?;
                self.certificate(&text(&made, "certificateId")).await?
            }
        };
        if certificate.status != "ACTIVE" {
            // A rerun after `remove` stopped between deactivating and deleting.
            self.set_status(&certificate.id, "ACTIVE").await?;
            certificate.status = "ACTIVE".into();
        }
        // Exclusive: the thing is resolved from the certificate whatever the
        // client id, so `publish` (the thing name) and `doctor`/`tail`
        // (<thing>-…) all connect under the one fleet policy (IoT developer
        // guide, "Associating an AWS IoT thing to an MQTT client connection").
        self.call(Method::PUT, format!("/things/{}/principals", label(thing)))
            .query("thingPrincipalType", "EXCLUSIVE_THING")
            .header("x-amzn-principal", &certificate.arn)
            .send()
            .await
            .map_err(failed("iot:AttachThingPrincipal"))?;
        certificate.attachment = Some("EXCLUSIVE_THING".into());
        self.call(Method::PUT, format!("/target-policies/{}", label(policy)))
            .json(&json!({"target": certificate.arn}))
            .send()
            .await
            .map_err(failed("iot:AttachPolicy"))?;
        Ok(Added {
            certificate,
            created_thing,
            created_certificate,
        })
    }

    /// The certificate `id`, described.
    async fn certificate(&self, id: &str) -> Result<Certificate, DeviceError> {
        let described = self
            .call(Method::GET, format!("/certificates/{}", label(id)))
            .send()
            .await
            .map_err(failed("iot:DescribeCertificate"))?;
        let description = &described["certificateDescription"];
        // Timestamps in a REST-JSON body are epoch seconds.
        let expires = description["validity"]["notAfter"]
            .as_f64()
            .and_then(|seconds| time::OffsetDateTime::from_unix_timestamp(seconds as i64).ok())
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            });
        Ok(Certificate {
            id: id.to_string(),
            arn: text(description, "certificateArn"),
            status: text(description, "status"),
            expires,
            pem: text(description, "certificatePem"),
            attachment: None,
        })
    }

    /// UpdateCertificate: `ACTIVE` or `INACTIVE`.
    async fn set_status(&self, id: &str, status: &str) -> Result<(), DeviceError> {
        self.call(Method::PUT, format!("/certificates/{}", label(id)))
            .query("newStatus", status)
            .send()
            .await
            .map_err(failed("iot:UpdateCertificate"))?;
        Ok(())
    }

    /// The certificates attached to `thing` (other principals, such as
    /// Cognito identities, are not iotpipe's and are left out); None when
    /// there is no such thing.
    async fn certificates(&self, thing: &str) -> Result<Option<Vec<Certificate>>, DeviceError> {
        let path = format!("/things/{}/principals-v2", label(thing));
        let objects = match self
            .client
            .all_pages(&path, &rest::IOT_PAGING, "thingPrincipalObjects")
            .await
        {
            Ok(objects) => objects,
            Err(error) if not_found(&error) => return Ok(None),
            Err(error) => return Err(failed("iot:ListThingPrincipals")(error)),
        };
        let mut certificates = Vec::new();
        for object in objects {
            let principal = text(&object, "principal");
            let Some((_, id)) = principal.split_once(":cert/") else {
                continue;
            };
            let mut certificate = self.certificate(id).await?;
            certificate.attachment = object["thingPrincipalType"].as_str().map(str::to_string);
            certificate.arn = principal;
            certificates.push(certificate);
        }
        Ok(Some(certificates))
    }

    /// The names of every thing of the account (ListThings, page by page).
    async fn thing_names(&self) -> Result<Vec<String>, DeviceError> {
        let things = self
            .client
            .all_pages("/things", &rest::IOT_PAGING, "things")
            .await
            .map_err(failed("iot:ListThings"))?;
        Ok(things
            .iter()
            .filter_map(|t| t["thingName"].as_str().map(str::to_string))
            .collect())
    }

    /// Every thing of the account, with its certificates.
    pub async fn list(&self) -> Result<Vec<Thing>, DeviceError> {
        let names = self.thing_names().await?;
        let mut things = Vec::with_capacity(names.len());
        for name in names {
            // A thing deleted since the listing has none.
            let certificates = self.certificates(&name).await?.unwrap_or_default();
            things.push(Thing { name, certificates });
        }
        Ok(things)
    }

    /// Detaches, deactivates and deletes the certificates of `thing` that no
    /// other thing uses, then deletes the thing.
    pub async fn remove(&self, thing: &str) -> Result<Removed, DeviceError> {
        let Some(certificates) = self.certificates(thing).await? else {
            return Ok(Removed::default());
        };
        let mut removed = Removed {
            existed: true,
            ..Removed::default()
        };
        for certificate in certificates {
            self.call(
                Method::DELETE,
                format!("/things/{}/principals", label(thing)),
            )
            .header("x-amzn-principal", &certificate.arn)
            .send()
            .await
            .map_err(failed("iot:DetachThingPrincipal"))?;
            let others = self
                .call(Method::GET, "/principals/things".into())
                .header("x-amzn-principal", &certificate.arn)
                .send()
                .await
                .map_err(failed("iot:ListPrincipalThings"))?;
            let mut others = others["things"].as_array().into_iter().flatten();
            if others.any(|other| other.as_str() != Some(thing)) {
                removed.detached.push(certificate.id);
                continue;
            }
            self.retire(&certificate).await?;
            removed.deleted.push(certificate.id);
        }
        retrying_while_attached(|| {
            self.call(Method::DELETE, format!("/things/{}", label(thing)))
                .send()
        })
        .await
        .map_err(failed("iot:DeleteThing"))?;
        Ok(removed)
    }

    /// Detaches every policy from a certificate, deactivates and deletes it.
    async fn retire(&self, certificate: &Certificate) -> Result<(), DeviceError> {
        let policies = self
            .call(
                Method::POST,
                format!("/attached-policies/{}", label(&certificate.arn)),
            )
            .send()
            .await
            .map_err(failed("iot:ListAttachedPolicies"))?;
        for policy in policies["policies"].as_array().into_iter().flatten() {
            if let Some(name) = policy["policyName"].as_str() {
                self.call(Method::POST, format!("/target-policies/{}", label(name)))
                    .json(&json!({"target": certificate.arn}))
                    .send()
                    .await
                    .map_err(failed("iot:DetachPolicy"))?;
            }
        }
        self.set_status(&certificate.id, "INACTIVE").await?;
        retrying_while_attached(|| {
            self.call(
                Method::DELETE,
                format!("/certificates/{}", label(&certificate.id)),
            )
            .send()
        })
        .await
        .map_err(failed("iot:DeleteCertificate"))?;
        Ok(())
    }
}

/// Runs `call` until IoT stops saying the thing or certificate is still
/// attached: "DetachThingPrincipal … is asynchronous. It might take several
/// seconds for the detachment to propagate" (AWS IoT API reference,
/// DetachThingPrincipal), and a certificate with a thing attached cannot be
/// deleted (DeleteCertificate: DeleteConflictException).
async fn retrying_while_attached<F, Fut>(mut call: F) -> Result<Value, CallError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Value, CallError>>,
{
    let mut wait = std::time::Duration::from_millis(500);
    for _ in 0..6 {
        match call().await {
            Err(error)
                if matches!(
                    error.code(),
                    Some("DeleteConflictException" | "InvalidRequestException")
                ) =>
            {
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
            done => return done,
        }
    }
    call().await
}
