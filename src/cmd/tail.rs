//! `iotpipe tail`: follow the stream. `tail mqtt` subscribes like mosquitto_sub,
//! validating each payload against schema v1 and explaining the ones that fail.

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

    /// Print raw objects as they land in the local store (key, size, rows)
    Objects(TailObjectsArgs),
}

#[derive(Debug, Args)]
pub struct TailObjectsArgs {
    /// Data directory (config data_dir)
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Also print the objects already there when starting
    #[arg(long)]
    pub existing: bool,

    /// Exit after N objects
    #[arg(short = 'C', long = "count", value_name = "N")]
    pub count: Option<u64>,

    /// Exit with code 4 after this long without a new object (seconds, or e.g. 2m)
    #[arg(short = 'W', long = "timeout", value_name = "SECS", value_parser = parse_timeout)]
    pub timeout: Option<Duration>,

    /// How often to look for new objects
    #[arg(long, value_name = "DUR", default_value = "500ms", value_parser = humantime::parse_duration)]
    pub poll: Duration,
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
        TailCommand::Objects(args) => tail_objects(ctx, args),
    }
}

/// A payload as a table row: valid readings show their values, others their raw text.
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
            Column::left("topic", 12),
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
    let format = ctx.output.format;
    let terminal = ctx.output.is_terminal();
    let show_topic = args.show_topic;
    let mut malformed = Malformed { seen: 0 };

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
                        let parsed = Reading::parse(&publish.payload);
                        if let Err(error) = &parsed {
                            malformed.warn(&publish.topic, error, &publish.payload);
                        }
                        match format {
                            Format::Jsonl => {
                                let is_json = parsed.is_ok()
                                    || serde_json::from_slice::<serde::de::IgnoredAny>(&publish.payload).is_ok();
                                write_jsonl(records.raw(), &publish, is_json, show_topic)?
                            }
                            _ => records.write(&match parsed {
                                Ok(reading) => MessageRow::Reading { topic: publish.topic.clone(), reading: Box::new(reading) },
                                Err(_) => MessageRow::Malformed {
                                    topic: publish.topic.clone(),
                                    raw: String::from_utf8_lossy(&publish.payload).into_owned(),
                                },
                            })?,
                        }
                        if terminal {
                            records.flush()?;
                        } else {
                            dirty = true;
                        }
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
    malformed.finish();
    outcome
}

fn tail_objects(ctx: &mut Context, args: &TailObjectsArgs) -> anyhow::Result<Exit> {
    let config = ctx
        .config(super::data_dir_override(args.data_dir.as_deref()))?
        .config;
    let store = crate::store::dir::DirStore::new(&config.data_dir);
    let runtime = super::runtime()?;
    runtime.block_on(async {
        let mut seen = std::collections::HashSet::new();
        if !args.existing {
            seen.extend(crate::store::keys(&store, crate::store::RAW).await?);
        }
        let mut printed: u64 = 0;
        let mut last_new = Instant::now();
        let mut records = ctx.output.records::<ObjectRow>(true);
        let interrupt = tokio::signal::ctrl_c();
        tokio::pin!(interrupt);
        let mut poll = tokio::time::interval(args.poll);
        let result = loop {
            if args.count.is_some_and(|n| printed >= n) {
                break Ok(Exit::Ok);
            }
            let deadline = args.timeout.map(|t| last_new + t);
            tokio::select! {
                _ = &mut interrupt => break Ok(Exit::Interrupted),
                () = crate::deadline::sleep_until(deadline) => break Err(Hinted::new(
                    Exit::Timeout,
                    format!("no new object in {} for {}", config.data_dir.join("raw").display(),
                        humantime::format_duration(args.timeout.unwrap_or_default())),
                    "is `iotpipe sink` running with this data dir? objects land every sink.buffer_interval",
                ).into()),
                _ = poll.tick() => {
                    for object in store.list(crate::store::RAW).await? {
                        if !seen.insert(object.key.clone()) || args.count.is_some_and(|n| printed >= n) {
                            continue;
                        }
                        let counted = match store.get(&object.key).await {
                            Ok(body) => crate::sink::count_rows(&body).map_err(|e| e.to_string()),
                            Err(e) => Err(e.to_string()),
                        };
                        let (rows, error) = match counted {
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
    })
}

/// Writes one payload as received; with -v, wrapped with its topic as one JSON object.
fn write_jsonl(
    out: &mut dyn Write,
    publish: &rumqttc::Publish,
    is_json: bool,
    show_topic: bool,
) -> std::io::Result<()> {
    if !show_topic {
        out.write_all(&publish.payload)?;
        return out.write_all(b"\n");
    }
    let topic = serde_json::to_string(&publish.topic).unwrap_or_default();
    if is_json {
        out.write_all(b"{\"topic\":")?;
        out.write_all(topic.as_bytes())?;
        out.write_all(b",\"payload\":")?;
        out.write_all(&publish.payload)?;
        out.write_all(b"}\n")
    } else {
        let raw =
            serde_json::to_string(&String::from_utf8_lossy(&publish.payload)).unwrap_or_default();
        writeln!(out, "{{\"topic\":{topic},\"payload_raw\":{raw}}}")
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
