//! The counter in a DynamoDB table (docs/aws.md): one item per recorded object
//! (`pk = "object#<key>"`, the exactly-once marker), one counter item
//! (`pk = "counter"`, `pending`), one item per batch (`pk = "batch#<id>"`, its
//! exact key list and state).
//!
//! Record: a transaction of (put marker if absent) + (ADD pending 1): a repeated
//! key fails the condition and changes nothing; one cancelled by a concurrent
//! writer is retried. A waiting marker sits in the sparse `pending` index
//! (`schema.rs`), so a claim reads (`read.rs`) the objects it takes, oldest key
//! first, instead of scanning the table. Claims (`claim.rs`) set each marker's batch
//! only where none is set, so two claimers can never take the same object, and
//! give it an expiry (TTL, `counter.retention_days`). Fenced leases on batch
//! items and named locks (`lease.rs`) keep one runner per batch and one
//! writer per table.

mod claim;
mod lease;
mod read;
mod schema;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeValue, BillingMode, KeySchemaElement, KeyType, Put, TransactWriteItem, Update,
};

use super::{
    Batch, BatchState, Counted, Counter, CounterError, Fence, Hold, LeaseState, Pending, Readiness,
    Recorded, Setup,
};
use crate::payload::format_ts;

/// Record attempts when concurrent transactions cancel each other.
const RECORD_ATTEMPTS: u32 = 12;

/// Cancellation reasons that mean "try again", not "no".
const RETRYABLE: [&str; 3] = [
    "TransactionConflict",
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
];

pub use claim::{MAX_BATCH, MAX_CLAIM};

pub struct DynamoCounter {
    client: Client,
    table: String,
    /// Transactions DynamoDB cancelled for a conflict or throttling and this
    /// counter sent again.
    retried: std::sync::atomic::AtomicU64,
    /// How long the marker of a claimed object is kept (then TTL removes it).
    retention: time::Duration,
}

type TransactError = aws_sdk_dynamodb::error::SdkError<
    aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
>;

/// Why DynamoDB cancelled a transaction: one code per item, in order
/// (`None` for an item that was not the cause); None when it was not cancelled.
fn cancellation_codes(error: &TransactError) -> Option<Vec<&str>> {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError as E;
    match error.as_service_error() {
        Some(E::TransactionCanceledException(c)) => Some(
            c.cancellation_reasons()
                .iter()
                .map(|r| r.code().unwrap_or("None"))
                .collect(),
        ),
        _ => None,
    }
}

/// A transaction DynamoDB cancelled for a reason that passes (a concurrent
/// writer, throttling): it wrote nothing and may be sent again.
fn cancelled_for_now(error: &TransactError) -> bool {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError as E;
    matches!(
        error.as_service_error(),
        Some(E::TransactionInProgressException(_))
    ) || cancellation_codes(error)
        .is_some_and(|codes| codes.iter().any(|code| RETRYABLE.contains(code)))
}

fn s(text: &str) -> AttributeValue {
    AttributeValue::S(text.to_string())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// Before retry `attempt` (none before the first): a jittered, growing wait of
/// at most `max_ms`, so that racing writers spread out.
async fn back_off(attempt: u32, max_ms: u64) {
    if attempt > 0 {
        let ceiling = (10u64 << attempt.min(6)).min(max_ms);
        tokio::time::sleep(std::time::Duration::from_millis(fastrand::u64(1..=ceiling))).await;
    }
}

fn now() -> String {
    format_ts(time::OffsetDateTime::now_utc())
}

impl DynamoCounter {
    pub fn new(client: Client, table: impl Into<String>) -> DynamoCounter {
        DynamoCounter {
            client,
            table: table.into(),
            retried: Default::default(),
            retention: time::Duration::days(30),
        }
    }

    pub fn with_retention(mut self, retention: time::Duration) -> DynamoCounter {
        self.retention = retention;
        self
    }

    /// How many cancelled transactions this counter has sent again.
    pub fn retried(&self) -> u64 {
        self.retried.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn count_retry(&self) {
        self.retried
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    fn fail(&self, error: &(dyn std::error::Error + 'static)) -> CounterError {
        CounterError::Table {
            table: self.table.clone(),
            message: crate::aws::describe(error),
        }
    }

    /// The transaction item that puts object `key` into batch `id`, only where
    /// it is recorded and in no batch yet: out of the pending index. It gets
    /// no expiry until the batch is done with it ([`Counter::retire`]).
    fn mark(&self, key: &str, id: &str) -> Result<Update, CounterError> {
        Update::builder()
            .table_name(&self.table)
            .key("pk", s(&format!("object#{key}")))
            .update_expression("SET #b = :id REMOVE #q")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(#b)")
            .expression_attribute_names("#b", "batch")
            .expression_attribute_names("#q", schema::QUEUE)
            .expression_attribute_values(":id", s(id))
            .build()
            .map_err(|e| self.fail(&e))
    }

    /// The transaction item that lets batch `id`'s marker of `key` expire
    /// after the retention (longer than S3 redelivers an event).
    fn expiring(&self, key: &str, id: &str, expires: i64) -> Result<Update, CounterError> {
        Update::builder()
            .table_name(&self.table)
            .key("pk", s(&format!("object#{key}")))
            .update_expression("SET #x = :expires")
            .condition_expression("#b = :id")
            .expression_attribute_names("#b", "batch")
            .expression_attribute_names("#x", schema::EXPIRES)
            .expression_attribute_values(":id", s(id))
            .expression_attribute_values(":expires", n(expires))
            .build()
            .map_err(|e| self.fail(&e))
    }

    /// Sends one item of a transaction on its own (same key, expressions and
    /// condition).
    async fn update_alone(
        &self,
        update: &Update,
    ) -> Result<
        (),
        aws_sdk_dynamodb::error::SdkError<
            aws_sdk_dynamodb::operation::update_item::UpdateItemError,
        >,
    > {
        self.client
            .update_item()
            .table_name(update.table_name())
            .set_key(Some(update.key().clone()))
            .update_expression(update.update_expression())
            .set_condition_expression(update.condition_expression().map(str::to_string))
            .set_expression_attribute_names(update.expression_attribute_names().cloned())
            .set_expression_attribute_values(update.expression_attribute_values().cloned())
            .send()
            .await
            .map(|_| ())
    }

    /// The transaction item that moves the pending count by `delta`.
    fn pending_delta(&self, delta: i64) -> Result<Update, CounterError> {
        Update::builder()
            .table_name(&self.table)
            .key("pk", s("counter"))
            .update_expression("ADD pending :delta")
            .expression_attribute_values(":delta", n(delta))
            .build()
            .map_err(|e| self.fail(&e))
    }

    /// Creates the table (on-demand capacity, with the pending index and TTL)
    /// if it does not exist.
    pub async fn create_table(&self) -> Result<bool, CounterError> {
        let key = KeySchemaElement::builder()
            .attribute_name("pk")
            .key_type(KeyType::Hash)
            .build()
            .map_err(|e| self.fail(&e))?;
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .key_schema(key)
            .set_attribute_definitions(Some(self.key_definitions()?))
            .global_secondary_indexes(self.pending_index()?)
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await;
        match created {
            Ok(_) => {
                // TTL can only be turned on once the table is ACTIVE.
                self.upgrade().await?;
                Ok(true)
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_in_use_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(self.fail(&e)),
        }
    }
}

#[async_trait::async_trait]
impl Counter for DynamoCounter {
    async fn record(&self, key: &str, size: u64) -> Result<Recorded, CounterError> {
        if let Some(reason) = super::not_an_object(key) {
            return Ok(Recorded::NotAnObject(reason));
        }
        use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
        // Every record also updates the one counter item, so concurrent
        // recorders (parallel Lambda invocations) cancel each other with
        // TransactionConflict: the whole transaction did nothing, so retry.
        for attempt in 0..RECORD_ATTEMPTS {
            back_off(attempt, 1000).await;
            let marker = Put::builder()
                .table_name(&self.table)
                .item("pk", s(&format!("object#{key}")))
                .item("key", s(key))
                .item("size", n(size as i64))
                .item("recorded_at", s(&now()))
                .item(schema::QUEUE, s(schema::WAITING))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .map_err(|e| self.fail(&e))?;
            let count = self.pending_delta(1)?;
            let sent = self
                .client
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().put(marker).build())
                .transact_items(TransactWriteItem::builder().update(count).build())
                .send()
                .await;
            let e = match sent {
                Ok(_) => return Ok(Recorded::New),
                Err(e) => e,
            };
            match e.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                    let codes: Vec<&str> = c
                        .cancellation_reasons()
                        .iter()
                        .filter_map(|r| r.code())
                        .collect();
                    if codes.first() == Some(&"ConditionalCheckFailed") {
                        return Ok(Recorded::Duplicate);
                    }
                    if !codes.iter().any(|code| RETRYABLE.contains(code)) {
                        return Err(self.fail(&e));
                    }
                }
                Some(TransactWriteItemsError::TransactionInProgressException(_)) => {}
                _ => return Err(self.fail(&e)),
            }
            self.count_retry();
            tracing::debug!(
                "recording {key}: transaction cancelled by a concurrent writer; retrying"
            );
        }
        Err(CounterError::Table {
            table: self.table.clone(),
            message: format!(
                "could not record {key} in {RECORD_ATTEMPTS} attempts: too many concurrent writers"
            ),
        })
    }

    async fn check(&self) -> Result<Readiness, CounterError> {
        match self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
        {
            Ok(output) => {
                let keyed_by_pk = output
                    .table()
                    .is_some_and(|t| t.key_schema().iter().any(|k| k.attribute_name() == "pk"));
                if !keyed_by_pk {
                    return Ok(Readiness::Foreign);
                }
                let gaps = self.gaps().await?;
                Ok(if gaps.is_empty() {
                    Readiness::Ready
                } else {
                    Readiness::Outdated(gaps.describe())
                })
            }
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Ok(Readiness::Missing)
            }
            Err(error) => Err(self.fail(&error)),
        }
    }

    async fn init(&self) -> Result<Setup, CounterError> {
        if self.create_table().await? {
            return Ok(Setup::Created);
        }
        let filled = self.upgrade().await?;
        Ok(if filled.is_empty() {
            Setup::Existed
        } else {
            Setup::Upgraded(filled.added())
        })
    }

    async fn pending_objects(&self) -> Result<Vec<Pending>, CounterError> {
        self.waiting(None).await
    }

    async fn pending(&self) -> Result<u64, CounterError> {
        let item = self.get("counter").await?;
        Ok(item
            .as_ref()
            .and_then(|i| i.get("pending"))
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0)
            .max(0) as u64)
    }

    async fn claim(&self, size: u32) -> Result<Option<Batch>, CounterError> {
        if size == 0 || size > MAX_CLAIM {
            return Err(CounterError::Table {
                table: self.table.clone(),
                message: format!(
                    "a batch holds 1 to {MAX_CLAIM} objects on DynamoDB; asked for {size}"
                ),
            });
        }
        if size > MAX_BATCH {
            self.claim_large(size).await
        } else {
            self.claim_in_one(size).await
        }
    }

    async fn batch(&self, id: &str) -> Result<Batch, CounterError> {
        let item = self.get(&format!("batch#{id}")).await?;
        match &item {
            Some(item) => self.load(item).await?,
            None => None,
        }
        .ok_or_else(|| CounterError::NoBatch(id.to_string()))
    }

    async fn batches(&self) -> Result<Vec<Batch>, CounterError> {
        let mut batches = Vec::new();
        for item in self.scan("batch#").await? {
            batches.extend(self.load(&item).await?);
        }
        batches.sort_by(|a, b| (&b.claimed_at, &b.id).cmp(&(&a.claimed_at, &a.id)));
        Ok(batches)
    }

    async fn lease(
        &self,
        id: &str,
        holder: &str,
        ttl: std::time::Duration,
        held: Option<Fence>,
    ) -> Result<Option<Fence>, CounterError> {
        self.fenced(&format!("batch#{id}"), true, holder, ttl, held)
            .await
    }

    async fn lease_holder(&self, id: &str) -> Result<Option<LeaseState>, CounterError> {
        self.lease_on(&format!("batch#{id}")).await
    }

    async fn lock(
        &self,
        name: &str,
        holder: &str,
        ttl: std::time::Duration,
        held: Option<Fence>,
    ) -> Result<Option<Fence>, CounterError> {
        self.fenced(&lease::lock_key(name), false, holder, ttl, held)
            .await
    }

    async fn unlock(&self, name: &str, holder: &str, fence: Fence) -> Result<(), CounterError> {
        self.give_back(name, holder, fence).await
    }

    async fn retire(&self, batch: &Batch) -> Result<(), CounterError> {
        if batch.retired || batch.state != BatchState::Compacted {
            return Ok(());
        }
        let expires = (time::OffsetDateTime::now_utc() + self.retention).unix_timestamp();
        let flag = Update::builder()
            .table_name(&self.table)
            .key("pk", s(&format!("batch#{}", batch.id)))
            .update_expression("SET retired = :at")
            .expression_attribute_values(":at", s(&now()))
            .build()
            .map_err(|e| self.fail(&e))?;
        // 99 markers a transaction, the last one also flagging the batch item.
        let steps: Vec<&[String]> = batch.keys.chunks(99).collect();
        for (index, step) in steps.iter().enumerate() {
            let last = index + 1 == steps.len();
            let mut updates = step
                .iter()
                .map(|key| self.expiring(key, &batch.id, expires))
                .collect::<Result<Vec<Update>, CounterError>>()?;
            if last {
                updates.push(flag.clone());
            }
            let mut request = self.client.transact_write_items();
            for update in &updates {
                request = request
                    .transact_items(TransactWriteItem::builder().update(update.clone()).build());
            }
            if let Err(e) = request.send().await {
                // A marker already gone (an older iotpipe gave it an expiry
                // when claiming) cancels the step: one at a time instead.
                tracing::debug!("batch {}: retiring its markers together: {e}", batch.id);
                let (markers, flagged) = updates.split_at(step.len());
                for update in markers {
                    let _ = self.update_alone(update).await;
                }
                for update in flagged {
                    self.update_alone(update).await.map_err(|e| self.fail(&e))?;
                }
            }
        }
        Ok(())
    }

    async fn mark_compacted(&self, id: &str, hold: &Hold) -> Result<(), CounterError> {
        self.finish(id, hold, BatchState::Compacted, None).await
    }

    async fn mark_failed(&self, id: &str, hold: &Hold, error: &str) -> Result<(), CounterError> {
        self.finish(id, hold, BatchState::Failed, Some(error)).await
    }

    async fn counted(&self) -> Result<Vec<Counted>, CounterError> {
        let batches = self.batches().await?;
        let compacted: std::collections::HashSet<&str> = batches
            .iter()
            .filter(|b| b.state == BatchState::Compacted)
            .map(|b| b.id.as_str())
            .collect();
        let mut counted: Vec<Counted> = self
            .scan("object#")
            .await?
            .iter()
            .filter_map(|item| {
                let key = item.get("key")?.as_s().ok()?.clone();
                let batch = item.get("batch").and_then(|v| v.as_s().ok());
                Some(Counted {
                    key,
                    compacted: batch.is_some_and(|b| compacted.contains(b.as_str())),
                })
            })
            .collect();
        // An unfinished batch's objects are counted, whatever became of their
        // markers (an older iotpipe let them expire a while after the claim).
        let marked: std::collections::HashSet<String> =
            counted.iter().map(|c| c.key.clone()).collect();
        for batch in batches.iter().filter(|b| b.state != BatchState::Compacted) {
            for key in batch.keys.iter().filter(|k| !marked.contains(*k)) {
                counted.push(Counted {
                    key: key.clone(),
                    compacted: false,
                });
            }
        }
        counted.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(counted)
    }

    async fn checkpoint(&self, name: &str) -> Result<Option<String>, CounterError> {
        Ok(self
            .get(&format!("checkpoint#{name}"))
            .await?
            .and_then(|item| item.get("key").and_then(|v| v.as_s().ok()).cloned()))
    }

    async fn set_checkpoint(&self, name: &str, key: &str) -> Result<(), CounterError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(&format!("checkpoint#{name}")))
            .item("key", s(key))
            .send()
            .await
            .map_err(|e| self.fail(&e))?;
        Ok(())
    }

    fn describe(&self) -> String {
        format!("dynamodb table {}", self.table)
    }
}
