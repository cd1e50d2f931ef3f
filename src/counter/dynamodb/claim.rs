//! Claims on DynamoDB: up to 98 objects in one transaction, larger batches
//! (up to 10,000) in steps with the batch item as the commit point, and the
//! roll-back of claims that lost a race or whose claimer died.
//!
//! A large claim's batch item carries `claim_until`, an expiry its claimer
//! moves forward with every step; a roll-back is decided on that exact value
//! (it flips the item to `rolling-back` only if the claimer has not renewed
//! since it was read), and every step and the commit are conditional on the
//! item still being `claiming`: once another runner rolls the claim back, the
//! claimer's marks and commit stop, so no marker is left holding a batch that
//! does not exist and the pending count never drops for a rolled-back claim.

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

/// Markers per transaction while claiming a large batch (with the renewal
/// of the claim: 100 items).
const MARKS_PER_STEP: usize = 99;

/// How far ahead a large claim's `claim_until` is moved at each step: a
/// claim not renewed for this long (its claimer died) is rolled back.
const CLAIMING_EXPIRES: time::Duration = time::Duration::minutes(5);

/// The state of a large claim being undone.
const ROLLING_BACK: &str = "rolling-back";

/// How a step of a large claim went.
enum Step {
    /// Every marker taken.
    Marked,
    /// Another claimer took one of them first: `marked` were taken before.
    Raced { marked: usize },
    /// The claim is no longer this claimer's: another runner rolls it back.
    Lost,
}

/// Whether a cancelled transaction failed on its first item's condition
/// (the claim's batch item): the claim was rolled back.
fn first_item_refused(error: &super::TransactError) -> bool {
    super::cancellation_codes(error)
        .is_some_and(|codes| codes.first() == Some(&"ConditionalCheckFailed"))
}

/// Why a large claim is rolled back.
enum Decided {
    /// Its own claimer lost a race for a marker.
    Own,
    /// Its claimer stopped renewing it; `claim_until` as read (None: an
    /// older iotpipe's claim).
    Abandoned { claim_until: Option<String> },
    /// A roll-back that stopped midway: it is finished.
    Interrupted,
}

/// A large claim's expiry from now.
fn claim_until() -> String {
    crate::payload::format_ts(time::OffsetDateTime::now_utc() + CLAIMING_EXPIRES)
}

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
                        retired: false,
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
            match self.mark_claimed(&id, &keys).await? {
                Step::Marked => {}
                Step::Raced { marked } => {
                    self.count_retry();
                    self.roll_back_claim(&id, &keys[..marked], parts, Decided::Own)
                        .await?;
                    continue;
                }
                // Its roll-back is another runner's to finish.
                Step::Lost => continue,
            }
            if !self.commit_claim(&id, size).await? {
                continue;
            }
            return Ok(Some(Batch {
                id,
                state: BatchState::Claimed,
                keys,
                bytes,
                claimed_at,
                done_at: None,
                error: None,
                retired: false,
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
            .item("claim_until", s(&claim_until()))
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
    /// time, each only where no batch is set, each renewing the claim and
    /// only while it is still `claiming`.
    async fn mark_claimed(&self, id: &str, keys: &[String]) -> Result<Step, CounterError> {
        let mut marked = 0;
        for step in keys.chunks(MARKS_PER_STEP) {
            let renew = Update::builder()
                .table_name(&self.table)
                .key("pk", s(&format!("batch#{id}")))
                .update_expression("SET claim_until = :until")
                .condition_expression("#s = :claiming")
                .expression_attribute_names("#s", "state")
                .expression_attribute_values(":claiming", s("claiming"))
                .expression_attribute_values(":until", s(&claim_until()))
                .build()
                .map_err(|e| self.fail(&e))?;
            let mut request = self
                .client
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().update(renew).build());
            for key in step {
                let mark = self.mark(key, id)?;
                request = request.transact_items(TransactWriteItem::builder().update(mark).build());
            }
            match request.send().await {
                Ok(_) => marked += step.len(),
                Err(e) if first_item_refused(&e) => return Ok(Step::Lost),
                Err(e)
                    if e.as_service_error().is_some_and(|s| {
                        s.is_transaction_canceled_exception()
                            || s.is_transaction_in_progress_exception()
                    }) =>
                {
                    return Ok(Step::Raced { marked });
                }
                Err(e) => return Err(self.fail(&e)),
            }
        }
        Ok(Step::Marked)
    }

    /// The commit point of a large claim: the batch item flips to `claimed`
    /// as the pending count drops by `size`, in one transaction. False: the
    /// claim was rolled back by another runner first.
    async fn commit_claim(&self, id: &str, size: u32) -> Result<bool, CounterError> {
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
                Ok(_) => return Ok(true),
                Err(e) if first_item_refused(&e) => return Ok(false),
                Err(e) if super::cancelled_for_now(&e) && commit_attempt < ATTEMPTS => {
                    self.count_retry();
                    commit_attempt += 1;
                    back_off(commit_attempt, 1000).await;
                }
                Err(e) => return Err(self.fail(&e)),
            }
        }
    }

    /// Undoes a large claim that did not commit: decided by flipping its
    /// batch item to `rolling-back` (for an abandoned claim, only if its
    /// claimer has not renewed since), then its markers are free again and
    /// its part items and batch item gone. False: the claim was not rolled
    /// back (renewed, committed, or someone else rolls it back).
    async fn roll_back_claim(
        &self,
        id: &str,
        marked: &[String],
        parts: usize,
        decided: Decided,
    ) -> Result<bool, CounterError> {
        let flip = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(&format!("batch#{id}")))
            .update_expression("SET #s = :rolling")
            .expression_attribute_names("#s", "state")
            .expression_attribute_values(":claiming", s("claiming"))
            .expression_attribute_values(":rolling", s(ROLLING_BACK));
        let flip = match decided {
            Decided::Own => Some(flip.condition_expression("#s = :claiming")),
            Decided::Abandoned {
                claim_until: Some(seen),
            } => Some(
                flip.condition_expression("#s = :claiming AND claim_until = :seen")
                    .expression_attribute_values(":seen", s(&seen)),
            ),
            // Claimed by an older iotpipe, which did not renew.
            Decided::Abandoned { claim_until: None } => Some(
                flip.condition_expression("#s = :claiming AND attribute_not_exists(claim_until)"),
            ),
            Decided::Interrupted => None,
        };
        if let Some(flip) = flip {
            match flip.send().await {
                Ok(_) => {}
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
                {
                    return Ok(false);
                }
                Err(e) => return Err(self.fail(&e)),
            }
        }
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
            .condition_expression("#s = :rolling")
            .expression_attribute_names("#s", "state")
            .expression_attribute_values(":rolling", s(ROLLING_BACK))
            .send()
            .await
            .map_err(|e| self.fail(&e))?;
        Ok(true)
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
        let parse = |at: &str| {
            time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).ok()
        };
        for item in claiming {
            let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
            let decided = match text("state").as_deref() {
                Some(ROLLING_BACK) => Decided::Interrupted,
                Some("claiming") => {
                    let claim_until = text("claim_until");
                    // What the claimer wrote decides; an older iotpipe's
                    // claim, never renewed, runs out after CLAIMING_EXPIRES.
                    let until = match &claim_until {
                        Some(until) => parse(until),
                        None => text("claimed_at")
                            .and_then(|at| parse(&at))
                            .map(|at| at + CLAIMING_EXPIRES),
                    };
                    if until.is_none_or(|until| now < until) {
                        continue;
                    }
                    Decided::Abandoned { claim_until }
                }
                _ => continue,
            };
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
            if self.roll_back_claim(&id, &keys, parts, decided).await? {
                tracing::warn!("rolled back batch {id}: its claimer stopped before committing");
            }
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
