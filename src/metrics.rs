//! What an operator scrapes: the counters and gauges of each stage, in the
//! OpenMetrics text format Prometheus reads (`--http ADDR`, `/metrics`), and
//! the health a supervisor asks for (`/healthz`). One set per process, filled
//! by the stages as they work; a command shows the sections it runs.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Mutex, OnceLock};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// A metric's labels: here, the device.
pub type Labels = Vec<(String, String)>;

/// `publish` (and `up`'s devices).
pub struct Publishing {
    pub published: Counter,
    pub acknowledged: Counter,
    /// Readings in the outbox and not acknowledged yet.
    pub outbox_backlog: Gauge,
    pub outbox_dropped: Counter,
}

/// `sink` (and `up`'s).
pub struct Landing {
    pub received: Counter,
    pub landed: Counter,
    pub rejected: Counter,
    pub objects: Counter,
    /// Messages journaled and not yet in an object.
    pub journal_backlog: Gauge,
    pub missing: Counter,
    pub device_last_reading: Family<Labels, Gauge<f64, AtomicU64>>,
    pub device_readings: Family<Labels, Counter>,
    /// Devices that have sent nothing for `alert.quiet_after`.
    pub quiet_devices: Gauge,
}

/// The compaction `up` runs.
pub struct Compacting {
    pub pending_objects: Gauge,
    pub batches_compacted: Counter,
    pub batches_failed: Counter,
    pub rows_written: Counter,
    pub seconds: Counter<f64, AtomicU64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Publishing,
    Landing,
    Compacting,
}

pub struct Metrics {
    pub publishing: Publishing,
    pub landing: Landing,
    pub compacting: Compacting,
    registries: [(Section, Registry); 3],
    process: Process,
}

/// Every command's: its memory as the program sees it (see [`crate::heap`]),
/// read when scraped.
struct Process {
    heap_bytes: Gauge,
    mapped_bytes: Gauge,
    registry: Registry,
}

impl Process {
    fn registered() -> Process {
        let heap_bytes = Gauge::default();
        let mapped_bytes = Gauge::default();
        let mut registry = Registry::with_prefix("iotpipe");
        registry.register(
            "heap_bytes",
            "Bytes held by live allocations, as the program counts them",
            heap_bytes.clone(),
        );
        registry.register(
            "mapped_anonymous_bytes",
            "Anonymous memory the program has mapped (allocator arenas, stacks), per /proc/self/maps",
            mapped_bytes.clone(),
        );
        Process {
            heap_bytes,
            mapped_bytes,
            registry,
        }
    }
}

/// The process's metrics.
pub fn get() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

impl Metrics {
    fn new() -> Metrics {
        let (publishing, device) = Publishing::registered();
        let (landing, sink) = Landing::registered();
        let (compacting, compaction) = Compacting::registered();
        Metrics {
            publishing,
            landing,
            compacting,
            registries: [
                (Section::Publishing, device),
                (Section::Landing, sink),
                (Section::Compacting, compaction),
            ],
            process: Process::registered(),
        }
    }
}

impl Publishing {
    fn registered() -> (Publishing, Registry) {
        let metrics = Publishing {
            published: Counter::default(),
            acknowledged: Counter::default(),
            outbox_backlog: Gauge::default(),
            outbox_dropped: Counter::default(),
        };
        let mut registry = Registry::with_prefix("iotpipe");
        let m = &metrics;
        registry.register(
            "readings_published",
            "Readings taken to publish",
            m.published.clone(),
        );
        registry.register(
            "readings_acknowledged",
            "Readings the broker acknowledged",
            m.acknowledged.clone(),
        );
        registry.register(
            "outbox_backlog",
            "Readings in the outbox not acknowledged yet",
            m.outbox_backlog.clone(),
        );
        (metrics, registry)
    }
}

impl Landing {
    fn registered() -> (Landing, Registry) {
        let metrics = Landing {
            received: Counter::default(),
            landed: Counter::default(),
            rejected: Counter::default(),
            objects: Counter::default(),
            journal_backlog: Gauge::default(),
            missing: Counter::default(),
            device_last_reading: Family::default(),
            device_readings: Family::default(),
            quiet_devices: Gauge::default(),
        };
        let mut registry = Registry::with_prefix("iotpipe");
        let m = &metrics;
        let counters = [
            (
                "messages_received",
                "Messages the sink received",
                &m.received,
            ),
            (
                "readings_landed",
                "Schema v1 readings landed in raw objects",
                &m.landed,
            ),
            (
                "payloads_rejected",
                "Payloads set aside under rejected/",
                &m.rejected,
            ),
            ("objects_written", "Raw objects written", &m.objects),
            (
                "readings_missing",
                "Readings a run skipped and that never arrived (dropped by a broker)",
                &m.missing,
            ),
        ];
        register_counters(&mut registry, &counters);
        registry.register(
            "journal_backlog",
            "Messages journaled and not yet in an object",
            m.journal_backlog.clone(),
        );
        registry.register(
            "device_last_reading_timestamp_seconds",
            "When each device's newest reading was taken (Unix seconds)",
            m.device_last_reading.clone(),
        );
        registry.register(
            "device_readings",
            "Readings received per device",
            m.device_readings.clone(),
        );
        registry.register(
            "quiet_devices",
            "Devices that have sent nothing for alert.quiet_after",
            m.quiet_devices.clone(),
        );
        (metrics, registry)
    }
}

impl Compacting {
    fn registered() -> (Compacting, Registry) {
        let metrics = Compacting {
            pending_objects: Gauge::default(),
            batches_compacted: Counter::default(),
            batches_failed: Counter::default(),
            rows_written: Counter::default(),
            seconds: Counter::default(),
        };
        let mut registry = Registry::with_prefix("iotpipe");
        let m = &metrics;
        registry.register(
            "pending_objects",
            "Raw objects counted and not yet compacted",
            m.pending_objects.clone(),
        );
        let counters = [
            (
                "batches_compacted",
                "Batches compacted into Parquet",
                &m.batches_compacted,
            ),
            (
                "batches_failed",
                "Batch compactions that failed",
                &m.batches_failed,
            ),
            (
                "rows_written",
                "Rows written to compacted/",
                &m.rows_written,
            ),
        ];
        register_counters(&mut registry, &counters);
        registry.register(
            "compaction_seconds",
            "Time spent compacting batches",
            m.seconds.clone(),
        );
        (metrics, registry)
    }
}

/// Registers counters: name (without `_total`), help, the counter.
fn register_counters(registry: &mut Registry, counters: &[(&str, &str, &Counter)]) {
    for (name, help, counter) in counters {
        registry.register(*name, *help, (*counter).clone());
    }
}

/// The OpenMetrics text of `sections`.
pub fn encode(sections: &[Section]) -> String {
    let mut text = String::new();
    for (section, registry) in &get().registries {
        if sections.contains(section) {
            // Writing to a String does not fail.
            let _ = prometheus_client::encoding::text::encode_registry(&mut text, registry);
        }
    }
    let process = &get().process;
    let clamp = |bytes: u64| i64::try_from(bytes).unwrap_or(i64::MAX);
    process.heap_bytes.set(clamp(crate::heap::live_bytes()));
    if let Some(mapped) = crate::heap::mapped_anonymous_bytes() {
        process.mapped_bytes.set(clamp(mapped));
    }
    let _ = prometheus_client::encoding::text::encode_registry(&mut text, &process.registry);
    let _ = prometheus_client::encoding::text::encode_eof(&mut text);
    text
}

/// What is wrong right now, by part: the broker, the journal, compaction.
/// Healthy while empty.
pub struct Health {
    problems: Mutex<BTreeMap<&'static str, String>>,
}

/// The process's health.
pub fn health() -> &'static Health {
    static HEALTH: OnceLock<Health> = OnceLock::new();
    HEALTH.get_or_init(|| Health {
        problems: Mutex::new(BTreeMap::new()),
    })
}

impl Health {
    pub fn fail(&self, part: &'static str, reason: impl Into<String>) {
        self.lock().insert(part, reason.into());
    }

    pub fn ok(&self, part: &'static str) {
        self.lock().remove(part);
    }

    /// `part: reason` for each problem.
    pub fn problems(&self) -> Vec<String> {
        self.lock()
            .iter()
            .map(|(part, reason)| format!("{part}: {reason}"))
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<&'static str, String>> {
        self.problems.lock().unwrap_or_else(|e| e.into_inner())
    }
}
