//! `iotpipe tail kinesis`: the records of a Kinesis data stream as they come,
//! printed like `tail mqtt` (the IoT rule puts the MQTT payloads there).

use std::time::Duration;

use clap::{ArgAction, Args};

use super::follow::{Follower, Step, follow};
use crate::cmd::Context;
use crate::cmd::args::parse_timeout;
use crate::error::{Exit, Hinted};
use crate::kinesis::{KinesisError, Start, StreamRecord};
use crate::output::Records;
use crate::output::payloads::{MessageRow, Printer};

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

pub fn run(ctx: &mut Context, args: &TailKinesisArgs) -> anyhow::Result<Exit> {
    let start = Start::from_words(&args.from).map_err(|message| {
        Hinted::new(
            Exit::Usage,
            message,
            "use --from latest, --from trim-horizon, or --from at-timestamp 2026-11-26T10:00:00Z \
             (or a duration ago: --from at-timestamp 15m)",
        )
    })?;
    let config = ctx.config(Vec::new())?.config;
    let stream = args
        .stream
        .clone()
        .unwrap_or_else(|| config.kinesis.stream.clone());
    let printer = Printer::new(&ctx.output, "shard", args.show_shard);
    crate::cmd::runtime()?.block_on(async {
        let incoming = crate::kinesis::follow_stream(&config, stream.clone(), start).await;
        tracing::info!("reading every shard of {stream}");
        let mut tail = KinesisTail {
            stream,
            incoming,
            printer,
            records: ctx.output.records::<MessageRow>(true),
        };
        let outcome = follow(&mut tail, args.count, args.timeout).await;
        tail.records.finish()?;
        tail.printer.finish();
        outcome
    })
}

struct KinesisTail<'o> {
    stream: String,
    incoming: tokio::sync::mpsc::Receiver<Result<StreamRecord, KinesisError>>,
    printer: Printer,
    records: Records<'o, MessageRow>,
}

impl Follower for KinesisTail<'_> {
    async fn next(&mut self, _remaining: Option<u64>) -> anyhow::Result<Step> {
        match self.incoming.recv().await {
            Some(Ok(record)) => {
                self.printer
                    .print(&mut self.records, &record.shard, &record.data, None)?;
                Ok(Step::Printed(1))
            }
            Some(Err(error)) => Err(error.into()),
            // Every shard ended (the stream was deleted, or all shards closed).
            None => Ok(Step::Ended),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.records.flush()
    }

    fn timed_out(&self, after: Duration) -> anyhow::Error {
        Hinted::new(
            Exit::Timeout,
            format!(
                "no record on {} for {}",
                self.stream,
                humantime::format_duration(after)
            ),
            "is the IoT rule putting to this stream? `--from trim-horizon` shows what it holds",
        )
        .into()
    }
}
