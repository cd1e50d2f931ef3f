//! `iotpipe publish`: publish readings (simulator, Sense HAT) or lines (stdin, a
//! file, `-m`) over MQTT, like mosquitto_pub but counting every PUBACK.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use time::OffsetDateTime;
use tokio::sync::mpsc;

use super::Context;
use super::args::BrokerArgs;
use crate::config::{Config, Override};
use crate::error::Exit;
use crate::journal::Journal;
use crate::mqtt::connection::Link;
use crate::mqtt::feed::{self, Lines};
use crate::mqtt::publish::{self, Input};
use crate::mqtt::{self, ClientRole, MqttError, Settings};
use crate::sense::sim::{Sim, SimOptions};
use crate::sense::{self, Source};

#[derive(Debug, Args)]
#[command(disable_help_flag = true, disable_version_flag = true)]
pub struct PublishArgs {
    #[command(flatten)]
    pub broker: BrokerArgs,

    #[command(flatten)]
    pub http: super::args::HttpArgs,

    /// AWS IoT Core over WebSockets on 443, signed with your AWS credentials
    /// (profile, SSO, environment) instead of a device certificate
    #[cfg(feature = "pipeline")]
    #[arg(long)]
    pub sigv4: bool,

    /// Retain each message: the broker keeps the last for new subscribers
    #[arg(short = 'r', long)]
    pub retain: bool,

    /// Status topic: the broker publishes --will-payload there when this
    /// device vanishes (config mqtt.will_topic)
    #[arg(long, value_name = "TOPIC")]
    pub will_topic: Option<String>,

    /// The will's payload (config mqtt.will_payload, default "offline")
    #[arg(long, value_name = "MSG", requires = "will_topic")]
    pub will_payload: Option<String>,

    /// The will's QoS, 0 or 1 (config mqtt.will_qos, default 1)
    #[arg(long, value_name = "0|1", requires = "will_topic", value_parser = clap::value_parser!(u8).range(0..=1))]
    pub will_qos: Option<u8>,

    /// Retain the will and the birth message (config mqtt.will_retain, default true)
    #[arg(long, value_name = "BOOL", requires = "will_topic")]
    pub will_retain: Option<bool>,

    /// Published to the status topic on every connection, e.g. "online"
    /// (config mqtt.birth_payload)
    #[arg(long, value_name = "MSG", requires = "will_topic")]
    pub birth_payload: Option<String>,

    /// Topic to publish to (config mqtt.topic)
    #[arg(short = 't', long, value_name = "TOPIC")]
    pub topic: Option<String>,

    /// QoS 0 or 1 (config mqtt.qos); 1 counts a PUBACK per message
    #[arg(short = 'q', long, value_name = "0|1")]
    pub qos: Option<u8>,

    /// Unacknowledged QoS 1 messages in flight (config mqtt.max_inflight)
    #[arg(long, value_name = "N")]
    pub max_inflight: Option<u16>,

    /// Publish one message
    #[arg(short = 'm', long, value_name = "MSG", group = "source")]
    pub message: Option<String>,

    /// Publish each line of stdin as one message (like mosquitto_pub -l)
    #[arg(short = 'l', long = "stdin-lines", group = "source")]
    pub lines: bool,

    /// Publish each line of FILE as one message
    #[arg(long, value_name = "FILE", group = "source")]
    pub file: Option<PathBuf>,

    /// Publish recorded readings: JSON lines of schema v1, each validated
    /// (paced by --rate if given)
    #[arg(long, value_name = "FILE", group = "source")]
    pub replay: Option<PathBuf>,

    /// Publish simulated readings instead of the Sense HAT's
    #[arg(long, group = "source")]
    pub sim: bool,

    /// Seed for --sim [default: random]
    #[arg(long, value_name = "S", requires = "sim")]
    pub seed: Option<u64>,

    /// Include the simulated IMU in --sim readings
    #[arg(long, requires = "sim")]
    pub imu: bool,

    /// Device id in readings (config device_id)
    #[arg(long, value_name = "ID")]
    pub device_id: Option<String>,

    /// Messages per second [default: 1 / sense.every for the Sense HAT and
    /// --sim; as fast as acknowledged for lines]
    #[arg(long, value_name = "HZ", value_parser = super::args::parse_rate)]
    pub rate: Option<f64>,

    /// Stop after N messages [default: all lines; endless for sensors]
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,

    /// Keep messages in this durable outbox until acknowledged [default: on for
    /// sensors and --sim, in outbox.dir]
    #[arg(long, value_name = "DIR")]
    pub outbox: Option<PathBuf>,

    /// No outbox, even for sensors
    #[arg(long, conflicts_with = "outbox")]
    pub no_outbox: bool,

    /// Give up after the broker is unreachable this long, e.g. 30s [default: 30s;
    /// never with an outbox]
    #[arg(long, value_name = "DUR", value_parser = super::args::parse_duration)]
    pub retry_for: Option<Duration>,
}

enum SourceKind {
    Message(String),
    /// Lines of stdin (None) or a file; `validate` for --replay.
    Lines {
        path: Option<PathBuf>,
        validate: bool,
    },
    Sim,
    Sensor,
}

impl PublishArgs {
    fn source(&self) -> SourceKind {
        if let Some(message) = &self.message {
            SourceKind::Message(message.clone())
        } else if self.lines {
            SourceKind::Lines {
                path: None,
                validate: false,
            }
        } else if let Some(file) = &self.file {
            SourceKind::Lines {
                path: Some(file.clone()),
                validate: false,
            }
        } else if let Some(file) = &self.replay {
            SourceKind::Lines {
                path: Some(file.clone()),
                validate: true,
            }
        } else if self.sim {
            SourceKind::Sim
        } else {
            SourceKind::Sensor
        }
    }

    fn overrides(&self) -> Vec<Override> {
        let mut o = self.broker.overrides();
        o.extend(self.http.overrides());
        if let Some(topic) = &self.will_topic {
            o.push(Override::new(
                "mqtt.will_topic",
                "--will-topic",
                topic.as_str(),
            ));
        }
        if let Some(payload) = &self.will_payload {
            o.push(Override::new(
                "mqtt.will_payload",
                "--will-payload",
                payload.as_str(),
            ));
        }
        if let Some(qos) = self.will_qos {
            o.push(Override::new("mqtt.will_qos", "--will-qos", i64::from(qos)));
        }
        if let Some(retain) = self.will_retain {
            o.push(Override::new("mqtt.will_retain", "--will-retain", retain));
        }
        if let Some(payload) = &self.birth_payload {
            o.push(Override::new(
                "mqtt.birth_payload",
                "--birth-payload",
                payload.as_str(),
            ));
        }
        if let Some(topic) = &self.topic {
            o.push(Override::new("mqtt.topic", "--topic", topic.as_str()));
        }
        if let Some(qos) = self.qos {
            // 2 passes the schema so the MQTT layer can explain why it is refused.
            if qos <= 1 {
                o.push(Override::new("mqtt.qos", "--qos", i64::from(qos)));
            }
        }
        if let Some(n) = self.max_inflight {
            o.push(Override::new(
                "mqtt.max_inflight",
                "--max-inflight",
                i64::from(n),
            ));
        }
        if let Some(id) = &self.device_id {
            o.push(Override::new("device_id", "--device-id", id.as_str()));
        }
        if let Some(dir) = &self.outbox {
            o.push(Override::new(
                "outbox.dir",
                "--outbox",
                dir.display().to_string(),
            ));
        }
        o
    }
}

pub fn run(ctx: &mut Context, args: &PublishArgs) -> anyhow::Result<Exit> {
    let config = ctx.config(args.overrides())?.config;
    let exact_id = args.broker.client_id.is_some();
    #[allow(unused_mut)]
    let mut settings = Settings::for_role(&config, ClientRole::Publish, exact_id)?;
    #[cfg(feature = "pipeline")]
    if args.sigv4 {
        super::args::sign_with_aws(&mut settings, &config, args.broker.port)?;
    }
    let qos = settings.qos(args.qos.unwrap_or(config.mqtt.qos))?;
    settings.check_topic(&config.mqtt.topic)?;
    let source = args.source();
    if let SourceKind::Message(message) = &source {
        settings.check_payload(message.len())?;
    }
    let sampling = matches!(source, SourceKind::Sim | SourceKind::Sensor);
    let use_outbox = !args.no_outbox && (sampling || args.outbox.is_some());
    let retry_for = args
        .retry_for
        .or((!use_outbox).then_some(Duration::from_secs(30)));
    // Open the hardware before anything else, so a missing Sense HAT fails fast.
    let sensor = match source {
        SourceKind::Sensor => Some(Box::new(sense::open_hardware(
            config.sense.bus,
            sense::hat::HatOptions::from_config(&config),
        )?) as Box<dyn Source>),
        _ => None,
    };
    let link = Link::new(settings.clone(), mqtt::Session::Clean)?;

    let runtime = super::runtime()?;
    let endpoints = crate::http::Endpoints {
        sections: vec![crate::metrics::Section::Publishing],
        page: None,
    };
    runtime.block_on(async {
        super::args::serve_http(
            config.http.listen.as_deref(),
            endpoints,
            ctx.quiet,
            "publish",
        )
    })?;
    crate::systemd::ready();
    let endless = sampling && args.count.is_none();
    let outcome = runtime.block_on(async {
        let outbox = open_outbox(&config, use_outbox)?;
        // Lines come in batches of up to 256: a few batches ahead is enough
        // to keep the connection busy, and memory stays that small whatever
        // the input's size (4,096 batches held a whole file).
        let ahead = if matches!(source, SourceKind::Lines { .. }) {
            16
        } else {
            4096
        };
        let (tx, rx) = mpsc::channel(ahead);
        let producer = spawn_source(source, sensor, &config, &settings, args, tx);
        let options = publish::PublishOptions {
            topic: config.mqtt.topic.clone(),
            qos,
            retry_for,
            drain_for: Duration::from_secs(5),
            track_acked: false,
            retain: args.retain,
        };
        let outcome =
            publish::run(link, options, outbox, rx, super::on_signals().cancelled()).await;
        if let Some(producer) = producer {
            producer.abort();
        }
        Ok::<_, MqttError>(outcome)
    })?;

    crate::systemd::stopping();
    let report = &outcome.report;
    ctx.output
        .summary(&report.summary(&settings.endpoint(), qos), Some(report))?;
    if let Some(error) = outcome.error {
        return Err(error.into());
    }
    exit_of(report, &config, &settings, use_outbox, endless)
}

/// The outbox and what an earlier run left in it, when one is used.
fn open_outbox(
    config: &crate::config::Config,
    use_outbox: bool,
) -> Result<Option<(Journal, Vec<crate::journal::Entry>)>, MqttError> {
    if !use_outbox {
        return Ok(None);
    }
    let (journal, backlog) = Journal::open(&config.outbox.dir, config.outbox.max_bytes)?;
    if !backlog.is_empty() {
        tracing::warn!(
            "sending {} messages left in the outbox {} by an earlier run first",
            backlog.len(),
            config.outbox.dir.display()
        );
    }
    Ok(Some((journal, backlog)))
}

/// The exit a finished run deserves: 3 for readings neither acknowledged nor
/// kept, or dropped at the outbox's cap; 130 for an interrupted count.
fn exit_of(
    report: &publish::PublishReport,
    config: &crate::config::Config,
    settings: &Settings,
    use_outbox: bool,
    endless: bool,
) -> anyhow::Result<Exit> {
    let unacked = report.unacknowledged();
    if unacked > 0 || (!report.input_complete && !report.interrupted) {
        return Err(MqttError::Unacknowledged {
            unacked,
            total: report.total,
            endpoint: settings.endpoint(),
            cause: report.last_error.clone(),
            outbox: use_outbox.then(|| config.outbox.dir.clone()),
        }
        .into());
    }
    if report.dropped > 0 {
        return Err(MqttError::Dropped {
            dropped: report.dropped,
            total: report.total,
            max_bytes: config.outbox.max_bytes,
        }
        .into());
    }
    if report.interrupted && !endless {
        return Ok(Exit::Interrupted);
    }
    Ok(Exit::Ok)
}

/// Starts the producer for `source`, feeding `tx`.
fn spawn_source(
    source: SourceKind,
    sensor: Option<Box<dyn Source>>,
    config: &Config,
    settings: &Settings,
    args: &PublishArgs,
    tx: mpsc::Sender<Input>,
) -> Option<tokio::task::JoinHandle<()>> {
    let count = args.count;
    match source {
        SourceKind::Message(message) => Some(feed::repeat(message, count.unwrap_or(1), tx)),
        SourceKind::Lines { path, validate } => {
            let lines = Lines {
                path,
                count,
                rate: args.rate,
                validate,
                settings: settings.clone(),
            };
            lines.spawn(tx);
            None
        }
        SourceKind::Sim | SourceKind::Sensor => {
            let rate = args
                .rate
                .unwrap_or_else(|| 1.0 / config.sense.every.as_secs_f64().max(1e-6));
            let readings: Box<dyn Source> = match sensor {
                Some(sensor) => sensor,
                None => Box::new(Sim::new(SimOptions::run(
                    config.device_id.clone(),
                    args.seed,
                    OffsetDateTime::now_utc(),
                    Duration::from_secs_f64(1.0 / rate),
                    args.imu,
                ))),
            };
            Some(tokio::spawn(feed::paced(readings, rate, count, tx)))
        }
    }
}
