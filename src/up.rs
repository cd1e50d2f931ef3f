//! `iotpipe up`'s pipeline on one machine: devices (simulators or the Sense HAT) publishing
//! through the real MQTT path, the sink landing and counting, compaction
//! whenever a batch is full, the dashboard after each compaction, and a clean
//! stop that lands and compacts everything that was acknowledged.

use std::time::Duration;

use anyhow::Context as _;
use rumqttc::QoS;
use time::OffsetDateTime;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::backends::Stages;
use crate::compact::{Drain, Engine};
use crate::config::Config;
use crate::mqtt::connection::Link;
use crate::mqtt::publish;
use crate::mqtt::subscribe::Subscriber;
use crate::mqtt::{Role, Session, Settings};
use crate::payload::{KeyRanges, ReadingKey};
use crate::sense::Source;
use crate::signal::Cancel;
use crate::sink::{Landing, Options, Stats};

/// How `up` runs.
pub struct Up {
    /// Each publishes through the broker with a connection of its own.
    pub devices: Vec<Box<dyn Source>>,
    /// Readings per second per device.
    pub rate: f64,
    /// Stop after this long; None: at the signal.
    pub duration: Option<Duration>,
    /// At the stop, how long to wait for acknowledged readings to reach the sink.
    pub drain_timeout: Duration,
    /// Print the status line (stderr).
    pub quiet: bool,
    /// stderr is a terminal: the status line redraws in place every second.
    pub terminal: bool,
}

/// What a run of `up` did.
#[derive(serde::Serialize)]
pub struct Summary {
    /// Readings the broker acknowledged to the devices.
    pub published: u64,
    pub landed: Stats,
    pub batches: u64,
    /// Batches compacted after the stop (the partial one among them).
    pub batches_at_end: u64,
    pub dashboard: crate::dashboard::Summary,
    /// Acknowledged readings that are not a compacted row (the first 1,000).
    pub lost: Vec<ReadingKey>,
    /// How many acknowledged readings are not a compacted row.
    pub lost_count: u64,
    /// Batches that failed at the end: `id: reason`.
    pub skipped: Vec<String>,
    /// The sink was stopped at `drain_timeout` with acknowledged readings missing.
    pub waited_out: bool,
}

/// Runs until `cancel` fires or `up.duration` passes, then drains: devices
/// stop, the sink lands what was acknowledged, everything is compacted.
pub async fn run(config: &Config, up: Up, cancel: &Cancel) -> anyhow::Result<Summary> {
    let mqtt = config.mqtt.clone();
    let rate = up.rate;
    let quiet = up.quiet;
    let terminal = up.terminal;
    let dashboard_out = config.dashboard.out.clone();
    let window = config.dashboard.window;
    let stages = Stages::local(config)?;
    let engine = stages.compactor(Engine::Local, config, None, Cancel::never())?;
    let pipeline = stages.pipeline(engine, None);
    let Stages { store, counter, .. } = stages;
    let threshold = config.counter.threshold;
    let started = Instant::now();
    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };

    // The sink, subscribed before any device publishes.
    let sink_settings = Settings::for_role(config, Role::UpSink, false)?;
    let mut subscriber = Subscriber::new(
        sink_settings,
        std::slice::from_ref(&mqtt.topic),
        QoS::AtLeastOnce,
        Session::Persistent,
    )?;
    let options = Options::from(&config.sink);
    let mut landing = Landing::open(
        store.clone(),
        counter.clone(),
        &config.data_dir.join("sink-journal"),
        options,
    )
    .await?;
    landing.track_keys();
    let sink_messages = landing.live();
    let (landed_tx, mut landed_rx) = mpsc::unbounded_channel();
    let (sink_stop_tx, sink_stop_rx) = watch::channel(false);
    let sink = tokio::spawn(async move {
        crate::sink::serve(
            &mut subscriber,
            &mut landing,
            stopped(sink_stop_rx),
            Some(&landed_tx),
        )
        .await?;
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
    for (index, source) in (1..).zip(up.devices) {
        let settings = Settings::for_role(config, Role::Device(index), false)?;
        let link = Link::new(settings, Session::Clean)?;
        let (tx, rx) = mpsc::channel(1024);
        let feeder = tokio::spawn(publish::paced(source, rate, None, tx));
        let options = publish::Options {
            topic: mqtt.topic.clone(),
            qos: QoS::AtLeastOnce,
            retry_for: None,
            drain_for: Duration::from_secs(10),
            track_acked: true,
        };
        let stop = stopped(stop_rx.clone());
        devices.push(tokio::spawn(async move {
            let outcome = publish::run(link, options, None, rx, stop).await;
            feeder.abort();
            outcome
        }));
    }

    // Compaction after each object while batches are full; status line.
    let mut status = tokio::time::interval(if terminal {
        Duration::from_secs(1)
    } else {
        Duration::from_secs(10)
    });
    let mut last_compaction: Option<String> = None;
    let mut batches_done = 0u64;
    let interrupt = cancel.cancelled();
    tokio::pin!(interrupt);
    let end = crate::deadline::sleep_until(up.duration.map(|d| started + d));
    tokio::pin!(end);
    let mut last_count = (started, 0u64);
    loop {
        tokio::select! {
            () = &mut interrupt => break,
            () = &mut end => break,
            Some(_) = landed_rx.recv() => {
                // A failed batch is retried at the end; the demo goes on.
                let full = Drain { resume: false, ..Drain::full_batches(threshold) };
                let mut drainer = pipeline.drain(full);
                while let Some(done) = drainer.next(&Cancel::never()).await? {
                    let report = match done {
                        Ok(report) => report,
                        Err(failure) => {
                            tracing::error!("batch {} failed: {}; retried at the end", failure.batch, failure.error);
                            continue;
                        }
                    };
                    batches_done += 1;
                    last_compaction = Some(format!(
                        "{} ({} rows)",
                        &crate::payload::format_ts(OffsetDateTime::now_utc())[11..19],
                        report.compaction.rows_out
                    ));
                    crate::dashboard::refresh(store.clone(), counter.clone(), &dashboard_out, window).await?;
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
    let mut acked = KeyRanges::default();
    for device in devices {
        let outcome = device.await.context("a device task failed")?;
        published += outcome.report.acknowledged;
        acked.extend(outcome.report.acked_keys);
        if let Some(error) = outcome.error {
            return Err(error.into());
        }
    }
    // Let the sink journal every reading the broker acknowledged (by key, not
    // by count: redeliveries and rejects count too), then stop it.
    let caught_up = Instant::now() + up.drain_timeout;
    let mut waiting = sink_messages.missing(&acked).len();
    while waiting > 0 && Instant::now() < caught_up {
        tokio::time::sleep(Duration::from_millis(20)).await;
        waiting = sink_messages.missing(&acked).len();
    }
    if waiting > 0 {
        tracing::warn!(
            "{waiting} acknowledged readings had not reached the sink after {}; stopping it anyway",
            humantime::format_duration(up.drain_timeout)
        );
    }
    let _ = sink_stop_tx.send(true);
    let stats = sink.await.context("the sink task failed")??;

    // Compact everything landed, full batch or not, and draw the final dashboard.
    let mut reports = Vec::new();
    let mut skipped = Vec::new();
    let mut drainer = pipeline.drain(Drain {
        partial: true,
        ..Drain::full_batches(threshold)
    });
    while let Some(done) = drainer.next(&Cancel::never()).await? {
        match done {
            Ok(report) => reports.push(report),
            Err(failure) => skipped.push(format!("{}: {}", failure.batch, failure.error)),
        }
    }
    // Every acknowledged reading must now be a row.
    let rows = crate::compact::compacted_ranges(&*store).await?;
    let lost = acked.difference(&rows);
    let dashboard =
        crate::dashboard::refresh(store.clone(), counter.clone(), &dashboard_out, window).await?;
    Ok(Summary {
        published,
        landed: stats,
        batches: batches_done + reports.len() as u64,
        batches_at_end: reports.len() as u64,
        dashboard,
        lost: lost.keys(1000),
        lost_count: lost.len(),
        skipped,
        waited_out: waiting > 0,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::config::{FileChoice, Override};
    use crate::sense::hat::{HatOptions, SenseHat};
    use crate::signal::Cancel;

    /// `up --sense` on a Pi, with the Sense HAT's registers on a fake bus:
    /// every reading the board gives reaches compacted/ once, as the board's device.
    #[tokio::test]
    async fn the_sense_hat_as_the_one_device_lands_every_reading() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("iotpipe.toml");
        std::fs::write(&file, "").expect("config file");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let overrides = [
            Override::new("data_dir", "test", dir.path().display().to_string()),
            Override::new("mqtt.port", "test", i64::from(port)),
            Override::new("counter.threshold", "test", 5),
            Override::new("sink.buffer_interval", "test", "1s"),
        ];
        let choice = FileChoice {
            explicit: Some(file),
        };
        let config = crate::config::resolve(&choice, &overrides)
            .expect("config")
            .config;
        crate::mqtt::broker::start([127, 0, 0, 1].into(), port).expect("broker");
        let hat = SenseHat::open(
            Box::new(crate::sense::tests::board()),
            HatOptions {
                device_id: "pi-kitchen".into(),
                cpu_heat: None,
                reboot_wait: Duration::ZERO,
            },
        )
        .expect("the fake board opens");
        let up = super::Up {
            devices: vec![Box::new(hat)],
            rate: 20.0,
            duration: Some(Duration::from_secs(4)),
            drain_timeout: Duration::from_secs(20),
            quiet: true,
            terminal: false,
        };
        let summary = super::run(&config, up, &Cancel::never())
            .await
            .expect("up runs");
        assert!(
            summary.published >= 40,
            "20/s for 4 s: {}",
            summary.published
        );
        assert!(summary.lost.is_empty(), "lost: {:?}", summary.lost);
        assert_eq!(summary.dashboard.compacted_rows, summary.published);
        let rows = crate::compact::compacted_ranges(&*crate::backends::data_dir_store(&config))
            .await
            .expect("compacted ranges");
        let ranges: Vec<(&str, &str, u64, u64)> = rows.ranges().collect();
        assert_eq!(ranges.len(), 1, "one device, one run: {ranges:?}");
        let (device, _, first, last) = ranges[0];
        assert_eq!(
            (device, first, last),
            ("pi-kitchen", 0, summary.published - 1)
        );
    }
}
