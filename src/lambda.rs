//! The S3-event handler `iotpipe lambda` runs in AWS Lambda: each object-created
//! record is URL-decoded and recorded exactly once in the DynamoDB counter; when
//! the pending count reaches the threshold a batch is claimed, and the batch
//! the invocation claimed is compacted by Athena right away (`lambda.compact`).
//! Events come straight from S3 or wrapped in SQS messages (then failed
//! messages are returned as `batchItemFailures`, the Lambda way); an
//! EventBridge scheduled event resumes failed and abandoned batches.

use std::sync::Arc;

use aws_lambda_events::event::s3::S3Event;
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use serde::Serialize;

use crate::backends::Stages;
use crate::compact::{BatchOutcome, Drain, Engine, Pipeline, Watcher};
use crate::config::{Config, LambdaCompact};
use crate::counter::{Counter, CounterError, Recorded};
use crate::error::{Diagnose, Exit};
use crate::signal::Cancel;
use crate::store::s3::{S3Store, event_key};
use crate::store::{RAW, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum LambdaError {
    #[error("the event is not an S3, SQS or scheduled event: {0}")]
    UnknownEvent(String),
    #[error("malformed {kind} event: {reason}")]
    Malformed { kind: &'static str, reason: String },
    #[error(transparent)]
    Key(#[from] StoreError),
    #[error(transparent)]
    Counter(#[from] CounterError),
    #[error(transparent)]
    Compact(#[from] crate::compact::CompactError),
}

impl Diagnose for LambdaError {
    fn exit(&self) -> Exit {
        match self {
            LambdaError::UnknownEvent(_) | LambdaError::Malformed { .. } => Exit::Usage,
            _ => Exit::Failure,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            LambdaError::Counter(e) => e.hint(),
            LambdaError::Compact(e) => e.hint(),
            LambdaError::Key(e) => e.hint(),
            LambdaError::UnknownEvent(_) | LambdaError::Malformed { .. } => Some(
                "the handler takes S3 event notifications, SQS events wrapping them, and \
                 EventBridge scheduled events"
                    .into(),
            ),
        }
    }
}

/// What one invocation did.
#[derive(Debug, Default, Serialize)]
pub struct Invocation {
    pub recorded: u64,
    pub duplicates: u64,
    /// Records that are not new raw objects of this bucket (deletions,
    /// compacted/ outputs, other buckets).
    pub ignored: u64,
    pub claimed: Vec<String>,
    pub compacted: Vec<String>,
    pub failed: Vec<FailedBatch>,
    /// Raw objects whose event never arrived, counted by the scheduled run.
    #[serde(skip_serializing_if = "is_zero")]
    pub missed: u64,
    /// Claiming or compacting failed after the records were counted; the
    /// scheduled run resumes it (SQS: the messages are done all the same).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claim_error: Option<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The scheduled run's pass over `raw/`: how far it got.
const LISTING_PASS: &str = "scheduled-raw-listing";

#[derive(Debug, Serialize)]
pub struct FailedBatch {
    pub batch: String,
    pub error: String,
}

pub struct Handler {
    pub store: Arc<S3Store>,
    pub counter: Arc<dyn Counter>,
    pub threshold: u32,
    /// Compacts the batches this handler claims; `None` leaves them to `iotpipe compact`.
    pub pipeline: Option<Pipeline>,
}

impl Handler {
    /// The handler the configuration describes: the bucket and table of
    /// `[aws]`, `counter.threshold`, and Athena unless `lambda.compact = "off"`.
    pub async fn from_config(config: &Config) -> anyhow::Result<Handler> {
        let stages = Stages::aws(config).await?;
        let store = stages
            .s3()
            .ok_or_else(|| anyhow::anyhow!("the Lambda handler needs the S3 store"))?;
        let pipeline = match config.lambda.compact {
            LambdaCompact::Athena => {
                let engine = stages.compactor(Engine::Athena, config, None, Cancel::never())?;
                Some(stages.pipeline(engine, None))
            }
            LambdaCompact::Off => None,
        };
        Ok(Handler {
            store,
            counter: stages.counter.clone(),
            threshold: config.counter.threshold,
            pipeline,
        })
    }

    /// Handles one invocation's payload and returns the function's response.
    pub async fn handle(&self, event: serde_json::Value) -> Result<serde_json::Value, LambdaError> {
        let source = event
            .pointer("/Records/0/eventSource")
            .and_then(|s| s.as_str())
            .map(str::to_string);
        let malformed = |kind| {
            move |e: serde_json::Error| LambdaError::Malformed {
                kind,
                reason: e.to_string(),
            }
        };
        let response = match source.as_deref() {
            Some("aws:s3") => {
                let event: S3Event = serde_json::from_value(event).map_err(malformed("S3"))?;
                let mut summary = Invocation::default();
                self.record(&event, &mut summary).await?;
                self.claim(&mut summary).await?;
                serde_json::to_value(&summary)
            }
            Some("aws:sqs") => {
                let event: SqsEvent = serde_json::from_value(event).map_err(malformed("SQS"))?;
                serde_json::to_value(self.handle_sqs(&event).await?)
            }
            _ if event.get("detail-type").and_then(|d| d.as_str()) == Some("Scheduled Event") => {
                serde_json::to_value(self.resume().await?)
            }
            _ => {
                let shown: String = event.to_string().chars().take(200).collect();
                return Err(LambdaError::UnknownEvent(shown));
            }
        };
        response.map_err(|e| LambdaError::Malformed {
            kind: "response",
            reason: e.to_string(),
        })
    }

    /// Records the object-created records of an S3 event.
    pub async fn record(
        &self,
        event: &S3Event,
        summary: &mut Invocation,
    ) -> Result<(), LambdaError> {
        for record in &event.records {
            let created = record
                .event_name
                .as_deref()
                .is_some_and(|name| name.starts_with("ObjectCreated"));
            let bucket = record.s3.bucket.name.as_deref();
            let (Some(encoded), true, true) = (
                record.s3.object.key.as_deref(),
                created,
                bucket == Some(self.store.bucket()),
            ) else {
                if created && bucket != Some(self.store.bucket()) {
                    tracing::warn!(
                        "ignoring an object of bucket {:?}: this function counts {}",
                        bucket,
                        self.store.bucket()
                    );
                }
                summary.ignored += 1;
                continue;
            };
            let key = self.store.layout_key(&event_key(encoded)?);
            let Some(key) = key.filter(|key| key.starts_with(RAW)) else {
                summary.ignored += 1;
                continue;
            };
            let size = record.s3.object.size.unwrap_or(0).max(0) as u64;
            match self.counter.record(&key, size).await? {
                Recorded::New => summary.recorded += 1,
                Recorded::Duplicate => summary.duplicates += 1,
                Recorded::NotAnObject(reason) => {
                    tracing::warn!("{key} is {reason}: not counted");
                    summary.ignored += 1;
                }
            }
        }
        Ok(())
    }

    /// Claims full batches and compacts each (when configured).
    async fn claim(&self, summary: &mut Invocation) -> Result<(), LambdaError> {
        let Some(pipeline) = &self.pipeline else {
            while let Some(batch) = self.counter.claim_next(self.threshold, false).await? {
                summary.claimed.push(batch.id);
            }
            return Ok(());
        };
        let claims = Drain {
            resume: false,
            ..Drain::full_batches(self.threshold)
        };
        let mut tally = Tally {
            summary,
            claimed: true,
        };
        pipeline
            .drain(&claims, &Cancel::never(), &mut tally)
            .await?;
        Ok(())
    }

    /// S3 events delivered through SQS: a message that cannot be recorded is
    /// reported back so that SQS delivers it again; the others are done.
    pub async fn handle_sqs(&self, event: &SqsEvent) -> Result<SqsBatchResponse, LambdaError> {
        let mut summary = Invocation::default();
        let mut response = SqsBatchResponse::default();
        for message in &event.records {
            let id = message.message_id.clone().unwrap_or_default();
            let body = message.body.as_deref().unwrap_or_default();
            let recorded = match serde_json::from_str::<serde_json::Value>(body) {
                // S3 sends this once when the notification is set up.
                Ok(value)
                    if value.get("Event").and_then(|e| e.as_str()) == Some("s3:TestEvent") =>
                {
                    Ok(())
                }
                Ok(value) => match serde_json::from_value::<S3Event>(value) {
                    Ok(s3) => self.record(&s3, &mut summary).await,
                    Err(e) => Err(LambdaError::Malformed {
                        kind: "S3 (in SQS)",
                        reason: e.to_string(),
                    }),
                },
                Err(e) => Err(LambdaError::Malformed {
                    kind: "SQS message",
                    reason: e.to_string(),
                }),
            };
            if let Err(error) = recorded {
                tracing::error!("SQS message {id}: {error}");
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = id;
                response.batch_item_failures.push(failure);
            }
        }
        // The messages recorded are done whatever claiming does: failing the
        // invocation would have SQS deliver them again until the dead-letter
        // queue, which is for events that could not be recorded.
        if let Err(error) = self.claim(&mut summary).await {
            tracing::error!(
                "claiming after recording failed: {error}; the scheduled run claims what is pending"
            );
            summary.claim_error = Some(error.to_string());
        }
        tracing::info!("{}", serde_json::to_string(&summary).unwrap_or_default());
        Ok(response)
    }

    /// Counts raw objects whose event never reached the function (an event S3
    /// or the queue gave up on): lists `raw/` from an hour before the newest
    /// key the last pass saw — the whole prefix the first time — and records
    /// each object; recording is idempotent, so what was counted stays once.
    pub async fn count_missed(&self, summary: &mut Invocation) -> Result<(), LambdaError> {
        let last = self.counter.checkpoint(LISTING_PASS).await?;
        let mut watch = crate::store::Watch::resuming(&*self.store, RAW, last);
        for object in watch.new_objects().await? {
            if self.counter.record(&object.key, object.size).await? == Recorded::New {
                tracing::warn!(
                    "{} was never counted (its event was lost): counted now",
                    object.key
                );
                summary.missed += 1;
            }
        }
        if let Some(newest) = watch.newest() {
            self.counter.set_checkpoint(LISTING_PASS, newest).await?;
        }
        Ok(())
    }

    /// The scheduled run: failed batches, claimed ones whose claimer is gone
    /// and compacted ones with raw leftovers are finished; then any full batch
    /// is claimed.
    pub async fn resume(&self) -> Result<Invocation, LambdaError> {
        let mut summary = Invocation::default();
        self.count_missed(&mut summary).await?;
        if let Some(pipeline) = &self.pipeline {
            let resumed = Drain {
                claim: false,
                ..Drain::full_batches(self.threshold)
            };
            let mut tally = Tally {
                summary: &mut summary,
                claimed: false,
            };
            pipeline
                .drain(&resumed, &Cancel::never(), &mut tally)
                .await?;
        }
        self.claim(&mut summary).await?;
        Ok(summary)
    }
}

/// Fills an invocation's response as its batches end: a failed batch is
/// marked failed and left to the scheduled run, and the next one goes on.
struct Tally<'s> {
    summary: &'s mut Invocation,
    /// The batches are this invocation's new claims.
    claimed: bool,
}

impl Watcher for Tally<'_> {
    fn finished(&mut self, outcome: &BatchOutcome) {
        let batch = match outcome {
            Ok(report) => {
                self.summary.compacted.push(report.batch.clone());
                &report.batch
            }
            Err(failure) => {
                self.summary.failed.push(FailedBatch {
                    batch: failure.batch.clone(),
                    error: failure.error.to_string(),
                });
                &failure.batch
            }
        };
        if self.claimed {
            self.summary.claimed.push(batch.clone());
        }
    }
}

/// What the Lambda runtime sets, and lambda_runtime needs, in a function.
const RUNTIME_VARIABLES: [&str; 4] = [
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
];

/// The runtime variables that are not set: outside Lambda, all of them.
pub fn missing_runtime_variables() -> Vec<&'static str> {
    RUNTIME_VARIABLES
        .into_iter()
        .filter(|v| std::env::var_os(v).is_none())
        .collect()
}

/// Serves the Lambda runtime API with `handler` until the runtime stops.
pub async fn serve(handler: Arc<Handler>) -> anyhow::Result<()> {
    let service = lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<serde_json::Value>| {
            let handler = handler.clone();
            async move {
                handler
                    .handle(event.payload)
                    .await
                    .map_err(lambda_runtime::Error::from)
            }
        },
    );
    lambda_runtime::run(service)
        .await
        .map_err(|e| anyhow::anyhow!("the Lambda runtime stopped: {e}"))
}
