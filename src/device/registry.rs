//! The fleet in AWS IoT Core's registry: `add` makes a thing, an ACTIVE
//! certificate from the device's request, and attaches the certificate to the
//! thing exclusively and to the fleet policy; `list` and `remove` read and
//! undo that. Every step is idempotent, so an interrupted command is rerun.

use aws_sdk_iot::Client;
use aws_sdk_iot::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_iot::types::{CertificateStatus, ThingPrincipalType};

use super::DeviceError;

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

/// The error code IoT answered with, if it answered.
fn code<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> Option<&str> {
    error.as_service_error().and_then(|e| e.code())
}

/// An IoT call's error as the user should read it: a refusal names the IAM
/// action to allow.
fn failed<E, R>(action: &'static str) -> impl FnOnce(SdkError<E, R>) -> DeviceError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    move |error| {
        let message = crate::aws::describe(&error);
        match code(&error) {
            // IAM's refusal (AccessDeniedException), and IoT's own word for a
            // caller without the permission (UnauthorizedException, HTTP 401).
            Some("AccessDeniedException" | "UnauthorizedException" | "AccessDenied") => {
                DeviceError::Denied { action, message }
            }
            _ => DeviceError::Call { action, message },
        }
    }
}

/// Whether an error is IoT's "no such thing/policy/certificate".
fn not_found<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> bool {
    code(error) == Some("ResourceNotFoundException")
}

pub struct Registry {
    client: Client,
}

impl Registry {
    pub fn new(sdk: &aws_config::SdkConfig) -> Registry {
        Registry {
            client: Client::new(sdk),
        }
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
        match self.client.get_policy().policy_name(policy).send().await {
            Ok(_) => {}
            Err(error) if not_found(&error) => return Err(DeviceError::NoPolicy(policy.into())),
            Err(error) => return Err(failed("iot:GetPolicy")(error)),
        }
        let created_thing = match self.client.describe_thing().thing_name(thing).send().await {
            Ok(_) => false,
            Err(error) if not_found(&error) => {
                self.client
                    .create_thing()
                    .thing_name(thing)
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
                    .client
                    .create_certificate_from_csr()
                    .certificate_signing_request(csr_pem)
                    .set_as_active(true)
                    .send()
                    .await
                    .map_err(failed("iot:CreateCertificateFromCsr"))?;
                let id = made.certificate_id().unwrap_or_default();
                self.certificate(id).await?
            }
        };
        if certificate.status != "ACTIVE" {
            // A rerun after `remove` stopped between deactivating and deleting.
            self.client
                .update_certificate()
                .certificate_id(&certificate.id)
                .new_status(CertificateStatus::Active)
                .send()
                .await
                .map_err(failed("iot:UpdateCertificate"))?;
            certificate.status = "ACTIVE".into();
        }
        // Exclusive: the thing is resolved from the certificate whatever the
        // client id, so `publish` (the thing name) and `doctor`/`tail`
        // (<thing>-…) all connect under the one fleet policy (IoT developer
        // guide, "Associating an AWS IoT thing to an MQTT client connection").
        self.client
            .attach_thing_principal()
            .thing_name(thing)
            .principal(&certificate.arn)
            .thing_principal_type(ThingPrincipalType::ExclusiveThing)
            .send()
            .await
            .map_err(failed("iot:AttachThingPrincipal"))?;
        certificate.attachment = Some("EXCLUSIVE_THING".into());
        self.client
            .attach_policy()
            .policy_name(policy)
            .target(&certificate.arn)
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
            .client
            .describe_certificate()
            .certificate_id(id)
            .send()
            .await
            .map_err(failed("iot:DescribeCertificate"))?;
        let description = described.certificate_description();
        let expires = description
            .and_then(|d| d.validity())
            .and_then(|v| v.not_after())
            .and_then(|t| {
                t.fmt(aws_sdk_iot::primitives::DateTimeFormat::DateTime)
                    .ok()
            });
        Ok(Certificate {
            id: id.to_string(),
            arn: description
                .and_then(|d| d.certificate_arn())
                .unwrap_or_default()
                .to_string(),
            status: description
                .and_then(|d| d.status())
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            expires,
            pem: description
                .and_then(|d| d.certificate_pem())
                .unwrap_or_default()
                .to_string(),
            attachment: None,
        })
    }

    /// The certificates attached to `thing` (other principals, such as
    /// Cognito identities, are not iotpipe's and are left out); None when
    /// there is no such thing.
    async fn certificates(&self, thing: &str) -> Result<Option<Vec<Certificate>>, DeviceError> {
        let listed = match self
            .client
            .list_thing_principals_v2()
            .thing_name(thing)
            .send()
            .await
        {
            Ok(listed) => listed,
            Err(error) if not_found(&error) => return Ok(None),
            Err(error) => return Err(failed("iot:ListThingPrincipals")(error)),
        };
        let mut certificates = Vec::new();
        for object in listed.thing_principal_objects() {
            let Some((_, id)) = object.principal().split_once(":cert/") else {
                continue;
            };
            let mut certificate = self.certificate(id).await?;
            certificate.arn = object.principal().to_string();
            certificate.attachment = object
                .thing_principal_type()
                .map(|t| t.as_str().to_string());
            certificates.push(certificate);
        }
        Ok(Some(certificates))
    }

    /// Every thing of the account, with its certificates.
    pub async fn list(&self) -> Result<Vec<Thing>, DeviceError> {
        let names: Vec<String> = self
            .client
            .list_things()
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(failed("iot:ListThings"))?
            .into_iter()
            .filter_map(|thing| thing.thing_name().map(str::to_string))
            .collect();
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
            self.client
                .detach_thing_principal()
                .thing_name(thing)
                .principal(&certificate.arn)
                .send()
                .await
                .map_err(failed("iot:DetachThingPrincipal"))?;
            let others = self
                .client
                .list_principal_things()
                .principal(&certificate.arn)
                .send()
                .await
                .map_err(failed("iot:ListPrincipalThings"))?;
            if others.things().iter().any(|other| other != thing) {
                removed.detached.push(certificate.id);
                continue;
            }
            self.retire(&certificate).await?;
            removed.deleted.push(certificate.id);
        }
        retrying_while_attached(|| async {
            self.client.delete_thing().thing_name(thing).send().await
        })
        .await
        .map_err(failed("iot:DeleteThing"))?;
        Ok(removed)
    }

    /// Detaches every policy from a certificate, deactivates and deletes it.
    async fn retire(&self, certificate: &Certificate) -> Result<(), DeviceError> {
        let policies = self
            .client
            .list_attached_policies()
            .target(&certificate.arn)
            .send()
            .await
            .map_err(failed("iot:ListAttachedPolicies"))?;
        for policy in policies.policies() {
            if let Some(name) = policy.policy_name() {
                self.client
                    .detach_policy()
                    .policy_name(name)
                    .target(&certificate.arn)
                    .send()
                    .await
                    .map_err(failed("iot:DetachPolicy"))?;
            }
        }
        self.client
            .update_certificate()
            .certificate_id(&certificate.id)
            .new_status(CertificateStatus::Inactive)
            .send()
            .await
            .map_err(failed("iot:UpdateCertificate"))?;
        retrying_while_attached(|| async {
            self.client
                .delete_certificate()
                .certificate_id(&certificate.id)
                .send()
                .await
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
async fn retrying_while_attached<T, E, R, F, Fut>(mut call: F) -> Result<T, SdkError<E, R>>
where
    E: ProvideErrorMetadata,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, SdkError<E, R>>>,
{
    let mut wait = std::time::Duration::from_millis(500);
    for _ in 0..6 {
        match call().await {
            Err(error)
                if matches!(
                    code(&error),
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
