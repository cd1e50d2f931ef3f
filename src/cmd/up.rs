//! `iotpipe up`: the whole pipeline on one machine. An embedded MQTT broker
//! (rumqttd), simulated devices publishing through the real MQTT path, the
//! sink, the counter, compaction whenever a batch is full, and the dashboard
//! refreshed after each compaction.

use std::io::IsTerminal;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use rumqttc::QoS;
use time::OffsetDateTime;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::Context;
use crate::compact::local::LocalEngine;
use crate::compact::{Pipeline, Progress};
use crate::config::Source;
use crate::counter::Counter;
use crate::error::{Exit, Hinted};
use crate::mqtt::connection::Link;
use crate::mqtt::publish;
use crate::mqtt::subscribe::Subscriber;
use crate::mqtt::{Session, Settings};
use crate::payload;
use crate::sense::sim::{Sim, SimOptions};
use crate::sink::{Landing, Options};

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Data directory (config data_dir)
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Readings per second per device [default: 1 / sense.every]
    #[arg(long, value_name = "HZ", value_parser = super::publish::parse_rate)]
    pub rate: Option<f64>,

    /// Number of simulated devices
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub devices: u32,

    /// Stop after this long, e.g. 30s or 10m [default: until Ctrl-C]
    #[arg(long, value_name = "DUR", value_parser = super::sense::parse_duration)]
    pub duration: Option<Duration>,

    /// Use this MQTT broker instead of the embedded one (HOST:PORT)
    #[arg(long, value_name = "HOST:PORT")]
    pub broker: Option<String>,

    /// Seed of the simulated devices [default: random]
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
}

/// Starts rumqttd on 127.0.0.1:`port` in a thread of its own.
fn start_embedded_broker(port: u16) -> anyhow::Result<()> {
    let config = format!(
        r#"
id = 0
[router]
id = 0
max_connections = 1010
max_outgoing_packet_count = 200
max_segment_size = 104857600
max_segment_count = 10

[v4.1]
name = "iotpipe-up"
listen = "127.0.0.1:{port}"
next_connection_delay_ms = 1
    [v4.1.connections]
    connection_timeout_ms = 60000
    max_payload_size = {max}
    max_inflight_count = 100
    dynamic_filters = true
"#,
        max = crate::mqtt::IOT_MAX_PAYLOAD * 8
    );
    let config: rumqttd::Config =
        toml::from_str(&config).context("embedded broker configuration")?;
    std::thread::Builder::new()
        .name("broker".into())
        .spawn(move || {
            let mut broker = rumqttd::Broker::new(config);
            if let Err(e) = broker.start() {
                tracing::error!("the embedded broker stopped: {e}");
            }
        })
        .context("starting the embedded broker")?;
    // Ready once it accepts connections.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
        if std::time::Instant::now() > deadline {
            anyhow::bail!("the embedded broker did not start listening on 127.0.0.1:{port}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}

/// `preferred` if it is free on 127.0.0.1, else any free port.
fn free_port(preferred: u16) -> anyhow::Result<u16> {
    if TcpListener::bind((Ipv4Addr::LOCALHOST, preferred)).is_ok() {
        return Ok(preferred);
    }
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("finding a free port")?;
    Ok(listener.local_addr()?.port())
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

pub fn run(ctx: &mut Context, args: &UpArgs) -> anyhow::Result<Exit> {
    let resolved = ctx.config(super::data_dir_override(args.data_dir.as_deref()))?;
    let mut config = resolved.config;
    // Objects every 5 s unless configured: a demo should show data moving.
    if resolved
        .values
        .get("sink.buffer_interval")
        .is_none_or(|(_, source)| *source == Source::Default)
    {
        config.sink.buffer_interval = Duration::from_secs(5);
    }
    let (host, port) = match &args.broker {
        Some(broker) => parse_broker(broker)?,
        None => {
            let port = free_port(config.mqtt.port)?;
            start_embedded_broker(port)?;
            ("127.0.0.1".to_string(), port)
        }
    };
    let mut mqtt = config.mqtt.clone();
    mqtt.host = host;
    mqtt.port = port;
    let rate = args
        .rate
        .unwrap_or_else(|| 1.0 / config.sense.every.as_secs_f64().max(1e-6));
    let quiet = ctx.global.is_quiet();
    let terminal = std::io::stderr().is_terminal();
    let dashboard_out = config.dashboard.out.clone();
    if !quiet {
        let broker = match &args.broker {
            Some(b) => format!("broker {b}"),
            None => format!("embedded broker mqtt://127.0.0.1:{port}"),
        };
        eprintln!(
            "up: {broker}, {} simulated devices at {rate} readings/s each, data in {}, dashboard {}",
            args.devices,
            config.data_dir.display(),
            dashboard_out.join("index.html").display()
        );
        eprintln!("up: Ctrl-C stops cleanly: everything published is landed and compacted");
    }

    let (store, counter) = super::local_backends(&config)?;
    let pipeline = Arc::new(Pipeline {
        engine: Arc::new(LocalEngine::new(store.clone(), None)),
        store: store.clone(),
        counter: counter.clone(),
        fail_point: None,
        claim_grace: None,
    });
    let threshold = config.counter.threshold;
    let seed = args
        .seed
        .unwrap_or_else(|| uuid::Uuid::new_v4().as_u64_pair().0);

    super::runtime()?.block_on(async move {
        let started = Instant::now();
        let (stop_tx, stop_rx) = watch::channel(false);
        let stopped = |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };

        // The sink, subscribed before any device publishes.
        let sink_settings = Settings::from_config(&mqtt, format!("iotpipe-up-sink-{}", config.device_id))?;
        let mut subscriber = Subscriber::new(sink_settings, &[mqtt.topic.clone()], QoS::AtLeastOnce, Session::Persistent)?;
        let options = Options {
            buffer_bytes: config.sink.buffer_bytes,
            buffer_interval: config.sink.buffer_interval,
            gzip: config.sink.gzip,
        };
        let mut landing = Landing::open(store.clone(), counter.clone(), &config.data_dir.join("sink-journal"), options).await?;
        let sink_messages = landing.live();
        let (landed_tx, mut landed_rx) = mpsc::unbounded_channel();
        let (sink_stop_tx, sink_stop_rx) = watch::channel(false);
        let sink = tokio::spawn(async move {
            crate::sink::serve(&mut subscriber, &mut landing, stopped(sink_stop_rx), Some(&landed_tx)).await?;
            let stats = landing.close().await?;
            subscriber.disconnect().await;
            Ok::<_, crate::sink::SinkError>(stats)
        });
        let subscribed = Instant::now() + Duration::from_secs(10);
        while sink_messages.subscribed() == 0 && Instant::now() < subscribed {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }

        // The devices, each a publisher of its own through the broker.
        let mut devices = Vec::new();
        for index in 0..args.devices {
            let device_id = format!("sim-{}", index + 1);
            let settings = Settings::from_config(&mqtt, format!("iotpipe-up-{device_id}"))?;
            let link = Link::new(settings, Session::Clean)?;
            let (tx, rx) = mpsc::channel(1024);
            let sim = Sim::new(SimOptions {
                seed: seed.wrapping_add(u64::from(index)),
                device_id,
                run_id: payload::new_run_id(),
                start: OffsetDateTime::now_utc(),
                step: Duration::from_secs_f64(1.0 / rate),
                imu: false,
            });
            let feeder = tokio::spawn(publish::paced(Box::new(sim), rate, None, tx));
            let options = publish::Options {
                topic: mqtt.topic.clone(),
                qos: QoS::AtLeastOnce,
                retry_for: None,
                drain_for: Duration::from_secs(10),
            };
            let stop = stopped(stop_rx.clone());
            devices.push(tokio::spawn(async move {
                let outcome = publish::run(link, options, None, rx, stop).await;
                feeder.abort();
                outcome
            }));
        }

        // Compaction after each object while batches are full; status line.
        let mut status = tokio::time::interval(if terminal { Duration::from_secs(1) } else { Duration::from_secs(10) });
        let mut last_compaction: Option<String> = None;
        let mut batches_done = 0u64;
        let interrupt = super::publish::interrupted();
        tokio::pin!(interrupt);
        let end = crate::deadline::sleep_until(args.duration.map(|d| started + d));
        tokio::pin!(end);
        let mut last_count = (started, 0u64);
        loop {
            tokio::select! {
                () = &mut interrupt => break,
                () = &mut end => break,
                Some(_) = landed_rx.recv() => {
                    while let Some(batch) = counter.claim_next(threshold, false).await? {
                        let report = pipeline.run_batch(&batch, &Progress::hidden()).await?;
                        batches_done += 1;
                        last_compaction = Some(format!(
                            "{} ({} rows)",
                            &crate::payload::format_ts(OffsetDateTime::now_utc())[11..19],
                            report.compaction.rows_out
                        ));
                        crate::dashboard::refresh(store.clone(), counter.clone(), &dashboard_out).await?;
                    }
                }
                _ = status.tick() => {
                    if !quiet {
                        let messages = sink_messages.messages();
                        let now = Instant::now();
                        let per_second = (messages - last_count.1) as f64 / now.duration_since(last_count.0).as_secs_f64().max(1e-3);
                        last_count = (now, messages);
                        let line = format!(
                            "up: {per_second:.1} readings/s | {messages} readings | {} objects | {} pending of {threshold} | {batches_done} batches | last compaction {}",
                            sink_messages.objects(),
                            counter.pending().await?,
                            last_compaction.as_deref().unwrap_or("-"),
                        );
                        if terminal { eprint!("\r\x1b[2K{line}"); } else { eprintln!("{line}"); }
                    }
                }
            }
        }
        if terminal && !quiet {
            eprintln!();
        }

        // Stop the devices; they wait for their last acknowledgements.
        let _ = stop_tx.send(true);
        let mut published = 0u64;
        for device in devices {
            let outcome = device.await.context("a device task failed")?;
            published += outcome.report.acknowledged;
            if let Some(error) = outcome.error {
                return Err(error.into());
            }
        }
        // Let the sink receive everything the broker acknowledged, then stop it.
        let caught_up = Instant::now() + Duration::from_secs(15);
        while sink_messages.messages() < published && Instant::now() < caught_up {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = sink_stop_tx.send(true);
        let stats = sink.await.context("the sink task failed")??;

        // Compact everything landed, full batch or not, and draw the final dashboard.
        let mut reports = Vec::new();
        for batch in pipeline.resumable().await? {
            reports.push(pipeline.run_batch(&batch, &Progress::hidden()).await?);
        }
        let pending = counter.pending().await?;
        if pending > 0 {
            if let Some(batch) = counter.claim(u32::try_from(pending).unwrap_or(u32::MAX)).await? {
                reports.push(pipeline.run_batch(&batch, &Progress::hidden()).await?);
            }
        }
        let summary = crate::dashboard::refresh(store.clone(), counter.clone(), &dashboard_out).await?;
        if !quiet {
            eprintln!(
                "up: {published} readings published and acknowledged, {} landed in {} objects ({} rejected), \
                 {} batches compacted ({} at the end); {} rows in compacted/; dashboard {}",
                stats.messages,
                stats.objects,
                stats.rejected,
                batches_done + reports.len() as u64,
                reports.len(),
                summary.compacted_rows,
                summary.path.display()
            );
        }
        anyhow::Ok(Exit::Ok)
    })
}
