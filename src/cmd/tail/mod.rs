//! `iotpipe tail`: follow the stream. `tail mqtt` subscribes like mosquitto_sub
//! and `tail kinesis` reads every shard of a stream, both validating each
//! payload against schema v1 and explaining the ones that fail; `tail objects`
//! and `tail s3` print raw objects as they land.

mod kinesis;

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args, Subcommand};
use rumqttc::QoS;
use serde::Serialize;
use tokio::time::Instant;

use super::Context;
use super::publish::BrokerArgs;
use crate::error::{Exit, Hinted};
use crate::mqtt::subscribe::{Delivery, Subscriber};
use crate::mqtt::{self, Settings};
use crate::output::{Column, Format, Row, number, sanitize};
use crate::payload::Reading;
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub enum TailCommand {
    /// Subscribe to MQTT topics and print what arrives (like mosquitto_sub)
    Mqtt(TailMqttArgs),

    /// Print records from a Kinesis data stream: every shard, following reshards
    Kinesis(kinesis::TailKinesisArgs),

    /// Print raw objects as they land in the local store (key, size, rows)
    Objects(TailObjectsArgs),

    /// Print objects as they land in S3 (key, size, rows); needs aws.bucket
    S3(TailS3Args),
}

#[derive(Debug, Args)]
pub struct TailObjectsArgs {
    /// Data directory (config data_dir)
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    #[command(flatten)]
    pub follow: FollowArgs,
}

#[derive(Debug, Args)]
pub struct TailS3Args {
    /// Area of the bucket layout to follow (raw/, rejected/ or compacted/;
    /// mapped through aws.*_prefix)
    #[arg(long, value_name = "PREFIX", default_value = "raw/")]
    pub prefix: String,

    #[command(flatten)]
    pub follow: FollowArgs,
}

/// How `tail objects` and `tail s3` follow a listing.
#[derive(Debug, Args)]
pub struct FollowArgs {
    /// Also print the objects already there when starting
    #[arg(long)]
    pub existing: bool,

    /// Exit after N objects
    #[arg(short = 'C', long = "count", value_name = "N")]
    pub count: Option<u64>,

    /// Exit with code 4 after this long without a new object (seconds, or e.g. 2m)
    #[arg(short = 'W', long = "timeout", value_name = "SECS", value_parser = parse_timeout)]
    pub timeout: Option<Duration>,

    /// How often to look for new objects [default: 500ms locally, 2s on S3]
    #[arg(long, value_name = "DUR", value_parser = humantime::parse_duration)]
    pub poll: Option<Duration>,
}

/// A landed object as a row.
#[derive(Serialize)]
struct ObjectRow {
    key: String,
    size: u64,
    rows: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl Row for ObjectRow {
    fn headers() -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            Column::left("key", 98),
            Column::right("bytes", 9),
            Column::right("rows", 7),
        ];
        COLUMNS
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.key.clone(),
            self.size.to_string(),
            self.rows
                .map_or_else(|| self.error.clone().unwrap_or_default(), |r| r.to_string()),
        ]
    }
}

#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct TailMqttArgs {
    #[command(flatten)]
    pub broker: BrokerArgs,

    /// Topic filter, repeatable; + and # wildcards [default: mqtt.topic]
    #[arg(short = 't', long = "topic", value_name = "FILTER")]
    pub topics: Vec<String>,

    /// Subscription QoS 0 or 1
    #[arg(short = 'q', long, value_name = "0|1", default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=1))]
    pub qos: u8,

    /// Exit after N messages
    #[arg(short = 'C', long = "count", value_name = "N")]
    pub count: Option<u64>,

    /// Exit with code 4 after this long without a message (seconds, or e.g. 500ms, 2m)
    #[arg(short = 'W', long = "timeout", value_name = "SECS", value_parser = parse_timeout)]
    pub timeout: Option<Duration>,

    /// Print the topic too
    #[arg(short = 'v', long = "show-topic", action = ArgAction::SetTrue)]
    pub show_topic: bool,
}

fn parse_timeout(text: &str) -> Result<Duration, String> {
    let parsed = match text.parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs > 0.0 => Ok(Duration::from_secs_f64(secs)),
        Ok(_) => Err("must be greater than 0".to_string()),
        Err(_) => humantime::parse_duration(text).map_err(|e| e.to_string()),
    };
    parsed.map_err(|e| format!("{e} (examples: 10, 2.5, 500ms, 2m)"))
}

pub fn run(ctx: &mut Context, command: &TailCommand) -> anyhow::Result<Exit> {
    match command {
        TailCommand::Mqtt(args) => tail_mqtt(ctx, args),
        TailCommand::Kinesis(args) => kinesis::run(ctx, args),
        TailCommand::Objects(args) => tail_objects(ctx, args),
        TailCommand::S3(args) => tail_s3(ctx, args),
    }
}

/// A payload as a table row: valid readings show their values, others their
/// raw text. `topic` is the MQTT topic, or the shard a Kinesis record came from.
#[derive(Serialize)]
#[serde(untagged)]
enum MessageRow {
    Reading {
        topic: String,
        reading: Box<Reading>,
    },
    Malformed {
        topic: String,
        raw: String,
    },
}

impl Row for MessageRow {
    fn headers() -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            Column::left("time", 24),
            Column::left("topic/shard", 12),
            Column::left("device", 12),
            Column::right("seq", 5),
            Column::right("temp °C", 7),
            Column::right("humidity %", 10),
            Column::right("pressure hPa", 12),
        ];
        COLUMNS
    }

    fn cells(&self) -> Vec<String> {
        match self {
            MessageRow::Reading { topic, reading: r } => vec![
                r.ts.clone(),
                topic.clone(),
                r.device_id.clone(),
                r.seq.to_string(),
                number(r.temperature_c, 2),
                number(r.humidity_pct, 2),
                number(r.pressure_hpa, 2),
            ],
            MessageRow::Malformed { topic, raw } => {
                let preview: String = raw.chars().take(80).collect();
                vec![
                    "(not schema v1)".into(),
                    topic.clone(),
                    preview,
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                ]
            }
        }
    }
}

/// Warnings about malformed payloads: each of the first few, then a count.
struct Malformed {
    seen: u64,
}

impl Malformed {
    const SHOWN: u64 = 20;

    fn warn(&mut self, topic: &str, error: &crate::payload::Invalid, payload: &[u8]) {
        self.seen += 1;
        if self.seen <= Self::SHOWN {
            let preview = String::from_utf8_lossy(&payload[..payload.len().min(120)]).into_owned();
            tracing::warn!(
                "malformed payload on {}: {error}: {}",
                sanitize(topic),
                sanitize(&preview)
            );
        }
    }

    fn finish(&self) {
        if self.seen > Self::SHOWN {
            tracing::warn!(
                "{} malformed payloads in all ({} shown)",
                self.seen,
                Self::SHOWN
            );
        }
    }
}

/// Prints payloads as they arrive: a table row, or the payload itself as a JSON line.
struct Printer {
    format: Format,
    terminal: bool,
    /// "topic" or "shard": what `-v` wraps each payload with.
    source: &'static str,
    show_source: bool,
    malformed: Malformed,
}

impl Printer {
    fn new(ctx: &Context, source: &'static str, show_source: bool) -> Printer {
        Printer {
            format: ctx.output.format,
            terminal: ctx.output.is_terminal(),
            source,
            show_source,
            malformed: Malformed { seen: 0 },
        }
    }

    fn print(
        &mut self,
        records: &mut crate::output::Records<'_, MessageRow>,
        source: &str,
        payload: &[u8],
    ) -> std::io::Result<()> {
        let parsed = Reading::parse(payload);
        if let Err(error) = &parsed {
            self.malformed.warn(source, error, payload);
        }
        match self.format {
            Format::Jsonl => {
                let is_json = parsed.is_ok()
                    || serde_json::from_slice::<serde::de::IgnoredAny>(payload).is_ok();
                let shown = self.show_source.then_some((self.source, source));
                write_jsonl(records.raw(), shown, payload, is_json)?
            }
            _ => records.write(&match parsed {
                Ok(reading) => MessageRow::Reading {
                    topic: source.to_string(),
                    reading: Box::new(reading),
                },
                Err(_) => MessageRow::Malformed {
                    topic: source.to_string(),
                    raw: String::from_utf8_lossy(payload).into_owned(),
                },
            })?,
        }
        if self.terminal {
            records.flush()?;
        }
        Ok(())
    }

    fn finish(&self) {
        self.malformed.finish();
    }
}

fn tail_mqtt(ctx: &mut Context, args: &TailMqttArgs) -> anyhow::Result<Exit> {
    let config = ctx.config(args.broker.overrides())?.config;
    let client_id = format!(
        "iotpipe-tail-{}-{}",
        config.device_id,
        mqtt::random_suffix()
    );
    let settings = Settings::from_config(&config.mqtt, client_id)?;
    let filters = if args.topics.is_empty() {
        vec![config.mqtt.topic.clone()]
    } else {
        args.topics.clone()
    };
    let qos = if args.qos == 0 {
        QoS::AtMostOnce
    } else {
        QoS::AtLeastOnce
    };
    let mut subscriber = Subscriber::new(settings, &filters, qos, mqtt::Session::Clean)?;
    tracing::info!(
        "subscribing to {} at {}",
        filters.join(", "),
        subscriber.settings().endpoint()
    );

    let runtime = super::runtime()?;
    let terminal = ctx.output.is_terminal();
    let mut printer = Printer::new(ctx, "topic", args.show_topic);

    let outcome = runtime.block_on(async {
        let mut received: u64 = 0;
        let mut records = ctx.output.records::<MessageRow>(true);
        let mut last_message = Instant::now();
        let mut dirty = false;
        // Set while the broker cannot be reached, for the -W message.
        let mut unreachable: Option<String> = None;
        let mut flush_tick = tokio::time::interval(Duration::from_millis(100));
        let interrupt = tokio::signal::ctrl_c();
        tokio::pin!(interrupt);
        let result = loop {
            if args.count.is_some_and(|n| received >= n) {
                break Ok(Exit::Ok);
            }
            let deadline = args.timeout.map(|t| last_message + t);
            tokio::select! {
                _ = &mut interrupt => break Ok(Exit::Interrupted),
                () = crate::deadline::sleep_until(deadline) => break Err(timed_out(args.timeout.unwrap_or_default(), unreachable.as_deref())),
                _ = flush_tick.tick(), if dirty => {
                    records.flush()?;
                    dirty = false;
                }
                delivery = subscriber.next() => match delivery? {
                    Delivery::Message(publish) => {
                        received += 1;
                        last_message = Instant::now();
                        printer.print(&mut records, &publish.topic, &publish.payload)?;
                        dirty |= !terminal;
                    }
                    Delivery::Connected => {
                        unreachable = None;
                        tracing::info!("subscribed");
                    }
                    Delivery::Lost(error) => {
                        if unreachable.is_none() {
                            tracing::warn!("cannot reach {}: {error}; retrying", subscriber.settings().endpoint());
                        }
                        unreachable = Some(error);
                    }
                },
            }
        };
        records.finish()?;
        subscriber.disconnect().await;
        result
    });
    printer.finish();
    outcome
}

fn tail_objects(ctx: &mut Context, args: &TailObjectsArgs) -> anyhow::Result<Exit> {
    let config = ctx
        .config(super::data_dir_override(args.data_dir.as_deref()))?
        .config;
    let store = crate::store::dir::DirStore::new(&config.data_dir);
    let place = config.data_dir.join("raw").display().to_string();
    super::runtime()?.block_on(follow_objects(
        ctx,
        &store,
        crate::store::RAW,
        &args.follow,
        Duration::from_millis(500),
        (
            &place,
            "is `iotpipe sink` running with this data dir? objects land every sink.buffer_interval",
        ),
    ))
}

fn tail_s3(ctx: &mut Context, args: &TailS3Args) -> anyhow::Result<Exit> {
    let config = ctx.config(Vec::new())?.config;
    if ![
        crate::store::RAW,
        crate::store::REJECTED,
        crate::store::COMPACTED,
    ]
    .iter()
    .any(|area| args.prefix.starts_with(area))
    {
        return Err(Hinted::new(
            Exit::Usage,
            format!("--prefix {:?} is not in the bucket layout", args.prefix),
            "use raw/, rejected/ or compacted/ (optionally deeper, e.g. raw/2026/03/); \
             aws.raw_prefix and friends say where they are in the bucket",
        )
        .into());
    }
    super::runtime()?.block_on(async {
        let aws = super::AwsBackends::new(&config).await?;
        let place = aws.store.uri(&args.prefix);
        follow_objects(
            ctx,
            &*aws.store,
            &args.prefix,
            &args.follow,
            Duration::from_secs(2),
            (
                &place,
                "is the delivery stream (or `iotpipe sink`) writing to this bucket? Firehose \
                 delivers every buffer interval (60-900 s)",
            ),
        )
        .await
    })
}

/// Prints objects under `prefix` as they appear, polling the listing. Keys are
/// named by time (`raw/YYYY/MM/DD/HH/...`), so each poll lists from an hour
/// before the newest key seen instead of the whole history.
async fn follow_objects(
    ctx: &mut Context,
    store: &dyn Store,
    prefix: &str,
    args: &FollowArgs,
    default_poll: Duration,
    (place, hint): (&str, &str),
) -> anyhow::Result<Exit> {
    let mut seen = std::collections::HashSet::new();
    let mut newest: Option<String> = None;
    if !args.existing {
        for object in store.list(prefix).await? {
            newest = Some(object.key.clone());
            seen.insert(object.key);
        }
    }
    tracing::info!("following {place}");
    let mut printed: u64 = 0;
    let mut last_new = Instant::now();
    let mut records = ctx.output.records::<ObjectRow>(true);
    let interrupt = tokio::signal::ctrl_c();
    tokio::pin!(interrupt);
    let mut poll = tokio::time::interval(args.poll.unwrap_or(default_poll));
    let result = loop {
        if args.count.is_some_and(|n| printed >= n) {
            break Ok(Exit::Ok);
        }
        let deadline = args.timeout.map(|t| last_new + t);
        tokio::select! {
            _ = &mut interrupt => break Ok(Exit::Interrupted),
            () = crate::deadline::sleep_until(deadline) => break Err(Hinted::new(
                Exit::Timeout,
                format!("no new object in {place} for {}",
                    humantime::format_duration(args.timeout.unwrap_or_default())),
                hint,
            ).into()),
            _ = poll.tick() => {
                let from = newest.as_deref().map(|key| relist_from(prefix, key));
                let listed = match &from {
                    Some(from) => store.list_after(prefix, from).await?,
                    None => store.list(prefix).await?,
                };
                for object in listed {
                    if newest.as_ref().is_none_or(|n| object.key > *n) {
                        newest = Some(object.key.clone());
                    }
                    if !seen.insert(object.key.clone()) || args.count.is_some_and(|n| printed >= n) {
                        continue;
                    }
                    let (rows, error) = match count_object_rows(store, &object.key).await {
                        Ok(rows) => (Some(rows), None),
                        Err(e) => (None, Some(format!("unreadable: {e}"))),
                    };
                    records.write(&ObjectRow { key: object.key, size: object.size, rows, error })?;
                    printed += 1;
                    last_new = Instant::now();
                }
            }
        }
    };
    records.finish()?;
    result
}

/// Rows in a raw (JSON lines, maybe gzip) or compacted (Parquet) object.
async fn count_object_rows(store: &dyn Store, key: &str) -> Result<u64, String> {
    let body = store.get(key).await.map_err(|e| e.to_string())?;
    if key.ends_with(".parquet") {
        crate::compact::parquet_rows(&body)
    } else {
        crate::sink::count_rows(&body).map_err(|e| e.to_string())
    }
}

/// Where to resume listing: the hour before the newest key's hour
/// (`raw/2026/03/01/09` for `raw/2026/03/01/10/...`), since objects can land a
/// little out of key order; the whole prefix for keys not named by time.
fn relist_from(prefix: &str, newest: &str) -> String {
    let Some(rest) = newest.strip_prefix(prefix) else {
        return prefix.to_string();
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let hour = (parts.len() > 4)
        .then(|| {
            let number = |s: &str| s.parse::<u8>().ok();
            let date = time::Date::from_calendar_date(
                parts[0].parse().ok()?,
                time::Month::try_from(number(parts[1])?).ok()?,
                number(parts[2])?,
            )
            .ok()?;
            date.with_hms(number(parts[3])?, 0, 0).ok()
        })
        .flatten();
    match hour.and_then(|h| h.checked_sub(time::Duration::HOUR)) {
        Some(h) => format!(
            "{prefix}{:04}/{:02}/{:02}/{:02}",
            h.year(),
            h.month() as u8,
            h.day(),
            h.hour()
        ),
        None => prefix.to_string(),
    }
}

/// Writes one payload as received; with -v, wrapped with its topic (or shard)
/// as one JSON object.
fn write_jsonl(
    out: &mut dyn Write,
    source: Option<(&str, &str)>,
    payload: &[u8],
    is_json: bool,
) -> std::io::Result<()> {
    let Some((name, source)) = source else {
        out.write_all(payload)?;
        return out.write_all(b"\n");
    };
    let source = serde_json::to_string(source).unwrap_or_default();
    if is_json {
        write!(out, "{{\"{name}\":{source},\"payload\":")?;
        out.write_all(payload)?;
        out.write_all(b"}\n")
    } else {
        let raw = serde_json::to_string(&String::from_utf8_lossy(payload)).unwrap_or_default();
        writeln!(out, "{{\"{name}\":{source},\"payload_raw\":{raw}}}")
    }
}

fn timed_out(after: Duration, unreachable: Option<&str>) -> anyhow::Error {
    let after = humantime::format_duration(after);
    match unreachable {
        Some(error) => Hinted::new(
            Exit::Timeout,
            format!("no message for {after}: the broker cannot be reached ({error})"),
            "is a broker listening there? check --host/--port (or mqtt.host/mqtt.port)",
        ),
        None => Hinted::new(
            Exit::Timeout,
            format!("no message for {after}"),
            "is anything publishing to these topics? check -t, and run with --verbose",
        ),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::relist_from;

    #[test]
    fn listing_resumes_an_hour_before_the_newest_key() {
        assert_eq!(
            relist_from("raw/", "raw/2026/03/01/00/stream-1-x.jsonl.gz"),
            "raw/2026/02/28/23"
        );
        assert_eq!(
            relist_from("raw/", "raw/2026/03/01/10/o"),
            "raw/2026/03/01/09"
        );
        assert_eq!(relist_from("raw/", "raw/odd-key"), "raw/");
        assert_eq!(relist_from("rejected/", "raw/2026/03/01/10/o"), "rejected/");
    }
}
