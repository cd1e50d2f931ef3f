//! Fenced leases in the counter table: a batch's (`lease_owner`,
//! `lease_until`, `fence` on its item) and named locks (`pk = "lock#<name>"`,
//! the same attributes). Taking a lease adds one to the fence in the same
//! conditional write; renewing and marking are conditional on the caller's
//! exact fence, and marking a batch compacted also on the writer lock's, in
//! one transaction (a ConditionCheck on the lock beside the batch's update).

use aws_sdk_dynamodb::types::{ConditionCheck, ReturnValue, TransactWriteItem, Update};

use super::{DynamoCounter, RECORD_ATTEMPTS, back_off, cancelled_for_now, n, now, s};
use crate::counter::{
    BatchState, Counter, CounterError, Fence, Hold, LeaseState, WRITER, holder_is_gone,
};
use crate::payload::format_ts;

/// Where a lock lives in the table.
pub(super) fn lock_key(name: &str) -> String {
    format!("lock#{name}")
}

fn batch_key(id: &str) -> String {
    format!("batch#{id}")
}

/// Only a batch still to compact is leased; a lock always may be.
const STILL_TO_COMPACT: &str = "(#s = :claimed OR #s = :failed)";

impl DynamoCounter {
    /// The lease on item `pk`, if one was ever taken.
    pub(super) async fn lease_on(&self, pk: &str) -> Result<Option<LeaseState>, CounterError> {
        let item = self.get(pk).await?;
        Ok(item.and_then(|item| {
            let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
            Some(LeaseState {
                holder: text("lease_owner")?,
                until: text("lease_until").unwrap_or_default(),
                fence: item
                    .get("fence")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0),
            })
        }))
    }

    /// Takes or renews a fenced lease on item `pk`: see [`Counter::lease`].
    pub(super) async fn fenced(
        &self,
        pk: &str,
        is_batch: bool,
        holder: &str,
        ttl: std::time::Duration,
        held: Option<Fence>,
    ) -> Result<Option<Fence>, CounterError> {
        let now = time::OffsetDateTime::now_utc();
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .expression_attribute_values(":holder", s(holder))
            .expression_attribute_values(":now", s(&format_ts(now)))
            .expression_attribute_values(":until", s(&format_ts(now + ttl)))
            .return_values(ReturnValue::UpdatedNew);
        let mut condition = Vec::new();
        if is_batch {
            condition.push(STILL_TO_COMPACT.to_string());
            update = update
                .expression_attribute_names("#s", "state")
                .expression_attribute_values(":claimed", s("claimed"))
                .expression_attribute_values(":failed", s("failed"));
        }
        match held {
            None => {
                // A holder that died on this machine frees its lease at once.
                let stale = self
                    .lease_on(pk)
                    .await?
                    .map(|lease| lease.holder)
                    .filter(|owner| owner != holder && holder_is_gone(owner));
                let mut free = "(attribute_not_exists(lease_owner) OR lease_owner = :holder \
                                OR lease_until <= :now"
                    .to_string();
                if let Some(stale) = &stale {
                    free.push_str(" OR lease_owner = :stale");
                    update = update.expression_attribute_values(":stale", s(stale));
                }
                free.push(')');
                condition.push(free);
                update = update
                    .update_expression(
                        "SET lease_owner = :holder, lease_until = :until ADD fence :one",
                    )
                    .expression_attribute_values(":one", n(1));
            }
            Some(fence) => {
                condition
                    .push("lease_owner = :holder AND fence = :fence AND lease_until > :now".into());
                update = update
                    .update_expression("SET lease_until = :until")
                    .expression_attribute_values(":fence", n(fence as i64));
            }
        }
        match update
            .condition_expression(condition.join(" AND "))
            .send()
            .await
        {
            Ok(output) => Ok(Some(held.unwrap_or_else(|| {
                output
                    .attributes()
                    .and_then(|a| a.get("fence"))
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0)
            }))),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(self.fail(&e)),
        }
    }

    /// Gives lock `name` back: see [`Counter::unlock`].
    pub(super) async fn give_back(
        &self,
        name: &str,
        holder: &str,
        fence: Fence,
    ) -> Result<(), CounterError> {
        let given = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(&lock_key(name)))
            .update_expression("SET lease_until = :now")
            .condition_expression("lease_owner = :holder AND fence = :fence")
            .expression_attribute_values(":holder", s(holder))
            .expression_attribute_values(":fence", n(fence as i64))
            .expression_attribute_values(":now", s(&now()))
            .send()
            .await;
        match given {
            Ok(_) => Ok(()),
            // Someone else's by now: nothing to give back.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(self.fail(&e)),
        }
    }

    /// The update that marks batch `id` `state` under `hold`'s batch fence
    /// (and, to compact, an unexpired lease).
    fn finishing(
        &self,
        id: &str,
        hold: &Hold,
        state: BatchState,
        error: Option<&str>,
    ) -> Result<Update, CounterError> {
        let done = now();
        let mut update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(&batch_key(id)))
            .expression_attribute_names("#s", "state")
            .expression_attribute_names("#e", "error")
            .expression_attribute_values(":claimed", s("claimed"))
            .expression_attribute_values(":failed", s("failed"))
            .expression_attribute_values(":holder", s(&hold.holder))
            .expression_attribute_values(":fence", n(hold.batch as i64))
            .expression_attribute_values(":state", s(&state.to_string()))
            .expression_attribute_values(":done", s(&done));
        let held = format!("{STILL_TO_COMPACT} AND lease_owner = :holder AND fence = :fence");
        update = match error {
            Some(error) => update
                .condition_expression(held)
                .update_expression(
                    "SET #s = :state, done_at = :done, #e = :error, lease_until = :done",
                )
                .expression_attribute_values(":error", s(error)),
            None => update
                .condition_expression(format!("{held} AND lease_until > :done"))
                .update_expression("SET #s = :state, done_at = :done REMOVE #e"),
        };
        update.build().map_err(|e| self.fail(&e))
    }

    /// Marks batch `id`: see [`Counter::mark_compacted`] and [`Counter::mark_failed`].
    pub(super) async fn finish(
        &self,
        id: &str,
        hold: &Hold,
        state: BatchState,
        error: Option<&str>,
    ) -> Result<(), CounterError> {
        let refused = if state == BatchState::Compacted {
            let Some(writer) = hold.writer else {
                return Err(self.lost(id).await);
            };
            let lock = ConditionCheck::builder()
                .table_name(&self.table)
                .key("pk", s(&lock_key(WRITER)))
                .condition_expression(
                    "lease_owner = :holder AND fence = :fence AND lease_until > :now",
                )
                .expression_attribute_values(":holder", s(&hold.holder))
                .expression_attribute_values(":fence", n(writer as i64))
                .expression_attribute_values(":now", s(&now()))
                .build()
                .map_err(|e| self.fail(&e))?;
            let mut attempt = 0;
            loop {
                back_off(attempt, 500).await;
                let sent = self
                    .client
                    .transact_write_items()
                    .transact_items(
                        TransactWriteItem::builder()
                            .condition_check(lock.clone())
                            .build(),
                    )
                    .transact_items(
                        TransactWriteItem::builder()
                            .update(self.finishing(id, hold, state, error)?)
                            .build(),
                    )
                    .send()
                    .await;
                match sent {
                    Ok(_) => return Ok(()),
                    Err(e) if cancelled_for_now(&e) && attempt + 1 < RECORD_ATTEMPTS => {
                        self.count_retry();
                        attempt += 1;
                    }
                    Err(e) => {
                        use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError as E;
                        match e.as_service_error() {
                            Some(E::TransactionCanceledException(_)) => break,
                            _ => return Err(self.fail(&e)),
                        }
                    }
                }
            }
            true
        } else {
            let update = self.finishing(id, hold, state, error)?;
            match self.update_alone(&update).await {
                Ok(_) => false,
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
                {
                    true
                }
                Err(e) => return Err(self.fail(&e)),
            }
        };
        if refused {
            return Err(self.lost(id).await);
        }
        Ok(())
    }

    /// Why a mark was refused: the batch is compacted already, gone, or
    /// another runner's.
    async fn lost(&self, id: &str) -> CounterError {
        match self.batch(id).await {
            Ok(batch) if batch.state == BatchState::Compacted => CounterError::WrongState {
                id: id.to_string(),
                state: batch.state,
            },
            Ok(_) => CounterError::LeaseLost {
                id: id.to_string(),
                holder: match self.lease_on(&batch_key(id)).await {
                    Ok(Some(lease)) => lease.holder,
                    _ => "nobody".into(),
                },
            },
            Err(error) => error,
        }
    }
}
