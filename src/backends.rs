//! Which backend serves each stage: the one place that reads `backend =
//! "local" | "aws"` and builds the store, the counter, the compaction engine
//! and the AWS clients. Commands ask for stages and never name a concrete
//! backend or an SDK.

use std::sync::Arc;

use crate::compact::athena::AthenaEngine;
use crate::compact::local::LocalEngine;
use crate::compact::{Compactor, Engine, FailPoint, Lease, Pipeline, TableSetup};
use crate::config::{Backend, Config, CounterBackend};
use crate::counter::Counter;
use crate::counter::dynamodb::DynamoCounter;
use crate::counter::sqlite::SqliteCounter;
use crate::dashboard::quicksight::{Datasets, QuickSight};
use crate::dashboard::{Dashboard, DatasetAdmin, Html};
use crate::error::{Exit, Hinted};
use crate::signal::Cancel;
use crate::store::Store;
use crate::store::dir::DirStore;
use crate::store::s3::{Prefixes, S3Store};

/// How long a batch stays its runner's: longer than Athena lets a DML query
/// run (30 minutes), and than a local compaction takes.
const ATHENA_LEASE: std::time::Duration = std::time::Duration::from_secs(35 * 60);
const LOCAL_LEASE: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// The DynamoDB counter of `counter.table` on `sdk`, whatever `backend` says (`doctor`).
pub fn dynamodb_counter(sdk: &aws_config::SdkConfig, config: &Config) -> Arc<dyn Counter> {
    Arc::new(dynamo(sdk, config))
}

fn dynamo(sdk: &aws_config::SdkConfig, config: &Config) -> DynamoCounter {
    DynamoCounter::new(crate::aws::dynamodb(sdk), config.counter.table.clone()).with_retention(
        time::Duration::days(i64::from(config.counter.retention_days)),
    )
}

/// The dashboard the configuration names: QuickSight when datasets are
/// configured (and `html` is not forced), else the HTML page of the stages.
pub async fn dashboard(config: &Config, html: bool) -> anyhow::Result<Arc<dyn Dashboard>> {
    if !html && !config.quicksight.datasets.is_empty() {
        return Ok(Arc::new(Datasets {
            quicksight: QuickSight::from_config(config).await?,
            ids: config.quicksight.datasets.clone(),
        }));
    }
    let Stages { store, counter, .. } = Stages::new(config).await?;
    Ok(Arc::new(Html {
        store,
        counter,
        out: config.dashboard.out.clone(),
        window: config.dashboard.window,
    }))
}

/// The dashboard service's datasets: QuickSight's in the configured account.
pub async fn dataset_admin(config: &Config) -> anyhow::Result<Box<dyn DatasetAdmin>> {
    Ok(Box::new(QuickSight::from_config(config).await?))
}

/// The data-dir store alone (`tail objects` reads it and creates nothing).
pub fn data_dir_store(config: &Config) -> Arc<dyn Store> {
    Arc::new(DirStore::new(&config.data_dir))
}

/// The stages the configuration names.
pub struct Stages {
    pub store: Arc<dyn Store>,
    pub counter: Arc<dyn Counter>,
    aws: Option<Aws>,
    /// `compact.lease`; unset: a length for the engine.
    lease: Option<std::time::Duration>,
}

/// The AWS side of `backend = "aws"`: one SDK configuration, the bucket and the table.
struct Aws {
    sdk: aws_config::SdkConfig,
    store: Arc<S3Store>,
}

impl Stages {
    /// The stages the configuration names: the data dir or S3 (`aws.bucket`)
    /// as the store, counted in SQLite or DynamoDB (`counter.backend`; by
    /// default SQLite with the data dir, DynamoDB with S3). Objects in the
    /// data dir cannot be counted in DynamoDB: nothing in AWS could see them.
    pub async fn new(config: &Config) -> anyhow::Result<Stages> {
        match (config.backend, config.counter.backend) {
            (Backend::Local, None | Some(CounterBackend::Sqlite)) => Stages::local(config),
            (Backend::Local, Some(CounterBackend::Dynamodb)) => Err(Hinted::new(
                Exit::Usage,
                "counter.backend = \"dynamodb\" counts objects in DynamoDB, but backend is \
                 \"local\": they land in the data dir, where nothing in AWS sees them",
                "set backend = \"aws\" with aws.bucket to land in S3, or leave counter.backend \
                 unset (SQLite in the data dir)",
            )
            .into()),
            (Backend::Aws, None | Some(CounterBackend::Dynamodb)) => Stages::aws(config).await,
            (Backend::Aws, Some(CounterBackend::Sqlite)) => {
                let mut stages = Stages::aws(config).await?;
                stages.counter = sqlite_counter(config)?;
                Ok(stages)
            }
        }
    }

    /// The data dir and the SQLite counter, whatever `backend` says: where
    /// the sink and `up` land.
    pub fn local(config: &Config) -> anyhow::Result<Stages> {
        Ok(Stages {
            store: data_dir_store(config),
            counter: sqlite_counter(config)?,
            aws: None,
            lease: config.compact.lease,
        })
    }

    /// S3 and DynamoDB whatever `backend` says: for what only works there
    /// (`tail s3`, the Lambda).
    pub async fn aws(config: &Config) -> anyhow::Result<Stages> {
        let (sdk, store) = s3_store(config).await?;
        let store = Arc::new(store);
        let counter = Arc::new(dynamo(&sdk, config));
        Ok(Stages {
            store: store.clone(),
            counter,
            aws: Some(Aws { sdk, store }),
            lease: config.compact.lease,
        })
    }

    /// The S3 store, for what only works on a bucket (`tail s3`, the Lambda).
    pub fn s3(&self) -> Option<Arc<S3Store>> {
        self.aws.as_ref().map(|aws| aws.store.clone())
    }

    /// The compaction engine: arrow/parquet here (`threads` parsers), or
    /// Athena on the bucket (stopped by `cancel`).
    pub fn compactor(
        &self,
        engine: Engine,
        config: &Config,
        threads: Option<usize>,
        cancel: Cancel,
    ) -> anyhow::Result<Arc<dyn Compactor>> {
        match engine {
            Engine::Local => Ok(Arc::new(
                LocalEngine::new(self.store.clone(), threads)
                    .with_row_group_rows(config.compact.row_group_rows as usize),
            )),
            Engine::Athena => Ok(Arc::new(self.athena(config, cancel)?)),
        }
    }

    /// What `compact --init` creates: Athena's database and tables.
    pub fn table_setup(
        &self,
        config: &Config,
        cancel: Cancel,
    ) -> anyhow::Result<Box<dyn TableSetup>> {
        Ok(Box::new(self.athena(config, cancel)?))
    }

    fn athena(&self, config: &Config, cancel: Cancel) -> anyhow::Result<AthenaEngine> {
        let Some(aws) = &self.aws else {
            return Err(Hinted::new(
                Exit::Usage,
                "the Athena engine works on S3 and DynamoDB, but backend is \"local\"",
                "set backend = \"aws\" (or IOTPIPE_BACKEND=aws) with aws.bucket, or use --engine local",
            )
            .into());
        };
        Ok(AthenaEngine::new(
            crate::aws::athena(&aws.sdk),
            aws.store.clone(),
            &config.athena,
            cancel,
        ))
    }

    /// The compaction protocol over these stages with `engine`.
    pub fn pipeline(&self, engine: Arc<dyn Compactor>, fail_point: Option<FailPoint>) -> Pipeline {
        Pipeline {
            store: self.store.clone(),
            counter: self.counter.clone(),
            engine,
            fail_point,
            // On S3 a Lambda may be compacting what it claimed.
            claim_grace: self.aws.is_some().then_some(crate::compact::CLAIM_GRACE),
            lease: Lease::for_this_runner(self.lease.unwrap_or(if self.aws.is_some() {
                ATHENA_LEASE
            } else {
                LOCAL_LEASE
            })),
        }
    }
}

/// `<data_dir>/counter.sqlite3`.
fn sqlite_counter(config: &Config) -> anyhow::Result<Arc<dyn Counter>> {
    Ok(Arc::new(SqliteCounter::open(
        &config.data_dir.join("counter.sqlite3"),
    )?))
}

/// The bucket of `aws.bucket` with the configured prefixes.
async fn s3_store(config: &Config) -> anyhow::Result<(aws_config::SdkConfig, S3Store)> {
    let Some(bucket) = &config.aws.bucket else {
        return Err(Hinted::new(
            Exit::Usage,
            "the AWS backend needs a bucket",
            "set aws.bucket in iotpipe.toml or IOTPIPE_AWS_BUCKET",
        )
        .into());
    };
    let aws = &config.aws;
    let prefixes = Prefixes::new(&aws.raw_prefix, &aws.compacted_prefix, &aws.rejected_prefix)
        .map_err(|problem| {
            Hinted::new(
                Exit::Usage,
                format!("invalid S3 prefixes: {problem}"),
                "give aws.raw_prefix, aws.compacted_prefix and aws.rejected_prefix distinct, \
                 non-nested folders, e.g. \"raw/\", \"compacted/\", \"rejected/\"",
            )
        })?;
    let sdk = crate::aws::sdk_config(aws).await;
    let client = crate::aws::s3_addressed(&sdk, aws.path_style);
    let store = S3Store::new(client, bucket.clone()).with_prefixes(prefixes);
    Ok((sdk, store))
}
