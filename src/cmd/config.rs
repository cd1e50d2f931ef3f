//! `iotpipe config show`: the effective configuration and where each value came
//! from; `iotpipe config init --from-stack NAME`: an `iotpipe.toml` written from
//! a deployed `examples/aws/iotpipe.yaml` stack.

use clap::Subcommand;
use serde::Serialize;
use toml::Value;

use super::Context;
use crate::config::{KEYS, env_name};
use crate::error::Exit;
use crate::output::{Column, Row};

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print every key, its effective value and its source (default, file, env or flag)
    Show,
    #[cfg(feature = "pipeline")]
    /// Write iotpipe.toml from a deployed examples/aws/iotpipe.yaml stack's outputs
    Init {
        /// The CloudFormation stack to read (aws cloudformation deploy --stack-name)
        #[arg(long, value_name = "NAME")]
        from_stack: String,
        /// Where to write it
        #[arg(long, value_name = "FILE", default_value = "iotpipe.toml")]
        file: std::path::PathBuf,
        /// Replace the file if it exists
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Serialize)]
struct KeyRow {
    key: &'static str,
    value: serde_json::Value,
    source: String,
    env: String,
}

impl Row for KeyRow {
    const COLUMNS: &'static [Column] = &[
        Column::left("key", 24),
        Column::left("value", 20),
        Column::left("source", 10),
        Column::left("env", 0),
    ];

    fn cells(&self) -> Vec<String> {
        let value = match &self.value {
            serde_json::Value::Null => "-".to_string(),
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        vec![
            self.key.into(),
            value,
            self.source.clone(),
            self.env.clone(),
        ]
    }
}

pub fn run(ctx: &mut Context, command: &ConfigCommand) -> anyhow::Result<Exit> {
    match command {
        ConfigCommand::Show => show(ctx),
        #[cfg(feature = "pipeline")]
        ConfigCommand::Init {
            from_stack,
            file,
            force,
        } => init(ctx, from_stack, file, *force),
    }
}

#[cfg(feature = "pipeline")]
/// The stack's outputs and parameters as iotpipe keys.
fn from_stack(stack: &crate::aws::stack::Stack, region: Option<&str>) -> String {
    let quote = |s: &str| toml::Value::String(s.to_string()).to_string();
    let output = |key: &str| stack.outputs.get(key).map(|v| quote(v));
    let parameter = |key: &str| stack.parameters.get(key);
    let mut text = format!(
        "# Written by `iotpipe config init --from-stack {}` from the stack's outputs.\n\
         # `iotpipe config show` lists every key; examples/iotpipe.toml documents them.\n\n\
         backend = \"aws\"\n",
        stack.name
    );
    if let Some(thing) = parameter("ThingName") {
        text.push_str(&format!(
            "# The thing name: the client id `publish` connects as on IoT Core.\ndevice_id = {}\n",
            quote(thing)
        ));
    }
    text.push_str("\n[mqtt]\n");
    text.push_str(
        "# host = \"<aws iot describe-endpoint --endpoint-type iot:Data-ATS --query endpointAddress>\"\n\
         port = 8883\niot_core = true\n\
         # cafile = \"/etc/iotpipe/AmazonRootCA1.pem\"\n\
         # cert = \"/etc/iotpipe/device.pem.crt\"\n\
         # key = \"/etc/iotpipe/private.pem.key\"\n",
    );
    if let Some(topic) = parameter("Topic") {
        // The fleet policy lets a device publish on <Topic>/<its thing> only.
        let topic = match parameter("ThingName") {
            Some(thing) => format!("{topic}/{thing}"),
            None => topic.clone(),
        };
        text.push_str(&format!(
            "# The device's own topic: the policy allows <Topic>/<thing name> only.\ntopic = {}\n",
            quote(&topic)
        ));
    }
    text.push_str("\n[counter]\n");
    if let Some(table) = output("CounterTable") {
        text.push_str(&format!("table = {table}\n"));
    }
    if let Some(threshold) = parameter("BatchThreshold").and_then(|t| t.parse::<u32>().ok()) {
        text.push_str(&format!("threshold = {threshold}\n"));
    }
    text.push_str("\n[aws]\n");
    if let Some(region) = region {
        text.push_str(&format!("region = {}\n", quote(region)));
    }
    if let Some(bucket) = output("Bucket") {
        text.push_str(&format!("bucket = {bucket}\n"));
    }
    if let Some(role) = output("IotRuleRoleArn") {
        text.push_str(&format!("iot_rule_role = {role}\n"));
    }
    if let Some(rule) = output("IotRuleName") {
        text.push_str(&format!("iot_rule = {rule}\n"));
    }
    if let Some(policy) = output("DevicePolicy") {
        text.push_str(&format!(
            "# The fleet's policy, attached by `iotpipe device add`.\ndevice_policy = {policy}\n"
        ));
    }
    text.push_str("\n[athena]\n");
    if let Some(database) = output("Database") {
        text.push_str(&format!("database = {database}\n"));
    }
    if let Some(workgroup) = output("Workgroup") {
        text.push_str(&format!(
            "# The stack's workgroup: its bytes-scanned limit and result location apply.\nworkgroup = {workgroup}\n"
        ));
    }
    if let Some(bucket) = stack.outputs.get("Bucket") {
        text.push_str(&format!(
            "output_location = {}\n",
            quote(&format!("s3://{bucket}/athena-results/"))
        ));
    }
    if let Some(stream) = output("Stream") {
        text.push_str(&format!("\n[kinesis]\nstream = {stream}\n"));
    }
    if let Some(dataset) = output("DataSetId") {
        text.push_str(&format!("\n[quicksight]\ndatasets = [{dataset}]\n"));
    }
    text
}

#[cfg(feature = "pipeline")]
fn init(
    ctx: &mut Context,
    name: &str,
    file: &std::path::Path,
    force: bool,
) -> anyhow::Result<Exit> {
    use anyhow::Context as _;
    if file.exists() && !force {
        return Err(crate::error::Hinted::new(
            Exit::Usage,
            format!("{} exists", file.display()),
            "pass --force to replace it, or --file to write elsewhere",
        )
        .into());
    }
    let config = ctx.config(Vec::new())?.config;
    let runtime = super::runtime()?;
    let (stack, region) = runtime
        .block_on(async {
            let sdk = crate::aws::sdk_config(&config.aws).await;
            let region = sdk.region().map(|r| r.to_string());
            crate::aws::stack::describe(&sdk, name)
                .await
                .map(|stack| (stack, region))
        })
        .map_err(|reason| {
            crate::error::Hinted::new(
                Exit::Failure,
                format!("reading stack {name}: {reason}"),
                "check the stack name and region (--region, aws.region or AWS_REGION) and that \
             the credentials may cloudformation:DescribeStacks",
            )
        })?;
    if !stack.status.ends_with("_COMPLETE") || stack.status.contains("ROLLBACK") {
        tracing::warn!(
            "stack {} is {}: its outputs may be incomplete",
            stack.name,
            stack.status
        );
    }
    if !stack.outputs.contains_key("Bucket") {
        return Err(crate::error::Hinted::new(
            Exit::Failure,
            format!("stack {name} has no Bucket output"),
            "is it a stack of examples/aws/iotpipe.yaml?",
        )
        .into());
    }
    let text = from_stack(&stack, region.as_deref());
    std::fs::write(file, &text).with_context(|| format!("writing {}", file.display()))?;
    crate::note!(
        "config: wrote {} from stack {} ({} outputs); set mqtt.host and the certificate \
         files, then run `iotpipe doctor`",
        file.display(),
        stack.name,
        stack.outputs.len()
    );
    Ok(Exit::Ok)
}

fn show(ctx: &mut Context) -> anyhow::Result<Exit> {
    let resolved = ctx.config(Vec::new())?;
    if !ctx.quiet {
        match &resolved.file {
            Some(path) => crate::note!("config file: {}", path.display()),
            None => crate::note!(
                "config file: none (looked for ./iotpipe.toml and $XDG_CONFIG_HOME/iotpipe/iotpipe.toml)"
            ),
        }
    }
    let mut records = ctx.output.records::<KeyRow>(false);
    for key in KEYS {
        let (value, source) = match resolved.values.get(key.name) {
            Some(_) if key.secret => (
                serde_json::Value::String("********".into()),
                source_of(&resolved, key.name),
            ),
            Some((value, _)) => (to_json(value), source_of(&resolved, key.name)),
            None => (serde_json::Value::Null, "unset".into()),
        };
        records.write(&KeyRow {
            key: key.name,
            value,
            source,
            env: env_name(key.name),
        })?;
    }
    records.finish()?;
    Ok(Exit::Ok)
}

fn source_of(resolved: &crate::config::Resolved, key: &str) -> String {
    resolved
        .values
        .get(key)
        .map(|(_, source)| source.to_string())
        .unwrap_or_default()
}

fn to_json(value: &Value) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}
