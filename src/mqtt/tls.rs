//! The broker's TLS files: how the client loads them, and what `doctor`
//! checks of them (readable PEM, a certificate and key that belong together,
//! a certificate within its validity), in one place.

use std::path::{Path, PathBuf};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::{IOT_ALPN, MqttError};

#[derive(Debug, Clone)]
pub struct Tls {
    pub cafile: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub alpn: bool,
}

impl Tls {
    pub(super) fn client_config(&self) -> Result<rustls::ClientConfig, MqttError> {
        let mut roots = rustls::RootCertStore::empty();
        match &self.cafile {
            Some(path) => {
                let certs = read_certs("CA file", path)?;
                for cert in certs {
                    roots.add(cert).map_err(|e| tls_file("CA file", path, e))?;
                }
            }
            None => {
                let found = rustls_native_certs::load_native_certs();
                for cert in found.certs {
                    let _ = roots.add(cert);
                }
                if roots.is_empty() {
                    return Err(MqttError::TlsSetup(
                        "no system CA certificates found; pass the broker's CA with --cafile"
                            .into(),
                    ));
                }
            }
        }
        let builder = rustls::ClientConfig::builder().with_root_certificates(roots);
        let mut config = match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => {
                let chain = read_certs("client certificate", cert)?;
                let key_der = PrivateKeyDer::from_pem_file(key)
                    .map_err(|e| tls_file("private key", key, e))?;
                builder.with_client_auth_cert(chain, key_der).map_err(|e| {
                    MqttError::TlsSetup(format!(
                        "the client certificate {} and key {} do not fit together: {e}",
                        cert.display(),
                        key.display()
                    ))
                })?
            }
            _ => builder.with_no_client_auth(),
        };
        if self.alpn {
            config.alpn_protocols = vec![IOT_ALPN.to_vec()];
        }
        Ok(config)
    }
}

pub fn read_certs(
    what: &'static str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, MqttError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| tls_file(what, path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls_file(what, path, e))?;
    if certs.is_empty() {
        return Err(tls_file(what, path, "no PEM certificate in it"));
    }
    Ok(certs)
}

fn tls_file(what: &'static str, path: &Path, reason: impl std::fmt::Display) -> MqttError {
    MqttError::TlsFile {
        what,
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

impl Tls {
    /// The client certificate's key, read from `key`.
    pub fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, MqttError> {
        PrivateKeyDer::from_pem_file(path).map_err(|e| tls_file("private key", path, e))
    }
}

/// Whether `key` is the private key of the first certificate of `chain`.
pub fn keys_match(
    chain: &[CertificateDer<'static>],
    key: PrivateKeyDer<'static>,
) -> Result<(), String> {
    let provider = rustls::ClientConfig::builder().crypto_provider().clone();
    let signing = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| e.to_string())?;
    rustls::sign::CertifiedKey::new(chain.to_vec(), signing)
        .keys_match()
        .map_err(|e| e.to_string())
}

/// When a certificate is valid, as Unix seconds and as text.
#[derive(Debug, Clone)]
pub struct Validity {
    pub not_before: i64,
    pub not_after: i64,
    pub not_before_text: String,
    pub not_after_text: String,
}

impl Validity {
    pub fn of(cert: &CertificateDer<'_>) -> Result<Validity, String> {
        let (_, cert) =
            x509_parser::parse_x509_certificate(cert.as_ref()).map_err(|e| e.to_string())?;
        let validity = cert.validity();
        Ok(Validity {
            not_before: validity.not_before.timestamp(),
            not_after: validity.not_after.timestamp(),
            not_before_text: validity.not_before.to_string(),
            not_after_text: validity.not_after.to_string(),
        })
    }
}
