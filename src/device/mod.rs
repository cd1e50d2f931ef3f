//! A device's identity on AWS IoT Core. On the Pi, [`key`] makes its private
//! key (which never leaves it) and a certificate signing request; on the
//! operator's machine, `registry` turns the request into an ACTIVE
//! certificate attached, exclusively, to a thing of that name and to the
//! fleet's one device policy, and lists and removes things.

pub mod key;
#[cfg(feature = "pipeline")]
pub mod registry;

use crate::error::{Diagnose, Exit};

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} holds no private key iotpipe can use: {reason}")]
    BadKey {
        path: std::path::PathBuf,
        reason: String,
    },
    #[error("{what} is not a certificate signing request: {reason}")]
    NotCsr { what: String, reason: String },
    #[error("making the signing request: {0}")]
    Signing(String),
    #[error("AWS refused {action}: {message}")]
    Denied {
        action: &'static str,
        message: String,
    },
    #[error("{action}: {message}")]
    Call {
        action: &'static str,
        message: String,
        /// What to do, when the failure says it (a refused signature or certificate).
        hint: Option<&'static str>,
    },
    #[error("no IoT policy named {0}")]
    NoPolicy(String),
    #[error(
        "thing {thing} already has certificate {certificate} ({status}), made from another key"
    )]
    OtherCertificate {
        thing: String,
        certificate: String,
        status: String,
    },
    #[error("{0:?} cannot be a thing name: {1}")]
    BadName(String, &'static str),
}

impl Diagnose for DeviceError {
    fn exit(&self) -> Exit {
        match self {
            DeviceError::NotCsr { .. }
            | DeviceError::NoPolicy(_)
            | DeviceError::OtherCertificate { .. }
            | DeviceError::BadName(..)
            | DeviceError::BadKey { .. } => Exit::Usage,
            _ => Exit::Failure,
        }
    }

    fn hint(&self) -> Option<String> {
        Some(match self {
            DeviceError::Io { .. } => {
                "check the path and its permissions (the key lives under data_dir)".into()
            }
            DeviceError::BadKey { path, .. } => format!(
                "move {} away and run `iotpipe device csr` again for a new key \
                 (a certificate made for the old key then needs `iotpipe device add` again)",
                path.display()
            ),
            DeviceError::NotCsr { .. } => {
                "make the request on the device with `iotpipe device csr \
                 > NAME.csr.pem` and pass that file to --csr"
                    .into()
            }
            DeviceError::Signing(_) => "report this: the key could not sign a request".into(),
            DeviceError::Denied { action, .. } => format!(
                "allow {action} to this AWS identity (docs/aws.md lists what `iotpipe device` \
                 needs), or run it with a profile that has it (--profile)"
            ),
            DeviceError::Call {
                hint: Some(hint), ..
            } => (*hint).into(),
            DeviceError::Call { .. } => {
                "check the region (--region) and your credentials; rerun: every step is idempotent"
                    .into()
            }
            DeviceError::NoPolicy(_) => {
                "name the fleet policy with --policy or aws.device_policy: \
                 the stack's DevicePolicy output (`aws cloudformation describe-stacks`)"
                    .into()
            }
            DeviceError::OtherCertificate { thing, .. } => format!(
                "`iotpipe device remove {thing}` first if that device is gone, or add this one \
                 under another name"
            ),
            DeviceError::BadName(..) => {
                "thing names are 1 to 128 of a-z A-Z 0-9 : _ - (IoT's rule)".into()
            }
        })
    }
}

/// A thing name as IoT's CreateThing accepts it (`[a-zA-Z0-9:_-]+`, at most
/// 128 characters: AWS IoT API reference, CreateThing, thingName).
pub fn check_thing_name(name: &str) -> Result<(), DeviceError> {
    if name.is_empty() || name.len() > 128 {
        return Err(DeviceError::BadName(name.into(), "1 to 128 characters"));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '-'))
    {
        return Err(DeviceError::BadName(
            name.into(),
            "only letters, digits, ':', '_' and '-'",
        ));
    }
    Ok(())
}
