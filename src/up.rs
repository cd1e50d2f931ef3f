//! `iotpipe up`'s pipeline on one machine: devices (simulators or the Sense HAT) publishing
//! through the real MQTT path, the sink landing and counting, compaction
//! whenever a batch is full, the dashboard after each compaction, and a clean
//! stop that lands and compacts everything that was acknowledged.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context as _;
use rumqttc::QoS;
use time::OffsetDateTime;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::backends::Stages;
use crate::compact::{BatchOutcome, Drain, Engine, Pipeline, Watcher};
use crate::config::Config;
use crate::counter::Counter;
use crate::mqtt::broker::{Broker, Ingest};
use crate::mqtt::connection::Link;
use crate::mqtt::publish::{self, PublishOptions};
use crate::mqtt::subscribe::{Deliveries, Subscriber};
use crate::mqtt::{ClientRole, Session, Settings};
use crate::payload::{KeyRanges, ReadingKey};
use crate::sense::Source;
use crate::signal::Cancel;
use crate::sink::{Landing, LandingOptions, Live, SinkError, Stats};
use crate::store::ObjectInfo;
use crate::store::Store;

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
    /// How often [`UpStatus`] is reported while running.
    pub status_every: Duration,
    /// The embedded broker and its ingest, which the sink takes readings
    /// from; None: the sink subscribes to the broker `mqtt.host` names.
    pub embedded: Option<(Broker, Ingest)>,
    /// Where to serve the live dashboard, `/metrics` and `/healthz`.
    pub http: Option<std::net::TcpListener>,
}

/// How the pipeline stands, reported every [`Up::status_every`] while it runs.
#[derive(Debug, Clone)]
pub struct UpStatus {
    /// Readings the sink journaled per second since the last report.
    pub per_second: f64,
    pub readings: u64,
    pub objects: u64,
    pub pending: u64,
    pub threshold: u32,
    pub batches: u64,
    /// When the last batch was compacted (UTC time of day) and its rows.
    pub last_compaction: Option<(String, u64)>,
}

/// What a run of `up` did.
#[derive(serde::Serialize)]
pub struct UpOutcome {
    /// Readings acknowledged: by the embedded broker to every publisher, or
    /// by another broker to up's own devices.
    pub published: u64,
    pub landed: Stats,
    pub batches: u64,
    /// Batches compacted after the stop (the partial one among them).
    pub batches_at_end: u64,
    pub dashboard: crate::dashboard::PageSummary,
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
/// `status` hears how the pipeline stands every [`Up::status_every`].
pub async fn run(
    config: &Config,
    up: Up,
    cancel: &Cancel,
    status: &mut dyn FnMut(&UpStatus),
) -> anyhow::Result<UpOutcome> {
    // `--duration` counts from the start, start-up included, as before.
    let deadline = up.duration.map(|d| Instant::now() + d);
    let stages = Stages::local(config)?;
    let engine = stages.compactor(Engine::Local, config, None, Cancel::never())?;
    let pipeline = stages.pipeline(engine, None);
    let dashboard = DashboardPage::new(config, &stages);
    if let Some(listener) = up.http {
        tokio::spawn(crate::http::serve(listener, dashboard.endpoints()));
    }
    let broker_stats = up.embedded.as_ref().map(|(broker, _)| broker.stats.clone());
    let mut sink = SinkTask::start(config, &stages, up.embedded.map(|(_, ingest)| ingest)).await?;
    let fleet = Fleet::start(config, up.devices, up.rate)?;

    let mut compactor = Compactions {
        pipeline: &pipeline,
        dashboard: &dashboard,
        threshold: config.counter.threshold,
        batches: 0,
        last: None,
    };
    let mut reporter = StatusReporter::new(&sink.live, stages.counter.clone(), up.status_every);
    let mut watchdog = crate::systemd::Watchdog::new();
    crate::systemd::ready();
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            () = crate::deadline::sleep_until(deadline) => break,
            Some(_) = sink.landed.recv() => compactor.full_batches().await?,
            () = reporter.tick() => status(&reporter.status(&compactor).await?),
            () = watchdog.due() => watchdog.ping(),
        }
    }
    crate::systemd::stopping();

    let acknowledged = fleet.stop().await?;
    let (landed, waited_out, journaled) = sink
        .stop_once_landed(&acknowledged.keys, up.drain_timeout)
        .await?;
    let (at_end, skipped) = compactor.everything().await?;
    // Every acknowledged reading must now be a row: the devices', and every
    // one the sink journaled (with the embedded broker, every publisher's).
    let rows = crate::compact::compacted_ranges(&*stages.store).await?;
    let mut expected = acknowledged.keys;
    expected.extend(journaled);
    let lost = expected.difference(&rows);
    let published = match broker_stats {
        Some(stats) => stats.ingest_acknowledged.load(Ordering::Relaxed),
        None => acknowledged.count,
    };
    Ok(UpOutcome {
        published,
        landed,
        batches: compactor.batches,
        batches_at_end: at_end,
        dashboard: dashboard.draw().await?,
        lost: lost.keys(1000),
        lost_count: lost.len(),
        skipped,
        waited_out,
    })
}

/// The HTML dashboard of the data dir, redrawn after compactions.
struct DashboardPage {
    store: Arc<dyn Store>,
    counter: Arc<dyn Counter>,
    out: std::path::PathBuf,
    window: Duration,
}

impl DashboardPage {
    fn new(config: &Config, stages: &Stages) -> DashboardPage {
        DashboardPage {
            store: stages.store.clone(),
            counter: stages.counter.clone(),
            out: config.dashboard.out.clone(),
            window: config.dashboard.window,
        }
    }

    /// The live page and the numbers, served while `up` runs.
    fn endpoints(&self) -> crate::http::Endpoints {
        use crate::metrics::Section;
        let page =
            crate::dashboard::html::served(self.store.clone(), self.counter.clone(), self.window);
        crate::http::Endpoints {
            sections: vec![Section::Publishing, Section::Landing, Section::Compacting],
            page: Some(page),
        }
    }

    async fn draw(
        &self,
    ) -> Result<crate::dashboard::PageSummary, crate::dashboard::DashboardError> {
        crate::dashboard::refresh(
            self.store.clone(),
            self.counter.clone(),
            &self.out,
            self.window,
        )
        .await
    }
}

/// Compaction while `up` runs (full batches, after each object) and at its
/// end (everything), with the dashboard redrawn after each drain that
/// compacted something.
struct Compactions<'p> {
    pipeline: &'p Pipeline,
    dashboard: &'p DashboardPage,
    threshold: u32,
    /// Batches compacted so far.
    batches: u64,
    last: Option<(String, u64)>,
}

/// Counts the batches of a drain and remembers the last one.
#[derive(Default)]
struct Tally {
    compacted: u64,
    last: Option<(String, u64)>,
}

impl Watcher for Tally {
    fn finished(&mut self, outcome: &BatchOutcome) {
        let metrics = &crate::metrics::get().compacting;
        match outcome {
            Ok(report) => {
                metrics.batches_compacted.inc();
                metrics.rows_written.inc_by(report.compaction.rows_out);
                metrics.seconds.inc_by(report.seconds);
                crate::metrics::health().ok("compaction");
                self.compacted += 1;
                let now = crate::payload::format_ts(OffsetDateTime::now_utc());
                self.last = Some((now[11..19].to_string(), report.compaction.rows_out));
            }
            Err(failure) => {
                metrics.batches_failed.inc();
                crate::metrics::health().fail(
                    "compaction",
                    format!("batch {} failed: {}", failure.batch, failure.error),
                );
                tracing::error!(
                    "batch {} failed: {}; retried at the end",
                    failure.batch,
                    failure.error
                );
            }
        }
    }
}

impl Compactions<'_> {
    /// Compacts the full batches, if any; a failed batch is retried at the end.
    async fn full_batches(&mut self) -> anyhow::Result<()> {
        let full = Drain {
            resume: false,
            ..Drain::full_batches(self.threshold)
        };
        self.drain(&full).await?;
        Ok(())
    }

    /// Compacts everything landed, full batch or not; returns how many
    /// batches, and the ones that failed (`id: reason`).
    async fn everything(&mut self) -> anyhow::Result<(u64, Vec<String>)> {
        let all = Drain {
            partial: true,
            ..Drain::full_batches(self.threshold)
        };
        let drained = self.drain(&all).await?;
        let failed = drained
            .failed
            .iter()
            .map(|failure| format!("{}: {}", failure.batch, failure.error))
            .collect();
        Ok((drained.compacted.len() as u64, failed))
    }

    async fn drain(&mut self, drain: &Drain) -> anyhow::Result<crate::compact::Drained> {
        let mut tally = Tally::default();
        let drained = self
            .pipeline
            .drain(drain, &Cancel::never(), &mut tally)
            .await?;
        self.batches += tally.compacted;
        if tally.compacted > 0 {
            self.last = tally.last;
            self.dashboard.draw().await?;
        }
        Ok(drained)
    }
}

/// The sink as a task of its own: subscribed before any device publishes,
/// announcing each object it lands.
struct SinkTask {
    live: Arc<Live>,
    landed: mpsc::UnboundedReceiver<ObjectInfo>,
    stop: watch::Sender<bool>,
    task: JoinHandle<Result<Stats, SinkError>>,
}

/// How long `up` waits for its sink's first subscription.
const SUBSCRIBE_WAIT: Duration = Duration::from_secs(10);

impl SinkTask {
    async fn start(
        config: &Config,
        stages: &Stages,
        ingest: Option<Ingest>,
    ) -> anyhow::Result<SinkTask> {
        let journal = crate::sink::journal_dir(&config.data_dir);
        let mut landing = Landing::open(
            stages.store.clone(),
            stages.counter.clone(),
            &journal,
            LandingOptions::from(config),
        )
        .await?;
        landing.track_keys();
        let live = landing.live();
        let (landed_tx, landed) = mpsc::unbounded_channel();
        let (stop, stop_rx) = watch::channel(false);
        let task = match ingest {
            Some(ingest) => tokio::spawn(land(ingest, landing, stop_rx, landed_tx)),
            None => {
                let mut settings = Settings::for_role(config, ClientRole::UpSink, false)?;
                settings.client_id = crate::sink::client_id(&journal, &settings.client_id)?;
                let subscriber = Subscriber::new(
                    settings,
                    std::slice::from_ref(&config.mqtt.topic),
                    QoS::AtLeastOnce,
                    Session::Persistent,
                )?;
                tokio::spawn(land(subscriber, landing, stop_rx, landed_tx))
            }
        };
        // A device's first readings would otherwise reach a broker nobody subscribed to yet.
        let _ = tokio::time::timeout(
            SUBSCRIBE_WAIT,
            live.wait_until(|live| live.subscribed() > 0),
        )
        .await;
        Ok(SinkTask {
            live,
            landed,
            stop,
            task,
        })
    }

    /// Waits until the sink has journaled every reading of `acknowledged`
    /// (by key, not by count: redeliveries and rejects count too) or
    /// `timeout` passes, then stops it. True in the second place when it
    /// was stopped with readings missing.
    async fn stop_once_landed(
        self,
        acknowledged: &KeyRanges,
        timeout: Duration,
    ) -> anyhow::Result<(Stats, bool, KeyRanges)> {
        let all_there = self
            .live
            .wait_until(|live| live.missing(acknowledged).is_empty());
        let waited_out = tokio::time::timeout(timeout, all_there).await.is_err();
        if waited_out {
            tracing::warn!(
                "{} acknowledged readings had not reached the sink after {}; stopping it anyway",
                self.live.missing(acknowledged).len(),
                humantime::format_duration(timeout)
            );
        }
        let _ = self.stop.send(true);
        let stats = self.task.await.context("the sink task failed")??;
        Ok((stats, waited_out, self.live.journaled()))
    }
}

/// The sink's work in `up`: lands what `deliveries` brings until told to stop.
async fn land(
    mut deliveries: impl Deliveries,
    mut landing: Landing,
    stop: watch::Receiver<bool>,
    landed: mpsc::UnboundedSender<ObjectInfo>,
) -> Result<Stats, SinkError> {
    crate::sink::serve(&mut deliveries, &mut landing, stopped(stop), Some(&landed)).await?;
    let stats = landing.close().await?;
    deliveries.close().await;
    Ok(stats)
}

/// Resolves once `true` is sent on the channel (or its sender is gone).
async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

/// The devices, each a publisher of its own through the broker.
struct Fleet {
    devices: Vec<JoinHandle<publish::Outcome>>,
    stop: watch::Sender<bool>,
}

/// What the broker acknowledged to the fleet.
struct Acknowledged {
    count: u64,
    keys: KeyRanges,
}

impl Fleet {
    fn start(config: &Config, sources: Vec<Box<dyn Source>>, rate: f64) -> anyhow::Result<Fleet> {
        let (stop, stop_rx) = watch::channel(false);
        let mut devices = Vec::new();
        for (index, source) in (1..).zip(sources) {
            let settings = Settings::for_role(config, ClientRole::Device(index), false)?;
            let link = Link::new(settings, Session::Clean)?;
            let (tx, rx) = mpsc::channel(1024);
            let feeder = tokio::spawn(crate::mqtt::feed::paced(source, rate, None, tx));
            let options = PublishOptions {
                topic: config.mqtt.topic.clone(),
                qos: QoS::AtLeastOnce,
                retry_for: None,
                drain_for: Duration::from_secs(10),
                track_acked: true,
                retain: false,
            };
            let stop = stopped(stop_rx.clone());
            devices.push(tokio::spawn(async move {
                let outcome = publish::run(link, options, None, rx, stop).await;
                feeder.abort();
                outcome
            }));
        }
        Ok(Fleet { devices, stop })
    }

    /// Stops every device; each waits for its last acknowledgements.
    async fn stop(self) -> anyhow::Result<Acknowledged> {
        let _ = self.stop.send(true);
        let mut acknowledged = Acknowledged {
            count: 0,
            keys: KeyRanges::default(),
        };
        for device in self.devices {
            let outcome = device.await.context("a device task failed")?;
            acknowledged.count += outcome.report.acknowledged;
            acknowledged.keys.extend(outcome.report.acked_keys);
            if let Some(error) = outcome.error {
                return Err(error.into());
            }
        }
        Ok(acknowledged)
    }
}

/// Makes an [`UpStatus`] every interval from the sink's counts.
struct StatusReporter {
    live: Arc<Live>,
    counter: Arc<dyn Counter>,
    interval: tokio::time::Interval,
    /// When readings were last counted, and how many there were.
    last: (Instant, u64),
}

impl StatusReporter {
    fn new(live: &Arc<Live>, counter: Arc<dyn Counter>, every: Duration) -> StatusReporter {
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        StatusReporter {
            live: live.clone(),
            counter,
            interval,
            last: (Instant::now(), 0),
        }
    }

    async fn tick(&mut self) {
        self.interval.tick().await;
    }

    async fn status(&mut self, compactions: &Compactions<'_>) -> anyhow::Result<UpStatus> {
        let readings = self.live.messages();
        let now = Instant::now();
        let elapsed = now.duration_since(self.last.0).as_secs_f64().max(1e-3);
        let per_second = (readings - self.last.1) as f64 / elapsed;
        self.last = (now, readings);
        let pending = self.counter.pending().await?;
        crate::metrics::get()
            .compacting
            .pending_objects
            .set(i64::try_from(pending).unwrap_or(i64::MAX));
        Ok(UpStatus {
            per_second,
            readings,
            objects: self.live.objects(),
            pending,
            threshold: compactions.threshold,
            batches: compactions.batches,
            last_compaction: compactions.last.clone(),
        })
    }
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
        let embedded = crate::mqtt::broker::start(crate::mqtt::broker::BrokerOptions::new(
            ([127, 0, 0, 1], port).into(),
            &config.mqtt.topic,
            config.sink.ingest_bytes,
        ))
        .expect("broker");
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
            status_every: Duration::from_secs(1),
            embedded: Some(embedded),
            http: None,
        };
        let mut statuses = 0;
        let summary = super::run(&config, up, &Cancel::never(), &mut |_| statuses += 1)
            .await
            .expect("up runs");
        assert!(
            summary.published >= 40,
            "20/s for 4 s: {}",
            summary.published
        );
        assert!(summary.lost.is_empty(), "lost: {:?}", summary.lost);
        assert!(statuses >= 3, "a status a second for 4 s: {statuses}");
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
