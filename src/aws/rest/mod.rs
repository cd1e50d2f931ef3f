//! Signed JSON calls to the AWS services whose generated clients cost more to
//! build than iotpipe uses of them: IoT's registry and rules (a dozen calls),
//! QuickSight's ingestions and schedules (eight), CloudWatch Logs (one). Their
//! SDK crates were a fifth of a cold release build (QuickSight alone is
//! ~490,000 generated lines); these calls are a few hundred.
//!
//! Each request is the one the service's API reference describes (the method,
//! path, query, headers and JSON body the generated client would send),
//! signed with SigV4 (`aws-sigv4`) from the SDK's own credential chain, sent
//! over the same rustls-on-ring HTTPS as every other call, and retried as the
//! SDK's standard retry strategy does. The endpoint comes from the same
//! places, in the same order, as a generated client's: set in code
//! (`--endpoint-url`), `AWS_ENDPOINT_URL_<SERVICE>` or the profile's
//! `services` section, `AWS_ENDPOINT_URL` or the profile's `endpoint_url`,
//! else the service's regional endpoint.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

mod endpoint;

/// An AWS service as endpoints and signatures name it.
#[derive(Debug)]
pub struct Service {
    /// The SDK's service id: `AWS_ENDPOINT_URL_<ID>`, the profile's `services` key.
    pub id: &'static str,
    /// The regional endpoint's first label, `<prefix>.<region>.amazonaws.com`.
    pub prefix: &'static str,
    /// The name in the SigV4 credential scope.
    pub signing_name: &'static str,
}

pub const IOT: Service = Service {
    id: "IoT",
    prefix: "iot",
    signing_name: "iot",
};

pub const QUICKSIGHT: Service = Service {
    id: "QuickSight",
    prefix: "quicksight",
    signing_name: "quicksight",
};

pub const LOGS: Service = Service {
    id: "CloudWatch Logs",
    prefix: "logs",
    signing_name: "logs",
};

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The service answered with an error.
    #[error("{code}: {message}")]
    Service {
        status: u16,
        code: String,
        message: String,
    },
    /// No answer: credentials that could not be had, the connection, a timeout.
    #[error("{0}")]
    Dispatch(String),
    /// Not sent: the settings name no endpoint, region or credentials for it.
    #[error("{0}")]
    Endpoint(String),
    /// The endpoint's certificate failed verification: not retried.
    #[error("{0}")]
    Certificate(String),
}

/// What to do about a refused signature, the same for every service: the key
/// pair or the clock (AWS General Reference, "Troubleshoot Signature Version 4
/// errors": a signature is refused for a wrong secret, and a request more than
/// 5 minutes off the service's clock).
pub const SIGNATURE_HINT: &str = "the secret access key does not belong to the access key id \
     (check --profile, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or this machine's clock is \
     more than 5 minutes off (check timedatectl)";

impl CallError {
    /// What to do, where the failure says it whichever the service: a refused
    /// signature, an endpoint certificate that is not trusted.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            CallError::Service { code, .. }
                if matches!(
                    code.as_str(),
                    "InvalidSignatureException" | "SignatureDoesNotMatch" | "RequestExpired"
                ) =>
            {
                Some(SIGNATURE_HINT)
            }
            CallError::Certificate(_) => Some(CERTIFICATE_HINT),
            _ => None,
        }
    }

    /// The service's error code (`ResourceNotFoundException`), if it answered.
    pub fn code(&self) -> Option<&str> {
        match self {
            CallError::Service { code, .. } => Some(code),
            CallError::Dispatch(_) | CallError::Endpoint(_) | CallError::Certificate(_) => None,
        }
    }
}

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

/// One service's endpoint, region and credentials.
#[derive(Clone)]
pub struct Client {
    service: &'static Service,
    /// Err: FIPS or dual-stack asked for where there is no such endpoint.
    endpoint: Result<String, String>,
    region: String,
    credentials: Option<SharedCredentialsProvider>,
    http: HttpClient<Https, Full<Bytes>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("service", &self.service.id)
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

/// How many times a call is tried, as the SDK clients are configured (`aws::sdk_config`).
const ATTEMPTS: u32 = 5;

/// How long one attempt may take, connection included.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(60);

impl Client {
    pub fn new(sdk: &SdkConfig, service: &'static Service) -> Client {
        let region = sdk.region().map(ToString::to_string).unwrap_or_default();
        Client {
            service,
            endpoint: endpoint::resolve(sdk, service, &region),
            region,
            credentials: sdk.credentials_provider(),
            http: HttpClient::builder(TokioExecutor::new()).build(https_connector()),
        }
    }

    /// A request of `method` to `path` (already label-encoded, see [`label`]).
    pub fn call(&self, method: Method, path: impl Into<String>) -> Call<'_> {
        Call {
            client: self,
            method,
            path: path.into(),
            query: Vec::new(),
            headers: Vec::new(),
            body: None,
            attempts: ATTEMPTS,
        }
    }
}

/// How a service pages its lists: the query parameter that asks for the
/// next page, and the answer's field that names it.
pub struct Paging {
    pub query: &'static str,
    pub field: &'static str,
}

/// IoT's lists: `?nextToken=` and `nextToken`.
pub const IOT_PAGING: Paging = Paging {
    query: "nextToken",
    field: "nextToken",
};

/// QuickSight's lists: `?next-token=` and `NextToken`.
pub const QUICKSIGHT_PAGING: Paging = Paging {
    query: "next-token",
    field: "NextToken",
};

impl Client {
    /// Every item under `items` of every page of the list `GET path`.
    pub async fn all_pages(
        &self,
        path: &str,
        paging: &Paging,
        items: &str,
    ) -> Result<Vec<serde_json::Value>, CallError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut call = self.call(Method::GET, path);
            if let Some(token) = &token {
                call = call.query(paging.query, token);
            }
            let mut page = call.send().await?;
            if let serde_json::Value::Array(found) = page[items].take() {
                out.extend(found);
            }
            token = page[paging.field].as_str().map(str::to_string);
            if token.is_none() {
                return Ok(out);
            }
        }
    }
}

/// One request being built; [`Call::send`] signs, sends and retries it.
pub struct Call<'a> {
    client: &'a Client,
    method: Method,
    path: String,
    query: Vec<(&'static str, String)>,
    headers: Vec<(&'static str, String)>,
    body: Option<(&'static str, Vec<u8>)>,
    attempts: u32,
}

impl Call<'_> {
    pub fn query(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.query.push((name, value.into()));
        self
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// A REST-JSON body (`application/json`).
    pub fn json(mut self, body: &serde_json::Value) -> Self {
        self.body = Some(("application/json", body.to_string().into_bytes()));
        self
    }

    /// An AWS JSON 1.1 call: `POST /` with the operation in `X-Amz-Target`.
    pub fn target(mut self, target: &'static str, body: &serde_json::Value) -> Self {
        self.headers.push(("x-amz-target", target.to_string()));
        self.body = Some(("application/x-amz-json-1.1", body.to_string().into_bytes()));
        self
    }

    /// At most `attempts` tries (1: not retried).
    pub fn attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts.max(1);
        self
    }

    /// The answer's JSON body (`null` when empty).
    pub async fn send(self) -> Result<serde_json::Value, CallError> {
        let client = self.client;
        let endpoint = client.endpoint.clone().map_err(CallError::Endpoint)?;
        if client.region.is_empty() {
            return Err(CallError::Endpoint(
                "no AWS region: set aws.region, AWS_REGION or --region".into(),
            ));
        }
        let provider = client
            .credentials
            .as_ref()
            .ok_or_else(|| CallError::Endpoint("no AWS credentials provider".into()))?;
        let mut backoff = Duration::from_millis(500);
        let mut attempt = 1;
        loop {
            let attempt_once = self.attempt(&endpoint, provider);
            let result = match tokio::time::timeout(ATTEMPT_TIMEOUT, attempt_once).await {
                Ok(result) => result,
                Err(_) => Err(CallError::Dispatch(format!(
                    "no answer from {endpoint} within {}s",
                    ATTEMPT_TIMEOUT.as_secs()
                ))),
            };
            match result {
                Err(error) if attempt < self.attempts && retryable(&error) => {
                    // Full jitter, as the SDK's standard retry strategy.
                    let wait = backoff.mul_f64(fastrand::f64());
                    tokio::time::sleep(wait).await;
                    backoff = (backoff * 2).min(Duration::from_secs(20));
                    attempt += 1;
                }
                done => return done,
            }
        }
    }

    async fn attempt(
        &self,
        endpoint: &str,
        provider: &SharedCredentialsProvider,
    ) -> Result<serde_json::Value, CallError> {
        let client = self.client;
        let mut uri = format!("{endpoint}{}", self.path);
        if !self.query.is_empty() {
            let query: Vec<String> = self
                .query
                .iter()
                .map(|(name, value)| format!("{name}={}", encode(value)))
                .collect();
            uri = format!("{uri}?{}", query.join("&"));
        }
        let (content_type, body) = match &self.body {
            Some((content_type, body)) => (Some(*content_type), body.clone()),
            None => (None, Vec::new()),
        };
        let mut request = Request::builder()
            .method(self.method.clone())
            .uri(&uri)
            // Not signed (SigV4 leaves user-agent out): only for the service's logs.
            .header("user-agent", concat!("iotpipe/", env!("CARGO_PKG_VERSION")));
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        for (name, value) in &self.headers {
            request = request.header(*name, value);
        }
        let mut request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| CallError::Dispatch(format!("cannot build a request to {uri}: {e}")))?;
        self.sign(&mut request, provider).await?;
        let response = client.http.request(request).await.map_err(|e| {
            let service = client.service.id;
            let cause = crate::aws::describe(&e);
            if certificate_refused(&e) {
                CallError::Certificate(format!(
                    "cannot reach {service} at {endpoint}: its certificate is not trusted: {cause}"
                ))
            } else {
                CallError::Dispatch(format!("cannot reach {service} at {endpoint}: {cause}"))
            }
        })?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| CallError::Dispatch(format!("the answer broke off: {e}")))?
            .to_bytes();
        let json: serde_json::Value = if bytes.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                serde_json::Value::String(String::from_utf8_lossy(&bytes).into_owned())
            })
        };
        if status.is_success() {
            return Ok(json);
        }
        let header_code = headers
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok());
        Err(service_error(status.as_u16(), header_code, &json))
    }

    async fn sign(
        &self,
        request: &mut Request<Full<Bytes>>,
        provider: &SharedCredentialsProvider,
    ) -> Result<(), CallError> {
        let client = self.client;
        let credentials = provider.provide_credentials().await.map_err(|e| {
            CallError::Dispatch(format!("no AWS credentials: {}", crate::aws::describe(&e)))
        })?;
        let identity = credentials.into();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(&client.region)
            .name(client.service.signing_name)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| CallError::Dispatch(format!("cannot sign: {e}")))?
            .into();
        let body = self.body.as_ref().map_or(&[][..], |(_, body)| body);
        let headers = request
            .headers()
            .iter()
            .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)));
        let host = request.uri().authority().map(|a| a.to_string());
        let signable = SignableRequest::new(
            request.method().as_str(),
            request.uri().to_string(),
            headers.chain(host.as_deref().map(|h| ("host", h))),
            SignableBody::Bytes(body),
        )
        .map_err(|e| CallError::Dispatch(format!("cannot sign: {e}")))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| CallError::Dispatch(format!("cannot sign: {e}")))?
            .into_parts();
        instructions.apply_to_request_http1x(request);
        Ok(())
    }
}

/// Whether a connection failed because TLS refused the server's certificate
/// (unknown issuer, wrong name, expired): a retry meets the same certificate.
fn certificate_refused(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(mut cause) = next {
        // The connector wraps rustls' error in an io::Error, maybe twice,
        // and an io::Error's `source` skips what it wraps.
        while let Some(inner) = cause
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            cause = inner;
        }
        if let Some(rustls::Error::InvalidCertificate(_)) = cause.downcast_ref::<rustls::Error>() {
            return true;
        }
        next = cause.source();
    }
    false
}

/// What to do about an endpoint whose certificate is not trusted.
pub const CERTIFICATE_HINT: &str = "the endpoint's certificate is not signed by a CA this \
     system trusts, or names another host: check the endpoint URL (--endpoint-url, \
     AWS_ENDPOINT_URL), or add its CA with SSL_CERT_FILE=<CA bundle>";

/// A path label as REST-JSON sends it: everything but RFC 3986's unreserved
/// characters %-encoded, `/` and `:` of an ARN included.
pub fn label(value: &str) -> String {
    encode(value)
}

/// RFC 3986 unreserved characters stay, everything else is %-encoded, as SigV4 wants.
pub fn encode(value: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(value, SET).to_string()
}

/// The error an answer holds, read as the SDKs read AWS JSON and REST-JSON
/// errors (Smithy, "AWS restJson1 protocol", "Operation error
/// serialization"): the code from `X-Amzn-Errortype`, else the body's `code`
/// or `__type`, without a namespace (`…#`) or a suffix (`:…`).
fn service_error(status: u16, header_code: Option<&str>, body: &serde_json::Value) -> CallError {
    let code = header_code
        .or_else(|| body.get("code").and_then(|c| c.as_str()))
        .or_else(|| body.get("__type").and_then(|c| c.as_str()))
        .map(|code| {
            let code = code.split(':').next().unwrap_or(code);
            code.rsplit('#').next().unwrap_or(code).to_string()
        })
        .unwrap_or_else(|| format!("HTTP {status}"));
    let message = ["message", "Message", "errorMessage"]
        .iter()
        .find_map(|key| body.get(key).and_then(|m| m.as_str()))
        .map(str::to_string)
        .or_else(|| body.as_str().filter(|s| !s.is_empty()).map(str::to_string))
        .unwrap_or_else(|| "(no message)".into());
    CallError::Service {
        status,
        code,
        message,
    }
}

/// Whether the SDK's standard retry strategy would try again: a throttling
/// or transient error code, a 500/502/503/504, or no answer at all.
/// `LimitExceededException` is left out: IoT and QuickSight mean a quota by it
/// (QuickSight's daily ingestion quota), which a retry cannot meet.
fn retryable(error: &CallError) -> bool {
    match error {
        CallError::Dispatch(_) => true,
        CallError::Endpoint(_) | CallError::Certificate(_) => false,
        CallError::Service { status, code, .. } => {
            matches!(status, 500 | 502 | 503 | 504)
                || matches!(
                    code.as_str(),
                    "Throttling"
                        | "ThrottlingException"
                        | "ThrottledException"
                        | "RequestThrottledException"
                        | "TooManyRequestsException"
                        | "RequestLimitExceeded"
                        | "RequestThrottled"
                        | "RequestTimeout"
                        | "RequestTimeoutException"
                )
        }
    }
}

/// HTTPS (or HTTP, for an emulator's endpoint) with the system's roots,
/// loaded once.
fn https_connector() -> Https {
    static ROOTS: OnceLock<Arc<rustls::RootCertStore>> = OnceLock::new();
    let roots = ROOTS.get_or_init(|| {
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        Arc::new(roots)
    });
    let tls = rustls::ClientConfig::builder()
        .with_root_certificates(roots.clone())
        .with_no_client_auth();
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(Duration::from_secs(10)));
    hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_read_as_the_sdks_read_them() {
        let body = serde_json::json!({"__type": "com.amazonaws.logs#ResourceNotFoundException", "message": "gone"});
        let error = service_error(400, None, &body);
        assert_eq!(error.code(), Some("ResourceNotFoundException"));
        assert_eq!(error.to_string(), "ResourceNotFoundException: gone");
        let error = service_error(
            404,
            Some("ResourceNotFoundException:http://internal.amazon.com/"),
            &serde_json::json!({"Message": "no thing"}),
        );
        assert_eq!(error.code(), Some("ResourceNotFoundException"));
        assert_eq!(error.to_string(), "ResourceNotFoundException: no thing");
        let error = service_error(503, None, &serde_json::Value::String("busy".into()));
        assert_eq!(error.to_string(), "HTTP 503: busy");
        assert!(retryable(&error));
        let quota = service_error(
            429,
            None,
            &serde_json::json!({"code": "LimitExceededException"}),
        );
        assert!(!retryable(&quota), "a quota is not retried");
        assert!(retryable(&service_error(
            400,
            Some("ThrottlingException"),
            &serde_json::Value::Null
        )));
    }

    #[test]
    fn labels_encode_arns_whole() {
        assert_eq!(
            label("arn:aws:iot:eu-west-1:123:cert/ab c"),
            "arn%3Aaws%3Aiot%3Aeu-west-1%3A123%3Acert%2Fab%20c"
        );
    }
}
