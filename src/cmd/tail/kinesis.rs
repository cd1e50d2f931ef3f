//! `iotpipe tail kinesis`: the records of a Kinesis data stream as they come,
//! printed like `tail mqtt` (the IoT rule puts the MQTT payloads there).

use std::time::Duration;

use clap::{ArgAction, Args};
use time::OffsetDateTime;
use tokio::time::Instant;

use super::{MessageRow, Printer, parse_timeout};
use crate::cmd::Context;
use crate::error::{Exit, Hinted};
use crate::kinesis::Start;

#[derive(Debug, Args)]
pub struct TailKinesisArgs {
    /// Stream name [default: kinesis.stream]
    #[arg(long, value_name = "NAME")]
    pub stream: Option<String>,

    /// Where to start: latest, trim-horizon, or at-timestamp TIME (RFC 3339,
    /// e.g. 2026-11-26T10:00:00Z, or a duration ago, e.g. 15m) [default: latest]
    #[arg(long, num_args = 1..=2, value_names = ["WHERE", "TIME"])]
    pub from: Vec<String>,

    /// Exit after N records
    #[arg(short = 'C', long = "count", value_name = "N")]
    pub count: Option<u64>,

    /// Exit with code 4 after this long without a record (seconds, or e.g. 500ms, 2m)
    #[arg(short = 'W', long = "timeout", value_name = "SECS", value_parser = parse_timeout)]
    pub timeout: Option<Duration>,

    /// Print the shard too (JSON lines: {"shard": ..., "payload": ...})
    #[arg(short = 'v', long = "show-shard", action = ArgAction::SetTrue)]
    pub show_shard: bool,
}

fn usage(message: String) -> anyhow::Error {
    Hinted::new(
        Exit::Usage,
        message,
        "use --from latest, --from trim-horizon, or --from at-timestamp 2026-11-26T10:00:00Z \
         (or a duration ago: --from at-timestamp 15m)",
    )
    .into()
}

fn parse_time(text: &str) -> anyhow::Result<OffsetDateTime> {
    if let Ok(at) = OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339) {
        return Ok(at);
    }
    match humantime::parse_duration(text) {
        Ok(ago) => Ok(OffsetDateTime::now_utc() - ago),
        Err(_) => Err(usage(format!(
            "{text:?} is neither an RFC 3339 time nor a duration"
        ))),
    }
}

fn parse_start(from: &[String]) -> anyhow::Result<Start> {
    match from {
        [] => Ok(Start::Latest),
        [position] if position == "latest" => Ok(Start::Latest),
        [position] if position == "trim-horizon" => Ok(Start::TrimHorizon),
        [position, at] if position == "at-timestamp" => Ok(Start::At(parse_time(at)?)),
        [position] if position == "at-timestamp" => Err(usage(
            "--from at-timestamp needs a time after it".to_string(),
        )),
        // A bare time is read as at-timestamp.
        [at] => parse_time(at).map(Start::At),
        _ => Err(usage(format!(
            "--from {} is not understood",
            from.join(" ")
        ))),
    }
}

pub fn run(ctx: &mut Context, args: &TailKinesisArgs) -> anyhow::Result<Exit> {
    let start = parse_start(&args.from)?;
    let config = ctx.config(Vec::new())?.config;
    let stream = args
        .stream
        .clone()
        .unwrap_or_else(|| config.kinesis.stream.clone());
    let terminal = ctx.output.is_terminal();
    let mut printer = Printer::new(ctx, "shard", args.show_shard);
    let outcome = crate::cmd::runtime()?.block_on(async {
        let sdk = crate::aws::sdk_config(&config.aws).await;
        let mut incoming = crate::kinesis::follow(crate::aws::kinesis(&sdk), stream.clone(), start);
        tracing::info!("reading every shard of {stream}");
        let mut received: u64 = 0;
        let mut last_record = Instant::now();
        let mut dirty = false;
        let mut flush_tick = tokio::time::interval(Duration::from_millis(100));
        let mut records = ctx.output.records::<MessageRow>(true);
        let interrupt = tokio::signal::ctrl_c();
        tokio::pin!(interrupt);
        let result = loop {
            if args.count.is_some_and(|n| received >= n) {
                break Ok(Exit::Ok);
            }
            let deadline = args.timeout.map(|t| last_record + t);
            tokio::select! {
                _ = &mut interrupt => break Ok(Exit::Interrupted),
                () = crate::deadline::sleep_until(deadline) => break Err(Hinted::new(
                    Exit::Timeout,
                    format!("no record on {stream} for {}",
                        humantime::format_duration(args.timeout.unwrap_or_default())),
                    "is the IoT rule putting to this stream? `--from trim-horizon` shows what it holds",
                ).into()),
                _ = flush_tick.tick(), if dirty => {
                    records.flush()?;
                    dirty = false;
                }
                record = incoming.recv() => match record {
                    Some(Ok(record)) => {
                        received += 1;
                        last_record = Instant::now();
                        printer.print(&mut records, &record.shard, &record.data)?;
                        dirty |= !terminal;
                    }
                    Some(Err(error)) => break Err(error.into()),
                    // Every shard ended (the stream was deleted, or all shards closed).
                    None => break Ok(Exit::Ok),
                },
            }
        };
        records.finish()?;
        result
    });
    printer.finish();
    outcome
}
