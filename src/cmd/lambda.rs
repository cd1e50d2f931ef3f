//! `iotpipe lambda`: the S3-event handler. Inside AWS Lambda it serves the
//! runtime API; `--event FILE` handles one event here (against the configured
//! account, or an emulator with --endpoint-url) and prints the response.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;

use super::Context;
use crate::error::{Exit, Hinted};
use crate::lambda::Handler;

#[derive(Debug, Args)]
pub struct LambdaArgs {
    /// Handle this event once (a JSON file, - for stdin) instead of serving
    /// the Lambda runtime API
    #[arg(long, value_name = "FILE")]
    pub event: Option<PathBuf>,
}

pub fn run(ctx: &mut Context, args: &LambdaArgs) -> anyhow::Result<Exit> {
    let event = match &args.event {
        Some(path) => Some(read_event(path)?),
        None => {
            let missing = crate::lambda::missing_runtime_variables();
            if !missing.is_empty() {
                return Err(Hinted::new(
                    Exit::Usage,
                    format!(
                        "iotpipe lambda serves the AWS Lambda runtime API, and {} {} not set",
                        missing.join(", "),
                        if missing.len() == 1 { "is" } else { "are" }
                    ),
                    "deploy it as a Lambda function (docs/aws.md, examples/aws/), or handle one \
                     event here with --event FILE",
                )
                .into());
            }
            None
        }
    };
    let config = ctx.config(Vec::new())?.config;
    super::runtime()?.block_on(async {
        let handler = Arc::new(Handler::from_config(&config).await?);
        if let Some(event) = event {
            let response = handler.handle(event).await?;
            ctx.output.value(&response)?;
            return Ok(Exit::Ok);
        }
        crate::lambda::serve(handler).await?;
        Ok(Exit::Ok)
    })
}

fn read_event(path: &std::path::Path) -> anyhow::Result<serde_json::Value> {
    let mut text = String::new();
    if path.as_os_str() == "-" {
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading the event from stdin")?;
    } else {
        text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the event {}", path.display()))?;
    }
    serde_json::from_str(&text).map_err(|e| {
        Hinted::new(
            Exit::Usage,
            format!("the event in {} is not JSON: {e}", path.display()),
            "give an S3 event notification, an SQS event wrapping them, or an EventBridge \
             scheduled event (docs/aws.md has one of each)",
        )
        .into()
    })
}
