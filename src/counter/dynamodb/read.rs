//! Reading the counter table: items by key, the pending index (a scan where
//! an older table lacks it), and scans by key prefix.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::{DynamoCounter, s, schema};
use crate::counter::{Batch, BatchState, CounterError, Pending};

/// A marker as the claim needs it.
pub(super) fn pending_from(item: &HashMap<String, AttributeValue>) -> Option<Pending> {
    let key = item.get("key")?.as_s().ok()?.clone();
    let size = item
        .get("size")
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Some(Pending { key, size })
}

impl DynamoCounter {
    /// The items of `queue` in the pending index, by key, at most `limit`;
    /// None when the table lacks the index (made by an older iotpipe).
    pub(super) async fn queued(
        &self,
        queue: &str,
        limit: Option<usize>,
    ) -> Result<Option<Vec<HashMap<String, AttributeValue>>>, CounterError> {
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(schema::PENDING_INDEX)
            .key_condition_expression("#q = :queue")
            .expression_attribute_names("#q", schema::QUEUE)
            .expression_attribute_values(":queue", s(queue));
        if let Some(limit) = limit {
            query = query.limit(i32::try_from(limit.min(10_000)).unwrap_or(10_000));
        }
        let mut pages = query.into_paginator().send();
        let mut items = Vec::new();
        while let Some(page) = pages.next().await {
            match page {
                Ok(page) => items.extend(page.items().iter().cloned()),
                Err(e)
                    if e.as_service_error().is_some_and(|s| {
                        s.meta()
                            .message()
                            .is_some_and(|m| m.to_lowercase().contains("index"))
                    }) =>
                {
                    tracing::warn!(
                        "counter table {} has no `{}` index: scanning it instead (run `iotpipe \
                         counters --init` to add it)",
                        self.table,
                        schema::PENDING_INDEX
                    );
                    return Ok(None);
                }
                Err(e) => return Err(self.fail(&e)),
            }
            if limit.is_some_and(|l| items.len() >= l) {
                break;
            }
        }
        if let Some(limit) = limit {
            items.truncate(limit);
        }
        Ok(Some(items))
    }

    /// Recorded objects not yet in a batch, oldest key first, at most `limit`.
    pub(super) async fn waiting(&self, limit: Option<usize>) -> Result<Vec<Pending>, CounterError> {
        match self.queued(schema::WAITING, limit).await? {
            Some(items) => Ok(items.iter().filter_map(pending_from).collect()),
            None => self.scanned_pending(limit).await,
        }
    }

    pub(super) async fn scanned_pending(
        &self,
        limit: Option<usize>,
    ) -> Result<Vec<Pending>, CounterError> {
        let mut pending: Vec<Pending> = self
            .scan_pending()
            .await?
            .iter()
            .filter_map(pending_from)
            .collect();
        pending.sort_by(|a, b| a.key.cmp(&b.key));
        if let Some(limit) = limit {
            pending.truncate(limit);
        }
        Ok(pending)
    }

    /// Every item whose pk starts with `prefix`, paginated.
    pub(super) async fn scan(
        &self,
        prefix: &str,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, CounterError> {
        self.scan_filtered(prefix, false).await
    }

    /// Recorded objects not yet in a batch.
    pub(super) async fn scan_pending(
        &self,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, CounterError> {
        self.scan_filtered("object#", true).await
    }

    pub(super) async fn scan_filtered(
        &self,
        prefix: &str,
        unbatched: bool,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, CounterError> {
        let mut scan = self
            .client
            .scan()
            .table_name(&self.table)
            .expression_attribute_values(":p", s(prefix))
            .consistent_read(true);
        scan = if unbatched {
            scan.filter_expression("begins_with(pk, :p) AND attribute_not_exists(#b)")
                .expression_attribute_names("#b", "batch")
        } else {
            scan.filter_expression("begins_with(pk, :p)")
        };
        let mut pages = scan.into_paginator().send();
        let mut items = Vec::new();
        while let Some(page) = pages.next().await {
            items.extend(page.map_err(|e| self.fail(&e))?.items().iter().cloned());
        }
        Ok(items)
    }

    pub(super) fn batch_from(item: &HashMap<String, AttributeValue>) -> Option<Batch> {
        let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
        let id = text("pk")?.strip_prefix("batch#")?.to_string();
        // A large claim not committed, or being rolled back.
        if matches!(text("state").as_deref(), Some("claiming" | "rolling-back")) {
            return None;
        }
        let keys = item
            .get("keys")
            .and_then(|v| v.as_l().ok())
            .map(|l| l.iter().filter_map(|v| v.as_s().ok().cloned()).collect())
            .unwrap_or_default();
        Some(Batch {
            id,
            state: text("state")
                .and_then(|s| s.parse().ok())
                .unwrap_or(BatchState::Failed),
            keys,
            bytes: item
                .get("bytes")
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            claimed_at: text("claimed_at").unwrap_or_default(),
            done_at: text("done_at"),
            error: text("error"),
            retired: item.contains_key("retired"),
        })
    }

    /// One item by key, read consistently.
    pub(super) async fn get(
        &self,
        pk: &str,
    ) -> Result<Option<HashMap<String, AttributeValue>>, CounterError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.fail(&e))?;
        Ok(output.item().cloned())
    }

    /// A batch item as a batch, its keys read from its parts when it has them;
    /// None for a claim not committed yet.
    pub(super) async fn load(
        &self,
        item: &HashMap<String, AttributeValue>,
    ) -> Result<Option<Batch>, CounterError> {
        let Some(mut batch) = Self::batch_from(item) else {
            return Ok(None);
        };
        if let Some(parts) = item
            .get("parts")
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse::<usize>().ok())
        {
            batch.keys = self.part_keys(&batch.id, parts).await?;
        }
        Ok(Some(batch))
    }
}
