//! `iotpipe publish`: publish readings (simulator, Sense HAT) or lines (stdin, a
//! file, `-m`) over MQTT, like mosquitto_pub but counting every PUBACK.

use std::io::BufRead;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args};
use time::OffsetDateTime;
use tokio::sync::mpsc;

use super::Context;
use crate::config::{Config, Override};
use crate::error::Exit;
use crate::journal::Journal;
use crate::mqtt::connection::Link;
use crate::mqtt::publish::{self, Input, Report};
use crate::mqtt::{self, MqttError, Settings};
use crate::output::Format;
use crate::payload;
use crate::sense::sim::{Sim, SimOptions};
use crate::sense::{self, Source};

/// Flags that name the broker and how to reach it, shared with `tail mqtt`.
#[derive(Debug, Clone, Args)]
pub struct BrokerArgs {
    /// Broker host (config mqtt.host)
    #[arg(short = 'h', long, value_name = "HOST")]
    pub host: Option<String>,

    /// Broker port (config mqtt.port)
    #[arg(short = 'p', long, value_name = "PORT")]
    pub port: Option<u16>,

    /// Client id (config mqtt.client_id) [default: iotpipe-<command>-<device_id>-<random>]
    #[arg(short = 'i', long, value_name = "ID")]
    pub client_id: Option<String>,

    /// Username (config mqtt.username)
    #[arg(short = 'u', long, value_name = "USER")]
    pub username: Option<String>,

    /// Password (config mqtt.password; prefer IOTPIPE_MQTT_PASSWORD, which ps cannot see)
    #[arg(short = 'P', long, value_name = "PASSWORD")]
    pub password: Option<String>,

    /// CA certificates (PEM) that signed the broker's certificate; turns TLS on
    #[arg(long, value_name = "FILE")]
    pub cafile: Option<PathBuf>,

    /// Client certificate (PEM), e.g. the IoT Core device certificate
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,

    /// Private key (PEM) of the client certificate
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,

    /// TLS with ALPN x-amzn-mqtt-ca, for AWS IoT Core on port 443
    #[arg(long)]
    pub alpn: bool,

    /// TLS even without certificate flags (verified against the system's CAs)
    #[arg(long)]
    pub tls: bool,

    /// Enforce AWS IoT Core's limits [default: when the host ends in .amazonaws.com]
    #[arg(long)]
    pub iot_core: bool,

    /// Print help
    #[arg(long, action = ArgAction::Help)]
    pub help: Option<bool>,
}

impl BrokerArgs {
    pub fn overrides(&self) -> Vec<Override> {
        let mut o = Vec::new();
        let mut string = |key, flag, value: &Option<String>| {
            if let Some(v) = value {
                o.push(Override::new(key, flag, v.as_str()));
            }
        };
        string("mqtt.host", "--host", &self.host);
        string("mqtt.client_id", "--client-id", &self.client_id);
        string("mqtt.username", "--username", &self.username);
        string("mqtt.password", "--password", &self.password);
        for (key, flag, path) in [
            ("mqtt.cafile", "--cafile", &self.cafile),
            ("mqtt.cert", "--cert", &self.cert),
            ("mqtt.key", "--key", &self.key),
        ] {
            if let Some(path) = path {
                o.push(Override::new(key, flag, path.display().to_string()));
            }
        }
        if let Some(port) = self.port {
            o.push(Override::new("mqtt.port", "--port", i64::from(port)));
        }
        for (key, flag, on) in [
            ("mqtt.alpn", "--alpn", self.alpn),
            ("mqtt.tls", "--tls", self.tls),
            ("mqtt.iot_core", "--iot-core", self.iot_core),
        ] {
            if on {
                o.push(Override::new(key, flag, true));
            }
        }
        o
    }
}

#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct PublishArgs {
    #[command(flatten)]
    pub broker: BrokerArgs,

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
    #[arg(long, value_name = "HZ", value_parser = parse_rate)]
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
    #[arg(long, value_name = "DUR", value_parser = humantime::parse_duration)]
    pub retry_for: Option<Duration>,
}

pub fn parse_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err("expected a number of messages per second greater than 0".into()),
    }
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
    let client_id = format!(
        "iotpipe-publish-{}-{}",
        config.device_id,
        mqtt::random_suffix()
    );
    let settings = Settings::from_config(&config.mqtt, client_id)?;
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
    let endless = sampling && args.count.is_none();
    let outcome = runtime.block_on(async {
        let outbox = if use_outbox {
            Some(
                Journal::open(&config.outbox.dir, config.outbox.max_bytes)
                    .map_err(MqttError::from)?,
            )
        } else {
            None
        };
        if let Some((_, backlog)) = &outbox {
            if !backlog.is_empty() {
                tracing::warn!(
                    "sending {} messages left in the outbox {} by an earlier run first",
                    backlog.len(),
                    config.outbox.dir.display()
                );
            }
        }
        let (tx, rx) = mpsc::channel(4096);
        let producer = spawn_source(source, sensor, &config, &settings, args, tx);
        let options = publish::Options {
            topic: config.mqtt.topic.clone(),
            qos,
            retry_for,
            drain_for: Duration::from_secs(5),
        };
        let outcome = publish::run(link, options, outbox, rx, interrupted()).await;
        if let Some(producer) = producer {
            producer.abort();
        }
        Ok::<_, MqttError>(outcome)
    })?;

    let report = &outcome.report;
    if !ctx.global.is_quiet() {
        eprintln!("{}", summary(report, &settings, qos));
    }
    if matches!(ctx.global.output, Some(Format::Json | Format::Jsonl)) {
        ctx.output.value(report)?;
    }
    if let Some(error) = outcome.error {
        return Err(error.into());
    }
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
    if report.interrupted && !endless {
        return Ok(Exit::Interrupted);
    }
    Ok(Exit::Ok)
}

/// Resolves on Ctrl-C or SIGTERM (systemd's stop).
pub async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

fn summary(report: &Report, settings: &Settings, qos: rumqttc::QoS) -> String {
    let acked = if qos == rumqttc::QoS::AtMostOnce {
        "written (QoS 0)"
    } else {
        "acknowledged"
    };
    let mut text = format!(
        "published {} of {} messages to {}: {} {acked}, {} not, {} resent, {} reconnects; {:.0} msgs/s over {:.2} s",
        report.sent,
        report.total,
        settings.endpoint(),
        report.acknowledged,
        report.unacknowledged(),
        report.resent,
        report.reconnects,
        report.per_second,
        report.seconds,
    );
    if report.from_outbox > 0 {
        text.push_str(&format!("; {} came from the outbox", report.from_outbox));
    }
    if report.dropped > 0 {
        text.push_str(&format!("; {} dropped at the outbox cap", report.dropped));
    }
    text
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
        SourceKind::Message(message) => Some(tokio::spawn(async move {
            for _ in 0..count.unwrap_or(1) {
                if tx
                    .send(Input::Payload(message.clone().into_bytes()))
                    .await
                    .is_err()
                {
                    break;
                }
            }
        })),
        SourceKind::Lines { path, validate } => {
            // Blocking reads on a thread of their own; the channel carries them over.
            let lines = LineSource {
                path,
                count,
                rate: args.rate,
                validate,
                settings: settings.clone(),
            };
            // The thread stops at its next send once the engine stops listening.
            std::thread::spawn(move || lines.read(&tx));
            None
        }
        SourceKind::Sim | SourceKind::Sensor => {
            let rate = args
                .rate
                .unwrap_or_else(|| 1.0 / config.sense.every.as_secs_f64().max(1e-6));
            let readings: Box<dyn Source> = match sensor {
                Some(sensor) => sensor,
                None => Box::new(Sim::new(SimOptions {
                    seed: args
                        .seed
                        .unwrap_or_else(|| uuid::Uuid::new_v4().as_u64_pair().0),
                    device_id: config.device_id.clone(),
                    run_id: payload::new_run_id(),
                    start: OffsetDateTime::now_utc(),
                    step: Duration::from_secs_f64(1.0 / rate),
                    imu: args.imu,
                })),
            };
            Some(tokio::spawn(publish::paced(readings, rate, count, tx)))
        }
    }
}

/// Lines to publish, read like `mosquitto_pub -l`: one message per line, empty
/// lines skipped; a line that cannot be sent stops the run after the ones before it.
struct LineSource {
    path: Option<PathBuf>,
    count: Option<u64>,
    rate: Option<f64>,
    /// Check each line against schema v1 (`--replay`).
    validate: bool,
    settings: Settings,
}

impl LineSource {
    fn read(self, tx: &mpsc::Sender<Input>) {
        let fail = |message: String| {
            let _ = tx.blocking_send(Input::Fail(MqttError::Limit(message)));
        };
        let input: Box<dyn std::io::Read> = match &self.path {
            Some(path) => match std::fs::File::open(path) {
                Ok(file) => Box::new(file),
                Err(e) => return fail(format!("cannot read {}: {e}", path.display())),
            },
            None => Box::new(std::io::stdin()),
        };
        let mut reader = std::io::BufReader::with_capacity(256 * 1024, input);
        let name = self
            .path
            .as_ref()
            .map_or("stdin".to_string(), |p| p.display().to_string());
        let at = |index: usize| format!("{name} line {}", index + 1);
        let started = std::time::Instant::now();
        let mut sent: u64 = 0;
        let mut batch: Vec<Vec<u8>> = Vec::new();
        let mut index = 0;
        loop {
            if self.count.is_some_and(|n| sent >= n) {
                break;
            }
            let mut line = Vec::new();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => return fail(format!("reading {} failed: {e}", at(index))),
            }
            index += 1;
            if line.last() == Some(&b'\n') {
                line.pop();
            }
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            if line.is_empty() {
                continue;
            }
            if let Err(too_big) = self.settings.check_payload(line.len()) {
                let _ = tx.blocking_send(Input::Payloads(std::mem::take(&mut batch)));
                return fail(format!(
                    "{}: {too_big} (the lines before it were sent)",
                    at(index - 1)
                ));
            }
            if self.validate {
                if let Err(invalid) = payload::Reading::parse(&line) {
                    let _ = tx.blocking_send(Input::Payloads(std::mem::take(&mut batch)));
                    return fail(format!(
                        "{} is not a schema v1 reading: {invalid} (the lines before it were sent)",
                        at(index - 1)
                    ));
                }
            }
            if let Some(rate) = self.rate {
                let due = started + Duration::from_secs_f64(sent as f64 / rate);
                std::thread::sleep(due.saturating_duration_since(std::time::Instant::now()));
            }
            batch.push(line);
            sent += 1;
            // Hand over a batch when it is full, paced, or nothing more is buffered
            // (an interactive stdin must not wait for 256 lines).
            let hand_over = batch.len() >= 256 || self.rate.is_some() || reader.buffer().is_empty();
            if hand_over
                && tx
                    .blocking_send(Input::Payloads(std::mem::take(&mut batch)))
                    .is_err()
            {
                return;
            }
        }
        if !batch.is_empty() {
            let _ = tx.blocking_send(Input::Payloads(batch));
        }
    }
}
