//! Claims on DynamoDB: up to 98 objects in one transaction, larger batches
//! (up to 10,000) in steps with the batch item as the commit point, and the
//! roll-back of claims that lost a race or whose claimer died.

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};

use super::{DynamoCounter, back_off, n, now, s};
use crate::counter::{Batch, BatchState, CounterError, new_batch_id};

/// Claim attempts before giving up on a busy table.
const ATTEMPTS: u32 = 200;

/// TransactWriteItems takes at most 100 items: the batch item, the counter, and
/// the markers. Larger batches are claimed in steps (`claim_large`).
pub const MAX_BATCH: u32 = 98;

/// The largest batch (`counter.threshold`) on DynamoDB.
pub const MAX_CLAIM: u32 = 10_000;

/// Keys per part item of a large batch (well under DynamoDB's 400 KB item limit).
const KEYS_PER_PART: usize = 400;

/// Markers per transaction while claiming a large batch.
const MARKS_PER_STEP: usize = 100;

/// A large claim abandoned this long (its claimer died) is rolled back.
const CLAIMING_EXPIRES: time::Duration = time::Duration::minutes(5);

impl DynamoCounter {
    /// Claims up to 98 objects in one transaction: the batch item, the
    /// pending count and every marker, each only where no batch is set.
    pub(super) async fn claim_in_one(&self, size: u32) -> Result<Option<Batch>, CounterError> {
        // A lost race (another claimer took some of these) is retried on a fresh
        // listing, backing off with jitter: each round has one winner.
        for attempt in 0..ATTEMPTS {
            back_off(attempt, 500).await;
            let mut pending: Vec<(String, u64)> = self
                .waiting(Some(size as usize))
                .await?
                .into_iter()
                .map(|p| (p.key, p.size))
                .collect();
            if pending.len() < size as usize {
                return Ok(None);
            }
            pending.truncate(size as usize);
            let id = new_batch_id();
            let claimed_at = now();
            let bytes: u64 = pending.iter().map(|(_, size)| size).sum();
            let keys: Vec<AttributeValue> = pending.iter().map(|(key, _)| s(key)).collect();
            let batch = Put::builder()
                .table_name(&self.table)
                .item("pk", s(&format!("batch#{id}")))
                .item("state", s("claimed"))
                .item("keys", AttributeValue::L(keys))
                .item("bytes", n(bytes as i64))
                .item("claimed_at", s(&claimed_at))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .map_err(|e| self.fail(&e))?;
            let count = self.pending_delta(-i64::from(size))?;
            let mut request = self
                .client
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().put(batch).build())
                .transact_items(TransactWriteItem::builder().update(count).build());
            for (key, _) in &pending {
                let mark = self.mark(key, &id)?;
                request = request.transact_items(TransactWriteItem::builder().update(mark).build());
            }
            match request.send().await {
                Ok(_) => {
                    return Ok(Some(Batch {
                        id,
                        state: BatchState::Claimed,
                        keys: pending.into_iter().map(|(key, _)| key).collect(),
                        bytes,
                        claimed_at,
                        done_at: None,
                        error: None,
                    }));
                }
                Err(e)
                    if e.as_service_error().is_some_and(|s| {
                        s.is_transaction_canceled_exception()
                            || s.is_transaction_in_progress_exception()
                    }) =>
                {
                    self.count_retry();
                }
                Err(e) => return Err(self.fail(&e)),
            }
        }
        Err(CounterError::Table {
            table: self.table.clone(),
            message: format!(
                "could not claim a batch in {ATTEMPTS} attempts: too many concurrent claimers"
            ),
        })
    }

    /// Claims a batch larger than one transaction holds. The batch item is
    /// written first as `claiming` (so a claimer that dies is found and rolled
    /// back), its keys in part items; the markers are taken in transactions of
    /// 100, each only where no batch is set; the batch item's flip to `claimed`
    /// with the pending count is the commit point. A lost race rolls back
    /// what this attempt marked and tries again on a fresh listing.
    pub(super) async fn claim_large(&self, size: u32) -> Result<Option<Batch>, CounterError> {
        for attempt in 0..ATTEMPTS {
            back_off(attempt, 500).await;
            self.roll_back_abandoned_claims().await?;
            let mut pending = self.waiting(Some(size as usize)).await?;
            if pending.len() < size as usize {
                return Ok(None);
            }
            pending.truncate(size as usize);
            let keys: Vec<String> = pending.iter().map(|p| p.key.clone()).collect();
            let bytes: u64 = pending.iter().map(|p| p.size).sum();
            let id = new_batch_id();
            let claimed_at = now();
            let parts = self.put_claiming(&id, &keys, bytes, &claimed_at).await?;
            let marked = self.mark_claimed(&id, &keys).await?;
            if marked < keys.len() {
                self.count_retry();
                self.roll_back_claim(&id, &keys[..marked], parts).await?;
                continue;
            }
            self.commit_claim(&id, size).await?;
            return Ok(Some(Batch {
                id,
                state: BatchState::Claimed,
                keys,
                bytes,
                claimed_at,
                done_at: None,
                error: None,
            }));
        }
        Err(CounterError::Table {
            table: self.table.clone(),
            message: format!(
                "could not claim a batch in {ATTEMPTS} attempts: too many concurrent claimers"
            ),
        })
    }

    /// Writes a large claim's batch item as `claiming` and its keys in part
    /// items; returns how many parts.
    async fn put_claiming(
        &self,
        id: &str,
        keys: &[String],
        bytes: u64,
        claimed_at: &str,
    ) -> Result<usize, CounterError> {
        let parts: Vec<&[String]> = keys.chunks(KEYS_PER_PART).collect();
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(&format!("batch#{id}")))
            .item("state", s("claiming"))
            // In the index until committed, so an abandoned claim is found without a scan.
            .item(super::schema::QUEUE, s(super::schema::CLAIMING))
            .item("key", s(&format!("batch#{id}")))
            .item("parts", n(parts.len() as i64))
            .item("bytes", n(bytes as i64))
            .item("claimed_at", s(claimed_at))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(|e| self.fail(&e))?;
        for (index, part) in parts.iter().enumerate() {
            let list = part.iter().map(|key| s(key)).collect();
            self.client
                .put_item()
                .table_name(&self.table)
                .item("pk", s(&format!("part#{id}#{index}")))
                .item("keys", AttributeValue::L(list))
                .send()
                .await
                .map_err(|e| self.fail(&e))?;
        }
        Ok(parts.len())
    }

    /// Marks `keys` as batch `id`'s, a transaction of [`MARKS_PER_STEP`] at a
    /// time, each only where no batch is set. Returns how many were marked:
    /// fewer than all when another claimer won a race for one of them.
    async fn mark_claimed(&self, id: &str, keys: &[String]) -> Result<usize, CounterError> {
        let mut marked = 0;
        for step in keys.chunks(MARKS_PER_STEP) {
            let mut request = self.client.transact_write_items();
            for key in step {
                let mark = self.mark(key, id)?;
                request = request.transact_items(TransactWriteItem::builder().update(mark).build());
            }
            match request.send().await {
                Ok(_) => marked += step.len(),
                Err(e)
                    if e.as_service_error().is_some_and(|s| {
                        s.is_transaction_canceled_exception()
                            || s.is_transaction_in_progress_exception()
                    }) =>
                {
                    return Ok(marked);
                }
                Err(e) => return Err(self.fail(&e)),
            }
        }
        Ok(marked)
    }

    /// The commit point of a large claim: the batch item flips to `claimed`
    /// as the pending count drops by `size`, in one transaction.
    async fn commit_claim(&self, id: &str, size: u32) -> Result<(), CounterError> {
        let commit = Update::builder()
            .table_name(&self.table)
            .key("pk", s(&format!("batch#{id}")))
            .update_expression("SET #s = :claimed REMOVE #q")
            .condition_expression("#s = :claiming")
            .expression_attribute_names("#s", "state")
            .expression_attribute_names("#q", super::schema::QUEUE)
            .expression_attribute_values(":claimed", s("claimed"))
            .expression_attribute_values(":claiming", s("claiming"))
            .build()
            .map_err(|e| self.fail(&e))?;
        let count = self.pending_delta(-i64::from(size))?;
        // The commit touches the one counter item every recorder updates:
        // a conflict there is retried, not taken for a lost race.
        let mut commit_attempt = 0;
        loop {
            let sent = self
                .client
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().update(commit.clone()).build())
                .transact_items(TransactWriteItem::builder().update(count.clone()).build())
                .send()
                .await;
            match sent {
                Ok(_) => return Ok(()),
                Err(e) if super::cancelled_for_now(&e) && commit_attempt < ATTEMPTS => {
                    self.count_retry();
                    commit_attempt += 1;
                    back_off(commit_attempt, 1000).await;
                }
                Err(e) => return Err(self.fail(&e)),
            }
        }
    }

    /// Undoes a large claim that did not commit: its markers are free again,
    /// its part items and batch item gone.
    async fn roll_back_claim(
        &self,
        id: &str,
        marked: &[String],
        parts: usize,
    ) -> Result<(), CounterError> {
        for key in marked {
            let released = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(&format!("object#{key}")))
                .update_expression("REMOVE #b, #x SET #q = :waiting")
                .condition_expression("#b = :id")
                .expression_attribute_names("#b", "batch")
                .expression_attribute_names("#x", super::schema::EXPIRES)
                .expression_attribute_names("#q", super::schema::QUEUE)
                .expression_attribute_values(":id", s(id))
                .expression_attribute_values(":waiting", s(super::schema::WAITING))
                .send()
                .await;
            if let Err(e) = released
                && !e
                    .as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception())
            {
                return Err(self.fail(&e));
            }
        }
        for index in 0..parts {
            self.client
                .delete_item()
                .table_name(&self.table)
                .key("pk", s(&format!("part#{id}#{index}")))
                .send()
                .await
                .map_err(|e| self.fail(&e))?;
        }
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(&format!("batch#{id}")))
            .condition_expression("#s = :claiming")
            .expression_attribute_names("#s", "state")
            .expression_attribute_values(":claiming", s("claiming"))
            .send()
            .await
            .map_err(|e| self.fail(&e))?;
        Ok(())
    }

    /// Rolls back large claims whose claimer died before committing.
    async fn roll_back_abandoned_claims(&self) -> Result<(), CounterError> {
        let now = time::OffsetDateTime::now_utc();
        let claiming = match self.queued(super::schema::CLAIMING, None).await? {
            Some(found) => {
                let mut items = Vec::new();
                for entry in found {
                    let pk = entry.get("pk").and_then(|v| v.as_s().ok()).cloned();
                    if let Some(item) = self.get(&pk.unwrap_or_default()).await? {
                        items.push(item);
                    }
                }
                items
            }
            None => self.scan("batch#").await?,
        };
        for item in claiming {
            let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
            if text("state").as_deref() != Some("claiming") {
                continue;
            }
            let started = text("claimed_at").and_then(|at| {
                time::OffsetDateTime::parse(&at, &time::format_description::well_known::Rfc3339)
                    .ok()
            });
            if started.is_none_or(|at| now - at < CLAIMING_EXPIRES) {
                continue;
            }
            let Some(id) = text("pk").and_then(|pk| pk.strip_prefix("batch#").map(str::to_string))
            else {
                continue;
            };
            let parts = item
                .get("parts")
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let keys = self.part_keys(&id, parts).await?;
            tracing::warn!("rolling back batch {id}: its claimer stopped before committing");
            self.roll_back_claim(&id, &keys, parts).await?;
        }
        Ok(())
    }

    /// The keys of a large batch, from its part items.
    pub(super) async fn part_keys(
        &self,
        id: &str,
        parts: usize,
    ) -> Result<Vec<String>, CounterError> {
        let mut keys = Vec::new();
        for index in 0..parts {
            let item = self.get(&format!("part#{id}#{index}")).await?;
            keys.extend(
                item.as_ref()
                    .and_then(|i| i.get("keys"))
                    .and_then(|v| v.as_l().ok())
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_s().ok().cloned()),
            );
        }
        Ok(keys)
    }
}
