//! The one place that builds AWS clients: profile, region and endpoint from the
//! configuration (flags > `IOTPIPE_*` > file; the usual `AWS_*` variables,
//! `AWS_ENDPOINT_URL(_<SERVICE>)` included, still apply underneath), with
//! adaptive retries.

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};

use crate::config;

pub async fn sdk_config(aws: &config::Aws) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
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

/// S3 with path-style addressing when an endpoint is set (moto, MinIO), since
/// virtual-hosted buckets need DNS names such endpoints do not have.
pub fn s3(sdk: &SdkConfig) -> aws_sdk_s3::Client {
    let path_style = sdk.endpoint_url().is_some() || std::env::var_os("AWS_ENDPOINT_URL").is_some();
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

/// An SDK error with its whole cause chain: the SDK's own Display says only
/// "service error".
pub fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    aws_sdk_s3::error::DisplayErrorContext(error).to_string()
}
