//! `iotpipe tail kinesis`: the records of a Kinesis data stream as they come,
//! printed like `tail mqtt` (the IoT rule puts the MQTT payloads there).

use std::io::IsTerminal as _;
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

    /// Print the shard too; with -o jsonl, one object per record with its
    /// shard, sequence number, partition key, arrival time and payload
    #[arg(short = 'v', long = "show-shard", action = ArgAction::SetTrue)]
    pub show_shard: bool,

    /// Stop at records that arrived after TIME (RFC 3339, or a duration ago,
    /// e.g. 5m), or at `latest`: what the stream holds now, then exit 0
    #[arg(long, value_name = "TIME|latest")]
    pub until: Option<String>,

    /// Read only this shard (e.g. shardId-000000000000); repeatable
    #[arg(long = "shard", value_name = "ID")]
    pub shards: Vec<String>,
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
    let until = match args.until.as_deref() {
        None => None,
        Some("latest") => Some(time::OffsetDateTime::now_utc()),
        Some(time) => match Start::from_words(&["at-timestamp".to_string(), time.to_string()]) {
            Ok(Start::At(at)) => Some(at),
            _ => {
                return Err(Hinted::new(
                    Exit::Usage,
                    format!("--until {time:?} is not a time"),
                    "use --until latest, --until 2026-11-26T10:00:00Z, or a duration ago: --until 5m",
                )
                .into());
            }
        },
    };
    let config = ctx.config(Vec::new())?.config;
    let stream = args
        .stream
        .clone()
        .unwrap_or_else(|| config.kinesis.stream.clone());
    let printer = Printer::new(&ctx.output, "shard", args.show_shard);
    crate::cmd::runtime()?.block_on(async {
        let selection = crate::kinesis::Selection {
            start,
            until,
            shards: args.shards.clone(),
        };
        let incoming = crate::kinesis::follow_stream(&config, stream.clone(), selection).await;
        tracing::info!("reading every shard of {stream}");
        let mut tail = KinesisTail {
            stream,
            incoming,
            printer,
            detailed: args.show_shard && ctx.output.format == crate::output::Format::Jsonl,
            progress: (!ctx.quiet && std::io::stderr().is_terminal()).then(Progress::default),
            records: ctx.output.records::<MessageRow>(true),
        };
        let outcome = follow(&mut tail, args.count, args.timeout).await;
        if let Some(progress) = tail.progress.as_mut() {
            progress.line.end();
        }
        tail.records.finish()?;
        tail.printer.finish();
        outcome
    })
}

/// `tail kinesis`'s line on a terminal: shards read, how far behind, records.
struct Progress {
    line: crate::output::progress::StatusLine,
    /// Each shard's distance from the stream's tip at its last record.
    behind: std::collections::HashMap<String, i64>,
    records: u64,
}

impl Default for Progress {
    fn default() -> Progress {
        Progress {
            line: crate::output::progress::StatusLine::new(true),
            behind: Default::default(),
            records: 0,
        }
    }
}

impl Progress {
    fn saw(&mut self, record: &StreamRecord) {
        self.records += 1;
        self.behind
            .insert(record.shard.clone(), record.behind_ms.unwrap_or(0));
    }

    fn draw(&mut self) {
        let behind = self.behind.values().copied().max().unwrap_or(0);
        self.line.draw(&format!(
            "tail kinesis: {} shards read, {behind} ms behind, {} records",
            self.behind.len(),
            self.records
        ));
    }
}

struct KinesisTail<'o> {
    stream: String,
    progress: Option<Progress>,
    /// -v -o jsonl: each record as an object with what Kinesis says of it.
    detailed: bool,
    incoming: tokio::sync::mpsc::Receiver<Result<StreamRecord, KinesisError>>,
    printer: Printer,
    records: Records<'o, MessageRow>,
}

impl Follower for KinesisTail<'_> {
    async fn next(&mut self, _remaining: Option<u64>) -> anyhow::Result<Step> {
        let received = self.incoming.recv().await;
        if let (Some(progress), Some(Ok(record))) = (self.progress.as_mut(), &received) {
            progress.saw(record);
            // Off the screen while the record prints, back after it.
            progress.line.clear();
        }
        let step = self.print(received);
        if let Some(progress) = self.progress.as_mut() {
            progress.draw();
        }
        step
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.records.flush()
    }

    fn timed_out(&self, after: Duration) -> anyhow::Error {
        self.timed_out_error(after)
    }
}

impl KinesisTail<'_> {
    fn print(
        &mut self,
        received: Option<Result<StreamRecord, KinesisError>>,
    ) -> anyhow::Result<Step> {
        match received {
            Some(Ok(record)) if self.detailed => {
                let _ = self.printer.parse(&record.shard, &record.data);
                let payload = serde_json::from_slice::<serde_json::Value>(&record.data)
                    .unwrap_or_else(|_| String::from_utf8_lossy(&record.data).into_owned().into());
                let object = serde_json::json!({
                    "shard": record.shard,
                    "sequence": record.sequence,
                    "partition_key": record.partition_key,
                    "arrived_at": record.arrived.map(crate::payload::format_ts),
                    "behind_ms": record.behind_ms,
                    "payload": payload,
                });
                crate::output::payloads::write_object(self.records.raw(), object)?;
                Ok(Step::Printed(1))
            }
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

    fn timed_out_error(&self, after: Duration) -> anyhow::Error {
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
