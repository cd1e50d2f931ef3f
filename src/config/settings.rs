//! The typed configuration every command reads, deserialized from the merged
//! layers. Closed sets of values are enums here, so a value the schema accepts
//! never fails where it is used.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    humantime::parse_duration(&text).map_err(serde::de::Error::custom)
}

fn optional_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    Option::<String>::deserialize(d)?
        .map(|text| humantime::parse_duration(&text).map_err(serde::de::Error::custom))
        .transpose()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Local,
    Aws,
}

/// `counter.backend`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CounterBackend {
    /// `<data_dir>/counter.sqlite3`: one machine lands and compacts.
    Sqlite,
    /// The table `counter.table`: the Lambda, other machines and `compact` share it.
    Dynamodb,
}

/// The typed configuration every command reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub device_id: String,
    pub data_dir: PathBuf,
    pub backend: Backend,
    pub mqtt: MqttConfig,
    pub outbox: OutboxConfig,
    pub sense: SenseConfig,
    pub sink: SinkConfig,
    pub counter: CounterConfig,
    pub compact: CompactConfig,
    pub aws: AwsConfig,
    pub athena: AthenaConfig,
    pub kinesis: KinesisConfig,
    pub lambda: LambdaConfig,
    pub quicksight: QuickSightConfig,
    pub dashboard: DashboardConfig,
    #[serde(default)]
    pub http: HttpConfig,
    pub alert: AlertConfig,
}

/// `--http`: where a long-running command serves `/metrics` and `/healthz`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// ADDR:PORT; unset: off, except for `up` (127.0.0.1, a free port).
    pub listen: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertConfig {
    /// A device that has sent nothing for this long is logged, once, as quiet.
    #[serde(deserialize_with = "duration")]
    pub quiet_after: Duration,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttConfig {
    pub host: String,
    pub port: u16,
    pub topic: String,
    pub qos: u8,
    /// `publish`'s last will: the broker publishes `will_payload` here when
    /// the device vanishes without saying goodbye.
    pub will_topic: Option<String>,
    pub will_payload: String,
    pub will_qos: u8,
    pub will_retain: bool,
    /// Published to `will_topic` on every connection (an online/offline status).
    pub birth_payload: Option<String>,
    pub client_id: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub cafile: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub alpn: bool,
    pub tls: Option<bool>,
    pub iot_core: Option<bool>,
    pub max_inflight: u16,
    #[serde(deserialize_with = "duration")]
    pub keep_alive: Duration,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxConfig {
    pub dir: PathBuf,
    pub max_bytes: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SenseConfig {
    #[serde(deserialize_with = "duration")]
    pub every: Duration,
    pub cpu_heat_factor: Option<f64>,
    pub bus: u8,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinkConfig {
    pub buffer_bytes: u64,
    #[serde(deserialize_with = "duration")]
    pub buffer_interval: Duration,
    pub gzip: bool,
    /// `up`'s embedded broker holds at most this many bytes of readings not
    /// journaled yet; past it publishers wait for their acknowledgements.
    pub ingest_bytes: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CounterConfig {
    pub threshold: u32,
    pub table: String,
    /// Where objects are counted; unset: SQLite with `backend = "local"`,
    /// DynamoDB with `backend = "aws"`.
    pub backend: Option<CounterBackend>,
    /// Days a claimed object's DynamoDB marker is kept (TTL) before it expires:
    /// longer than S3 may redeliver an event for it.
    pub retention_days: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompactConfig {
    /// Rows per Parquet row group of the local engine, and the most rows a day
    /// of a batch holds in memory: what bounds its memory, whatever the batch.
    pub row_group_rows: u32,
    /// How long a runner holds a batch (and the writer lock) between
    /// renewals; unset: 15 minutes locally, 35 with Athena.
    #[serde(default, deserialize_with = "optional_duration")]
    pub lease: Option<Duration>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsConfig {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    /// Path-style S3 addressing (`endpoint/bucket/key`), as MinIO, Ceph and
    /// Garage want; unset: on when an endpoint is set.
    pub path_style: Option<bool>,
    pub bucket: Option<String>,
    pub raw_prefix: String,
    pub compacted_prefix: String,
    pub rejected_prefix: String,
    /// The IAM role of the IoT rule (name or ARN), for `iotpipe doctor`.
    pub iot_rule_role: Option<String>,
    /// The IoT topic rule routing readings to Kinesis (`doctor` checks it).
    pub iot_rule: Option<String>,
    /// The IoT policy every device's certificate gets (`device add`).
    pub device_policy: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AthenaConfig {
    pub database: String,
    pub raw_table: String,
    pub table: String,
    pub workgroup: String,
    pub output_location: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KinesisConfig {
    pub stream: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LambdaConfig {
    /// What the S3-event handler does with a batch it claims: compact it with
    /// Athena in the same invocation, or leave it to `iotpipe compact`.
    pub compact: LambdaCompact,
}

/// `lambda.compact`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LambdaCompact {
    Athena,
    Off,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuickSightConfig {
    pub account_id: Option<String>,
    pub datasets: Vec<String>,
    pub schedule: Schedule,
}

/// A QuickSight dataset refresh schedule (`quicksight.schedule`, `--schedule`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    Hourly,
    Daily,
    Off,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DashboardConfig {
    pub out: PathBuf,
    /// How far back the charts reach from the newest reading.
    #[serde(deserialize_with = "duration")]
    pub window: Duration,
}
