//! A deployed CloudFormation stack of `examples/aws/iotpipe.yaml`: its
//! outputs and parameters, read to write iotpipe's configuration.

use std::collections::BTreeMap;

use aws_config::SdkConfig;

/// What `describe-stacks` says of one stack.
#[derive(Debug, Default)]
pub struct Stack {
    pub name: String,
    pub status: String,
    pub outputs: BTreeMap<String, String>,
    pub parameters: BTreeMap<String, String>,
}

/// The stack `name`; Err with the service's words (no such stack, no access).
pub async fn describe(sdk: &SdkConfig, name: &str) -> Result<Stack, String> {
    let client = aws_sdk_cloudformation::Client::new(sdk);
    let output = client
        .describe_stacks()
        .stack_name(name)
        .send()
        .await
        .map_err(|e| super::describe(&e))?;
    let Some(stack) = output.stacks().first() else {
        return Err(format!("no stack named {name}"));
    };
    Ok(Stack {
        name: stack.stack_name().unwrap_or(name).to_string(),
        status: stack
            .stack_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        outputs: stack
            .outputs()
            .iter()
            .filter_map(|o| Some((o.output_key()?.to_string(), o.output_value()?.to_string())))
            .collect(),
        parameters: stack
            .parameters()
            .iter()
            .filter_map(|p| {
                Some((
                    p.parameter_key()?.to_string(),
                    p.parameter_value()?.to_string(),
                ))
            })
            .collect(),
    })
}
