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

use crate::compact::{CLAIM_GRACE, Compactor, Pipeline, Progress};
use crate::counter::{Batch, Counter, CounterError, Recorded};
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

/// What one invocation did.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub recorded: u64,
    pub duplicates: u64,
    /// Records that are not new raw objects of this bucket (deletions,
    /// compacted/ outputs, other buckets).
    pub ignored: u64,
    pub claimed: Vec<String>,
    pub compacted: Vec<String>,
    pub failed: Vec<FailedBatch>,
}

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
    pub compactor: Option<Arc<dyn Compactor>>,
}

impl Handler {
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
                let mut summary = Summary::default();
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
    pub async fn record(&self, event: &S3Event, summary: &mut Summary) -> Result<(), LambdaError> {
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
            let key = self.store.logical(&event_key(encoded)?);
            if !key.starts_with(RAW) {
                summary.ignored += 1;
                continue;
            }
            let size = record.s3.object.size.unwrap_or(0).max(0) as u64;
            match self.counter.record(&key, size).await? {
                Recorded::New => summary.recorded += 1,
                Recorded::Duplicate => summary.duplicates += 1,
            }
        }
        Ok(())
    }

    /// Claims full batches and compacts each (when configured).
    async fn claim(&self, summary: &mut Summary) -> Result<(), LambdaError> {
        while let Some(batch) = self.counter.claim_next(self.threshold, false).await? {
            summary.claimed.push(batch.id.clone());
            self.compact(&batch, summary).await;
        }
        Ok(())
    }

    fn pipeline(&self) -> Option<Pipeline> {
        Some(Pipeline {
            store: self.store.clone(),
            counter: self.counter.clone(),
            engine: self.compactor.clone()?,
            fail_point: None,
            claim_grace: Some(CLAIM_GRACE),
        })
    }

    async fn compact(&self, batch: &Batch, summary: &mut Summary) {
        let Some(pipeline) = self.pipeline() else {
            return;
        };
        // A failure marks the batch failed; the scheduled run retries it.
        match pipeline.run_batch(batch, &Progress::hidden()).await {
            Ok(_) => summary.compacted.push(batch.id.clone()),
            Err(error) => summary.failed.push(FailedBatch {
                batch: batch.id.clone(),
                error: error.to_string(),
            }),
        }
    }

    /// S3 events delivered through SQS: a message that cannot be recorded is
    /// reported back so that SQS delivers it again; the others are done.
    pub async fn handle_sqs(&self, event: &SqsEvent) -> Result<SqsBatchResponse, LambdaError> {
        let mut summary = Summary::default();
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
        self.claim(&mut summary).await?;
        tracing::info!("{}", serde_json::to_string(&summary).unwrap_or_default());
        Ok(response)
    }

    /// The scheduled run: failed batches, claimed ones whose claimer is gone
    /// and compacted ones with raw leftovers are finished; then any full batch
    /// is claimed.
    pub async fn resume(&self) -> Result<Summary, LambdaError> {
        let mut summary = Summary::default();
        let Some(pipeline) = self.pipeline() else {
            self.claim(&mut summary).await?;
            return Ok(summary);
        };
        for batch in pipeline.resumable().await? {
            self.compact(&batch, &mut summary).await;
        }
        self.claim(&mut summary).await?;
        Ok(summary)
    }
}
