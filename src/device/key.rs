//! The device's private key and its certificate signing request, made on the
//! device. The key is written once, readable by its owner only, and reused:
//! asking for a request again never invalidates a certificate already issued.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};
use rustls_pki_types::CertificateSigningRequestDer;
use rustls_pki_types::pem::PemObject as _;
use x509_parser::prelude::FromDer as _;

use super::DeviceError;

/// Where the device keeps its identity, under `data_dir`.
pub fn dir(data_dir: &Path) -> PathBuf {
    data_dir.join("device")
}

/// The private key (PKCS#8 PEM), `mqtt.key`.
pub fn key_path(data_dir: &Path) -> PathBuf {
    dir(data_dir).join("private.pem.key")
}

/// Where `device add`'s certificate goes on the device, `mqtt.cert`.
pub fn certificate_path(data_dir: &Path) -> PathBuf {
    dir(data_dir).join("certificate.pem.crt")
}

/// The key at `path`, made (ECDSA P-256, as IoT Core's own CreateKeysAndCertificate
/// issues) when there is none; `true` when it was just made.
pub fn load_or_create(path: &Path) -> Result<(KeyPair, bool), DeviceError> {
    let io = |source| DeviceError::Io {
        path: path.to_path_buf(),
        source,
    };
    match std::fs::read_to_string(path) {
        Ok(pem) => {
            let key = KeyPair::from_pem(&pem).map_err(|e| DeviceError::BadKey {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
            Ok((key, false))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let key = KeyPair::generate().map_err(|e| DeviceError::Signing(e.to_string()))?;
            if let Some(parent) = path.parent() {
                create_private_dir(parent).map_err(io)?;
            }
            write_private(path, key.serialize_pem().as_bytes()).map_err(io)?;
            Ok((key, true))
        }
        Err(error) => Err(io(error)),
    }
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Writes a new file only its owner may read, whole or not at all.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let partial = path.with_extension("partial");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&partial)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&partial, path)
}

/// A PEM certificate signing request for `thing` (its common name), signed by `key`.
pub fn request(key: &KeyPair, thing: &str) -> Result<String, DeviceError> {
    let mut params = CertificateParams::new(Vec::<String>::new())
        .map_err(|e| DeviceError::Signing(e.to_string()))?;
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, thing);
    params.distinguished_name = name;
    params
        .serialize_request(key)
        .and_then(|csr| csr.pem())
        .map_err(|e| DeviceError::Signing(e.to_string()))
}

/// The public key (DER SubjectPublicKeyInfo) a PEM request asks a certificate
/// for; an error naming what is wrong when `pem` is not a request.
pub fn request_public_key(what: &str, pem: &[u8]) -> Result<Vec<u8>, DeviceError> {
    let not = |reason: String| DeviceError::NotCsr {
        what: what.to_string(),
        reason,
    };
    let der = CertificateSigningRequestDer::from_pem_slice(pem).map_err(|e| {
        not(format!(
            "no PEM block \"CERTIFICATE REQUEST\" ({e}); a certificate or a key is not one"
        ))
    })?;
    let (_, request) =
        x509_parser::certification_request::X509CertificationRequest::from_der(der.as_ref())
            .map_err(|e| not(format!("the PEM block does not decode: {e}")))?;
    Ok(request.certification_request_info.subject_pki.raw.to_vec())
}

/// The public key of a PEM certificate; None when it does not decode.
pub fn certificate_public_key(pem: &str) -> Option<Vec<u8>> {
    let der = rustls_pki_types::CertificateDer::from_pem_slice(pem.as_bytes()).ok()?;
    let (_, certificate) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
    Some(certificate.tbs_certificate.subject_pki.raw.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::PublicKeyData as _;

    #[test]
    fn a_key_is_made_once_and_its_requests_name_the_thing() {
        let dir = tempfile::tempdir().unwrap();
        let path = key_path(dir.path());
        let (key, made) = load_or_create(&path).unwrap();
        assert!(made);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{mode:o}");
            let mode = std::fs::metadata(path.parent().unwrap())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o700, "{mode:o}");
        }
        let (again, made) = load_or_create(&path).unwrap();
        assert!(!made);
        assert_eq!(key.public_key_pem(), again.public_key_pem());

        let csr = request(&key, "pi-attic").unwrap();
        let public = request_public_key("the request", csr.as_bytes()).unwrap();
        assert_eq!(public, key.subject_public_key_info());
        let der = CertificateSigningRequestDer::from_pem_slice(csr.as_bytes()).unwrap();
        let (_, parsed) =
            x509_parser::certification_request::X509CertificationRequest::from_der(der.as_ref())
                .unwrap();
        assert_eq!(
            parsed.certification_request_info.subject.to_string(),
            "CN=pi-attic"
        );
    }

    #[test]
    fn what_is_not_a_request_is_named() {
        let key = KeyPair::generate().unwrap();
        for (text, says) in [
            (key.serialize_pem(), "no PEM block"),
            ("hello".to_string(), "no PEM block"),
            (
                "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"
                    .to_string(),
                "does not decode",
            ),
        ] {
            let error = request_public_key("x.pem", text.as_bytes()).unwrap_err();
            assert!(error.to_string().contains(says), "{error}");
        }
    }

    #[test]
    fn a_damaged_key_is_refused_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = key_path(dir.path());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "not a key").unwrap();
        assert!(matches!(
            load_or_create(&path),
            Err(DeviceError::BadKey { .. })
        ));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "not a key");
    }
}
