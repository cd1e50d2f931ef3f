//! `iotpipe up`: the whole pipeline on one machine. An embedded MQTT broker
//! (acknowledging a reading once the sink has journaled it), simulated
//! devices (or the Sense HAT, `--sense`) publishing through the real MQTT path, the sink, the counter, compaction whenever a
//! batch is full, and the dashboard refreshed after each compaction.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::Context;
use crate::config::{Origin, Override};
use crate::error::{Exit, Hinted};
use crate::mqtt::broker;
use crate::output::progress::StatusLine;
use crate::payload;
use crate::sense::sim::{Sim, SimOptions};
use crate::sense::{self, Source};
use crate::up::{UpOutcome, UpStatus};

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Data directory (config data_dir)
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Readings per second per device [default: 1 / sense.every]
    #[arg(long, value_name = "HZ", value_parser = super::args::parse_rate)]
    pub rate: Option<f64>,

    /// Number of simulated devices; 0: only what other publishers send to the broker
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(0..=1000))]
    pub devices: u32,

    /// Read the Sense HAT (sense.bus) as the one device, instead of simulators:
    /// the whole pipeline on the Raspberry Pi
    #[arg(long, conflicts_with_all = ["devices", "seed"])]
    pub sense: bool,

    /// Stop after this long, e.g. 30s or 10m [default: until Ctrl-C]
    #[arg(long, value_name = "DUR", value_parser = super::args::parse_duration)]
    pub duration: Option<Duration>,

    /// Use this MQTT broker instead of the embedded one (HOST:PORT)
    #[arg(long, value_name = "HOST:PORT")]
    pub broker: Option<String>,

    /// Address the embedded broker listens on, at mqtt.port; 0.0.0.0 accepts
    /// devices on the network (plain MQTT, no authentication) [default: 127.0.0.1]
    #[arg(long, value_name = "ADDR", conflicts_with = "broker")]
    pub listen: Option<std::net::IpAddr>,

    /// At the stop, how long to wait for every acknowledged reading to reach the sink
    #[arg(long, value_name = "DUR", default_value = "30s", value_parser = super::args::parse_duration)]
    pub drain_timeout: Duration,

    /// Seed of the simulated devices [default: random]
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,

    /// Serve the live dashboard at /, /metrics and /healthz on ADDR:PORT, or
    /// `off` (config http.listen) [default: 127.0.0.1, a free port]
    #[arg(long, value_name = "ADDR")]
    pub http: Option<String>,
}

fn parse_broker(text: &str) -> anyhow::Result<(String, u16)> {
    let (host, port) = text.rsplit_once(':').ok_or_else(|| {
        Hinted::new(
            Exit::Usage,
            format!("--broker {text:?} is not HOST:PORT"),
            "for example --broker 127.0.0.1:1883",
        )
    })?;
    let port = port.parse::<u16>().map_err(|_| {
        Hinted::new(
            Exit::Usage,
            format!("--broker {text:?}: {port:?} is not a port"),
            "for example --broker 127.0.0.1:1883",
        )
    })?;
    Ok((host.to_string(), port))
}

/// The devices publishing through the broker: the Sense HAT, or simulators.
fn devices(
    args: &UpArgs,
    config: &crate::config::Config,
    rate: f64,
) -> anyhow::Result<Vec<Box<dyn Source>>> {
    if args.sense {
        let hat = sense::open_hardware(
            config.sense.bus,
            sense::hat::HatOptions::from_config(config),
        )
        .map_err(|error| {
            use crate::error::Diagnose as _;
            let hint = error.hint().unwrap_or_default();
            let hint = hint
                .strip_suffix("; elsewhere, use --sim for simulated readings")
                .unwrap_or(&hint);
            Hinted::new(
                Exit::Failure,
                error.to_string(),
                format!(
                    "{hint}; without a Sense HAT, leave out --sense: `iotpipe up` simulates devices"
                ),
            )
        })?;
        return Ok(vec![Box::new(hat)]);
    }
    let seed = args
        .seed
        .unwrap_or_else(|| uuid::Uuid::new_v4().as_u64_pair().0);
    let step = Duration::from_secs_f64(1.0 / rate);
    let start = time::OffsetDateTime::now_utc();
    Ok((0..args.devices)
        .map(|index| {
            Box::new(Sim::new(SimOptions {
                seed: seed.wrapping_add(u64::from(index)),
                device_id: format!("sim-{}", index + 1),
                run_id: payload::new_run_id(),
                start,
                step,
                imu: false,
            })) as Box<dyn Source>
        })
        .collect())
}

pub fn run(ctx: &mut Context, args: &UpArgs) -> anyhow::Result<Exit> {
    let mut overrides = super::args::data_dir_override(args.data_dir.as_deref());
    if let Some(listen) = &args.http {
        overrides.push(Override::new("http.listen", "--http", listen.as_str()));
    }
    // Objects every 5 s unless configured: a demo should show data moving.
    overrides.push(Override::default_of(
        "iotpipe up",
        "sink.buffer_interval",
        "5s",
    ));
    let resolved = ctx.config(overrides.clone())?;
    // Only a port nobody chose may move when it is taken.
    let port_chosen = resolved
        .values
        .get("mqtt.port")
        .filter(|(_, origin)| *origin != Origin::Default)
        .map(|(_, origin)| origin.to_string());
    let config = resolved.config;
    let rate = args
        .rate
        .unwrap_or_else(|| 1.0 / config.sense.every.as_secs_f64().max(1e-6));
    // The Sense HAT is opened first, so a missing one fails before anything starts.
    let devices = devices(args, &config, rate)?;
    let mut broker = start_broker(args, &config, port_chosen)?;
    overrides.push(Override::new("mqtt.host", "--broker", broker.host.clone()));
    overrides.push(Override::new(
        "mqtt.port",
        "--broker",
        i64::from(broker.port),
    ));
    let config = ctx.config(overrides)?.config;
    // The live dashboard's socket: by default a free port on 127.0.0.1.
    let listen = config.http.listen.as_deref().unwrap_or("127.0.0.1:0");
    let http = super::args::bind_http(listen, true)?;
    if !ctx.quiet {
        let live = http
            .as_ref()
            .and_then(|listener| listener.local_addr().ok())
            .map(|addr| format!("http://{addr}/ (metrics on /metrics), file "))
            .unwrap_or_default();
        crate::note!(
            "up: {}, {}, data in {}, dashboard {live}{}",
            broker.shown,
            devices_line(args, &config, rate),
            config.data_dir.display(),
            config.dashboard.out.join("index.html").display()
        );
        crate::note!("up: Ctrl-C stops cleanly: everything published is landed and compacted");
    }

    let terminal = std::io::stderr().is_terminal();
    let up = crate::up::Up {
        devices,
        rate,
        duration: args.duration,
        drain_timeout: args.drain_timeout,
        status_every: Duration::from_secs(if terminal { 1 } else { 10 }),
        embedded: broker.embedded.take(),
        http,
    };
    let mut line = StatusLine::new(terminal);
    let quiet = ctx.quiet;
    let mut draw = |status: &UpStatus| {
        if !quiet {
            line.draw(&status_line(status));
        }
    };
    let outcome = super::runtime()?.block_on(async {
        let cancel = super::on_signals();
        crate::up::run(&config, up, &cancel, &mut draw).await
    });
    line.end();
    report(ctx, &outcome?)
}

/// Where devices here connect, and how the start-up line names the broker.
struct Broker {
    host: String,
    port: u16,
    shown: String,
    /// The embedded broker, if it is the one.
    embedded: Option<(broker::Broker, broker::Ingest)>,
}

fn start_embedded(
    config: &crate::config::Config,
    address: std::net::IpAddr,
    port: u16,
) -> anyhow::Result<(broker::Broker, broker::Ingest)> {
    broker::start(broker::BrokerOptions::new(
        (address, port).into(),
        &config.mqtt.topic,
        config.sink.ingest_bytes,
    ))
}

/// The broker `--broker` names, or the embedded one, started. The embedded
/// one takes `mqtt.port`; when that port is busy it moves to a free one only
/// if nobody chose it (`port_chosen` names where it was set, if it was).
fn start_broker(
    args: &UpArgs,
    config: &crate::config::Config,
    port_chosen: Option<String>,
) -> anyhow::Result<Broker> {
    match (&args.broker, args.listen) {
        (Some(broker), _) => {
            let (host, port) = parse_broker(broker)?;
            Ok(Broker {
                host,
                port,
                shown: format!("broker {broker}"),
                embedded: None,
            })
        }
        (None, Some(address)) if !address.is_loopback() => {
            // Devices elsewhere are configured with this port: no other will do.
            let embedded = start_embedded(config, address, config.mqtt.port)?;
            tracing::warn!(
                "the embedded broker accepts anyone who reaches {address}:{}: plain MQTT, no \
                 authentication; keep it to a network you trust",
                config.mqtt.port
            );
            let local = if address.is_unspecified() {
                "127.0.0.1".to_string()
            } else {
                address.to_string()
            };
            Ok(Broker {
                host: local,
                port: config.mqtt.port,
                shown: format!("embedded broker mqtt://{address}:{}", config.mqtt.port),
                embedded: Some(embedded),
            })
        }
        (None, listen) => {
            let address = listen.unwrap_or(std::net::Ipv4Addr::LOCALHOST.into());
            let port = broker::free_port(address, config.mqtt.port)?;
            if let Some(origin) = port_chosen.filter(|_| port != config.mqtt.port) {
                return Err(Hinted::new(
                    Exit::Failure,
                    format!(
                        "port {} on {address} is in use (mqtt.port, {origin})",
                        config.mqtt.port
                    ),
                    "stop what listens there (`ss -ltnp` shows it), or set another mqtt.port; \
                     left unset, up takes a free port and prints it",
                )
                .into());
            }
            let embedded = start_embedded(config, address, port)?;
            Ok(Broker {
                host: address.to_string(),
                port,
                shown: format!("embedded broker mqtt://{address}:{port}"),
                embedded: Some(embedded),
            })
        }
    }
}

/// The start-up line's words on the devices.
fn devices_line(args: &UpArgs, config: &crate::config::Config, rate: f64) -> String {
    match (args.sense, args.devices) {
        (true, _) => format!(
            "the Sense HAT on /dev/i2c-{} as {} at {rate} readings/s",
            config.sense.bus, config.device_id
        ),
        (false, 0) => format!(
            "no simulated devices (publish to it: iotpipe publish -t {} -h {} -p {})",
            config.mqtt.topic, config.mqtt.host, config.mqtt.port
        ),
        (false, n) => format!("{n} simulated devices at {rate} readings/s each"),
    }
}

fn status_line(status: &UpStatus) -> String {
    let last = status.last_compaction.as_ref().map_or_else(
        || "-".to_string(),
        |(at, rows)| format!("{at} ({rows} rows)"),
    );
    format!(
        "up: {:.1} readings/s | {} readings | {} objects | {} pending of {} | {} batches | last compaction {last}",
        status.per_second,
        status.readings,
        status.objects,
        status.pending,
        status.threshold,
        status.batches,
    )
}

/// The closing line, and the exit: 1 when an acknowledged reading is not a
/// row, 3 when batches were skipped.
fn report(ctx: &mut Context, summary: &UpOutcome) -> anyhow::Result<Exit> {
    let landed = &summary.landed;
    let line = format!(
        "up: {} readings published and acknowledged, {} landed in {} objects ({} rejected), \
         {} batches compacted ({} at the end); {} rows in compacted/; dashboard {}",
        summary.published,
        landed.messages,
        landed.objects,
        landed.rejected,
        summary.batches,
        summary.batches_at_end,
        summary.dashboard.compacted_rows,
        summary.dashboard.path.display()
    );
    ctx.output.summary(&line, Some(summary))?;
    if summary.lost_count > 0 {
        let shown: Vec<String> = summary
            .lost
            .iter()
            .take(10)
            .map(|k| k.to_string())
            .collect();
        return Err(Hinted::new(
            Exit::Failure,
            format!(
                "{} of {} readings published and acknowledged are not in compacted/: {}{}",
                summary.lost_count,
                summary.published,
                shown.join(", "),
                if summary.lost_count > 10 { ", ..." } else { "" }
            ),
            if summary.waited_out {
                "the sink did not receive them before the stop gave up waiting; check the \
                 broker's log and `iotpipe tail objects`"
            } else {
                "they reached the sink; `iotpipe counters` and rejected/ show where they are"
            },
        )
        .into());
    }
    if !summary.skipped.is_empty() {
        return Err(Hinted::new(
            Exit::Partial,
            format!(
                "{} batches failed and were skipped: {}",
                summary.skipped.len(),
                summary.skipped.join("; ")
            ),
            "they stay retryable: `iotpipe compact` retries them",
        )
        .into());
    }
    Ok(Exit::Ok)
}
