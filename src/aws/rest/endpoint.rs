//! Where a call goes: the endpoint a generated client of the service would
//! pick, by the same rules (the services' endpoint rule sets, as the AWS SDK
//! for Rust generates them: a configured URL, else the regional endpoint of
//! the region's partition, FIPS and dual-stack as the settings ask).

use aws_config::SdkConfig;

use super::Service;

/// The endpoint, without a trailing `/`; Err when the settings ask for one
/// that does not exist (the SDK's own refusals, in its words).
pub(super) fn resolve(sdk: &SdkConfig, service: &Service, region: &str) -> Result<String, String> {
    let fips = sdk.use_fips().unwrap_or(false);
    let dual_stack = sdk.use_dual_stack().unwrap_or(false);
    if let Some(url) = configured(sdk, service) {
        if fips {
            return Err(format!(
                "{}: FIPS and a custom endpoint ({url}) are not supported together; \
                 unset AWS_USE_FIPS_ENDPOINT or the endpoint URL",
                service.id
            ));
        }
        if dual_stack {
            return Err(format!(
                "{}: dual-stack and a custom endpoint ({url}) are not supported together; \
                 unset AWS_USE_DUALSTACK_ENDPOINT or the endpoint URL",
                service.id
            ));
        }
        return Ok(url.trim_end_matches('/').to_string());
    }
    let partition = Partition::of(region);
    let host = if fips {
        format!("{}-fips", service.prefix)
    } else {
        service.prefix.to_string()
    };
    let suffix = if dual_stack {
        partition.dual_stack_suffix.ok_or_else(|| {
            format!(
                "{}: dual-stack is asked for (AWS_USE_DUALSTACK_ENDPOINT or use_dualstack_endpoint) \
                 but region {region}'s partition has no dual-stack endpoints",
                service.id
            )
        })?
    } else {
        partition.suffix
    };
    Ok(format!("https://{host}.{region}.{suffix}"))
}

/// A URL set for the service in the order a generated client reads them: set
/// in code (`--endpoint-url`), then `AWS_ENDPOINT_URL_<SERVICE>` or the
/// profile's `services` section, then `AWS_ENDPOINT_URL` or `endpoint_url`.
fn configured(sdk: &SdkConfig, service: &Service) -> Option<String> {
    if sdk.get_origin("endpoint_url").is_client_config() {
        return sdk.endpoint_url().map(str::to_string);
    }
    sdk.service_config()
        .and_then(|config| {
            config.load_config(
                aws_types::service_config::ServiceConfigKey::builder()
                    .service_id(service.id)
                    .env("AWS_ENDPOINT_URL")
                    .profile("endpoint_url")
                    .build()
                    .ok()?,
            )
        })
        .or_else(|| sdk.endpoint_url().map(str::to_string))
}

/// An AWS partition's DNS suffixes (the SDK's partitions.json).
struct Partition {
    suffix: &'static str,
    dual_stack_suffix: Option<&'static str>,
}

impl Partition {
    fn of(region: &str) -> Partition {
        let (suffix, dual_stack_suffix) = if region.starts_with("cn-") {
            ("amazonaws.com.cn", Some("api.amazonwebservices.com.cn"))
        } else if region.starts_with("us-isob-") {
            ("sc2s.sgov.gov", None)
        } else if region.starts_with("us-isof-") {
            ("csp.hci.ic.gov", None)
        } else if region.starts_with("us-iso-") {
            ("c2s.ic.gov", None)
        } else if region.starts_with("eu-isoe-") {
            ("cloud.adc-e.uk", None)
        } else if region.starts_with("eusc-") {
            ("amazonaws.eu", None)
        } else {
            // aws, and aws-us-gov (the same suffixes).
            ("amazonaws.com", Some("api.aws"))
        };
        Partition {
            suffix,
            dual_stack_suffix,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_config::Region;

    fn sdk(fips: bool, dual_stack: bool, url: Option<&str>) -> SdkConfig {
        let mut builder = SdkConfig::builder()
            .region(Region::new("eu-west-1"))
            .use_fips(fips)
            .use_dual_stack(dual_stack);
        if let Some(url) = url {
            builder = builder.endpoint_url(url);
        }
        builder.build()
    }

    /// The URLs aws-sdk-iot's generated rule set gives for the same settings.
    #[test]
    fn endpoints_are_the_generated_clients() {
        let iot = &super::super::IOT;
        let at = |sdk: &SdkConfig, region: &str| resolve(sdk, iot, region);
        let plain = sdk(false, false, None);
        assert_eq!(
            at(&plain, "eu-west-1").unwrap(),
            "https://iot.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            at(&plain, "cn-north-1").unwrap(),
            "https://iot.cn-north-1.amazonaws.com.cn"
        );
        assert_eq!(
            at(&plain, "us-gov-west-1").unwrap(),
            "https://iot.us-gov-west-1.amazonaws.com"
        );
        assert_eq!(
            at(&sdk(true, false, None), "us-gov-west-1").unwrap(),
            "https://iot-fips.us-gov-west-1.amazonaws.com"
        );
        assert_eq!(
            at(&sdk(false, true, None), "eu-west-1").unwrap(),
            "https://iot.eu-west-1.api.aws"
        );
        assert_eq!(
            at(&sdk(true, true, None), "us-east-1").unwrap(),
            "https://iot-fips.us-east-1.api.aws"
        );
        assert!(at(&sdk(false, true, None), "us-iso-east-1").is_err());
        let custom = sdk(false, false, Some("http://127.0.0.1:5000/"));
        assert_eq!(at(&custom, "eu-west-1").unwrap(), "http://127.0.0.1:5000");
        let refused = at(
            &sdk(true, false, Some("http://127.0.0.1:5000")),
            "eu-west-1",
        );
        assert!(refused.unwrap_err().contains("FIPS and a custom endpoint"));
    }
}
