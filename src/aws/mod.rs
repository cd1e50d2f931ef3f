//! The one place that builds AWS clients: profile, region and endpoint from the
//! configuration (flags > `IOTPIPE_*` > file; the usual `AWS_*` variables,
//! `AWS_ENDPOINT_URL(_<SERVICE>)` included, still apply underneath), with
//! adaptive retries.

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};

pub mod iam;
pub mod iot;
pub mod iot_ws;
pub mod rest;
pub mod stack;

use crate::config;

/// The loaded SDK configuration every client is built from.
pub type Sdk = SdkConfig;

pub async fn sdk_config(aws: &config::AwsConfig) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .retry_config(RetryConfig::adaptive().with_max_attempts(5));
    if let Some(profile) = &aws.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &aws.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(url) = &aws.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

/// The HTTPS client of every AWS call: the SDK's own hyper client, with
/// rustls on ring (the crypto the rest of iotpipe uses) and the system's
/// root certificates.
pub fn https_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// S3 with path-style addressing when an endpoint is set (moto, MinIO), since
/// virtual-hosted buckets need DNS names such endpoints do not have.
pub fn s3(sdk: &SdkConfig) -> aws_sdk_s3::Client {
    s3_addressed(sdk, None)
}

/// S3 with path-style addressing as `path_style` says (`aws.path_style`), or
/// when unset as [`s3`] decides.
pub fn s3_addressed(sdk: &SdkConfig, path_style: Option<bool>) -> aws_sdk_s3::Client {
    let path_style = path_style.unwrap_or_else(|| {
        sdk.endpoint_url().is_some()
            || std::env::var_os("AWS_ENDPOINT_URL").is_some()
            || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some()
    });
    let config = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(path_style)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

pub fn athena(sdk: &SdkConfig) -> aws_sdk_athena::Client {
    aws_sdk_athena::Client::new(sdk)
}

pub fn iam(sdk: &SdkConfig) -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::new(sdk)
}

pub fn kinesis(sdk: &SdkConfig) -> aws_sdk_kinesis::Client {
    aws_sdk_kinesis::Client::new(sdk)
}

pub fn dynamodb(sdk: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(sdk)
}

/// An SDK error with its whole cause chain, each cause once: the SDK's own
/// Display says only "service error" or "dispatch failure", and its
/// `DisplayErrorContext` ends with a Debug dump of the error's structs.
pub fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut causes: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(cause) = next {
        let text = cause.to_string();
        if !text.is_empty() && !causes.iter().any(|earlier| earlier.contains(&text)) {
            causes.push(text);
        }
        next = cause.source();
    }
    causes.join(": ")
}

/// Who the credentials are, for `doctor`.
pub struct Identity {
    pub region: String,
    /// The access key id, masked: `AKIA…MPLE`.
    pub key: String,
    pub arn: String,
}

/// Why there is no usable identity.
pub enum NoIdentity {
    Region,
    Credentials { region: String, error: String },
    Refused { key: String, error: String },
}

/// The region, the credentials and the caller's ARN (STS GetCallerIdentity).
pub async fn identity(sdk: &SdkConfig) -> Result<Identity, NoIdentity> {
    use aws_sdk_sts::config::ProvideCredentials;
    let Some(region) = sdk.region().map(|r| r.to_string()) else {
        return Err(NoIdentity::Region);
    };
    let credentials = match sdk.credentials_provider() {
        Some(provider) => provider
            .provide_credentials()
            .await
            .map_err(|e| describe(&e)),
        None => Err("no credentials provider".to_string()),
    };
    let credentials = credentials.map_err(|error| NoIdentity::Credentials {
        region: region.clone(),
        error,
    })?;
    let key = mask(credentials.access_key_id());
    match aws_sdk_sts::Client::new(sdk)
        .get_caller_identity()
        .send()
        .await
    {
        Ok(identity) => Ok(Identity {
            region,
            key,
            arn: identity.arn().unwrap_or_default().to_string(),
        }),
        Err(error) => Err(NoIdentity::Refused {
            key,
            error: describe(&error),
        }),
    }
}

/// An access key id with all but its ends hidden.
pub fn mask(access_key: &str) -> String {
    let chars: Vec<char> = access_key.chars().collect();
    if chars.len() <= 8 {
        return "****".into();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

/// What a HeadBucket said.
pub enum BucketState {
    Reachable,
    Missing,
    Denied,
    Unreachable(String),
}

pub async fn bucket_state(sdk: &SdkConfig, bucket: &str) -> BucketState {
    match s3(sdk).head_bucket().bucket(bucket).send().await {
        Ok(_) => BucketState::Reachable,
        Err(error) => match error.raw_response().map(|r| r.status().as_u16()) {
            Some(404) => BucketState::Missing,
            Some(403) => BucketState::Denied,
            _ => BucketState::Unreachable(describe(&error)),
        },
    }
}
