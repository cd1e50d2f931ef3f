//! MQTT over WebSockets to AWS IoT Core, signed with SigV4 from the usual
//! credential chain (profile, SSO, environment): no device certificate.
//!
//! Following the AWS IoT Core developer guide, "MQTT over the WebSocket
//! protocol" / "Signing AWS IoT Core WebSocket connections": a GET of
//! `wss://<endpoint>/mqtt` presigned in its query for the service
//! `iotdevicegateway`, the payload hash that of the empty string, and a
//! session token appended to the query after signing, not signed. Signed
//! anew at every connection, so rotating credentials keep working.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{
    SessionTokenMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};

/// IoT Core's name in SigV4 credential scopes.
pub const SERVICE: &str = "iotdevicegateway";

/// How long a signed URL may be used to connect; it is signed anew each time.
const VALID_FOR: Duration = Duration::from_secs(300);

/// Where to sign connections: the region, and the credentials to sign with.
#[derive(Debug, Clone)]
pub struct SigV4 {
    pub region: String,
    pub credentials: SharedCredentialsProvider,
}

impl SigV4 {
    /// From the AWS settings: the profile, SSO, environment, instance role.
    pub async fn from_config(aws: &crate::config::AwsConfig) -> Result<SigV4, String> {
        let sdk = super::sdk_config(aws).await;
        let region = sdk.region().map(ToString::to_string).ok_or(
            "no AWS region: set aws.region, AWS_REGION or --region (the IoT endpoint's region)",
        )?;
        let credentials = sdk
            .credentials_provider()
            .ok_or("no AWS credentials provider")?;
        Ok(SigV4 {
            region,
            credentials,
        })
    }

    /// `wss://host[:port]/mqtt?...` signed now with the current credentials.
    pub async fn url(&self, host: &str, port: u16) -> Result<String, String> {
        let credentials = self
            .credentials
            .provide_credentials()
            .await
            .map_err(|e| format!("no AWS credentials to sign the WebSocket connection: {e}"))?;
        let authority = if port == 443 {
            host.to_string()
        } else {
            format!("{host}:{port}")
        };
        presign(
            &authority,
            "/mqtt",
            &self.region,
            SERVICE,
            &credentials,
            SystemTime::now(),
            VALID_FOR,
        )
        .map(|query| format!("wss://{authority}/mqtt?{query}"))
    }
}

/// The query string that presigns a GET of `https://authority/path` for
/// `service`, valid for `valid_for`: what SigV4's query-parameter signing
/// adds, the session token last.
fn presign(
    authority: &str,
    path: &str,
    region: &str,
    service: &str,
    credentials: &Credentials,
    at: SystemTime,
    valid_for: Duration,
) -> Result<String, String> {
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(valid_for);
    settings.session_token_mode = SessionTokenMode::Exclude;
    let identity = credentials.clone().into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(at)
        .settings(settings)
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let url = format!("https://{authority}{path}");
    let request = SignableRequest::new(
        "GET",
        url,
        std::iter::once(("host", authority)),
        SignableBody::Bytes(&[]),
    )
    .map_err(|e| e.to_string())?;
    let (instructions, _) = sign(request, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    let (_, query) = instructions.into_parts();
    Ok(query
        .iter()
        .map(|(name, value)| format!("{name}={}", super::rest::encode(value)))
        .collect::<Vec<_>>()
        .join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's SigV4 signing test suite (aws-c-auth, as aws-sigv4 ships it),
    /// case `get-vanilla`, query signing: `GET /` on example.amazonaws.com.
    fn vanilla(token: Option<&str>) -> String {
        let credentials = Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            token.map(str::to_string),
            None,
            "test",
        );
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_440_938_160); // 2015-08-30T12:36:00Z
        presign(
            "example.amazonaws.com",
            "/",
            "us-east-1",
            "service",
            &credentials,
            at,
            Duration::from_secs(3600),
        )
        .unwrap()
    }

    #[test]
    fn the_query_is_the_signing_test_suites() {
        let query = vanilla(None);
        for part in [
            "X-Amz-Algorithm=AWS4-HMAC-SHA256",
            "X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request",
            "X-Amz-Date=20150830T123600Z",
            "X-Amz-Expires=3600",
            "X-Amz-SignedHeaders=host",
            "X-Amz-Signature=e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d",
        ] {
            assert!(query.split('&').any(|p| p == part), "{part} in {query}");
        }
    }

    #[test]
    fn a_session_token_is_appended_unsigned_as_iot_core_wants() {
        let without = vanilla(None);
        let with = vanilla(Some("token/with+special=chars"));
        assert_eq!(
            with,
            format!("{without}&X-Amz-Security-Token=token%2Fwith%2Bspecial%3Dchars"),
            "the same signature, the token after it"
        );
    }
}
