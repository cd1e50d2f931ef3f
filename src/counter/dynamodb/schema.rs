//! The counter table's shape beyond its key: the sparse `pending` index that
//! lets a claim find unbatched objects (and claims left half-done) without
//! scanning the table, and the TTL
//! that removes the markers of claimed objects after the retention. Created
//! with the table, added to a table made by an older iotpipe by
//! `iotpipe counters --init` (which also indexes the objects already pending),
//! and checked by `doctor`.

use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, CreateGlobalSecondaryIndexAction, GlobalSecondaryIndex,
    GlobalSecondaryIndexUpdate, IndexStatus, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TableStatus, TimeToLiveSpecification, TimeToLiveStatus,
};

use super::{DynamoCounter, s};
use crate::counter::CounterError;

/// The index of unbatched markers: partition `queue` (one value, set only
/// while an object waits for a batch), sorted by object key.
pub const PENDING_INDEX: &str = "pending";
/// The attribute that puts a marker in [`PENDING_INDEX`].
pub const QUEUE: &str = "queue";
/// Its value on an object waiting for a batch.
pub const WAITING: &str = "waiting";
/// Its value on a large batch being claimed (not committed yet).
pub const CLAIMING: &str = "claiming";
/// The TTL attribute (epoch seconds) of markers of claimed objects.
pub const EXPIRES: &str = "expires_at";

/// What the table lacks of the shape this iotpipe expects.
pub struct Gaps {
    pub index: bool,
    pub ttl: bool,
}

impl Gaps {
    pub fn is_empty(&self) -> bool {
        !self.index && !self.ttl
    }

    /// What is missing and what that costs.
    pub fn describe(&self) -> String {
        let mut missing = Vec::new();
        if self.index {
            missing.push(format!(
                "the `{PENDING_INDEX}` index (claims scan the whole table)"
            ));
        }
        if self.ttl {
            missing.push(format!("TTL on `{EXPIRES}` (claimed markers never expire)"));
        }
        missing.join(" and ")
    }

    /// What filling the gaps adds, in a few words.
    pub fn added(&self) -> String {
        let mut added = Vec::new();
        if self.index {
            added.push(format!("the `{PENDING_INDEX}` index"));
        }
        if self.ttl {
            added.push(format!("TTL on `{EXPIRES}`"));
        }
        added.join(" and ")
    }
}

impl DynamoCounter {
    pub(super) fn key_definitions(&self) -> Result<Vec<AttributeDefinition>, CounterError> {
        ["pk", QUEUE, "key"]
            .into_iter()
            .map(|name| {
                AttributeDefinition::builder()
                    .attribute_name(name)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .map_err(|e| self.fail(&e))
            })
            .collect()
    }

    fn index_keys(&self) -> Result<Vec<KeySchemaElement>, CounterError> {
        Ok(vec![
            KeySchemaElement::builder()
                .attribute_name(QUEUE)
                .key_type(KeyType::Hash)
                .build()
                .map_err(|e| self.fail(&e))?,
            KeySchemaElement::builder()
                .attribute_name("key")
                .key_type(KeyType::Range)
                .build()
                .map_err(|e| self.fail(&e))?,
        ])
    }

    fn projection() -> Projection {
        Projection::builder()
            .projection_type(ProjectionType::Include)
            .non_key_attributes("size")
            .build()
    }

    pub(super) fn pending_index(&self) -> Result<GlobalSecondaryIndex, CounterError> {
        GlobalSecondaryIndex::builder()
            .index_name(PENDING_INDEX)
            .set_key_schema(Some(self.index_keys()?))
            .projection(Self::projection())
            .build()
            .map_err(|e| self.fail(&e))
    }

    /// What the table (which exists) lacks.
    pub(super) async fn gaps(&self) -> Result<Gaps, CounterError> {
        let table = self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .map_err(|e| self.fail(&e))?;
        let index = !table.table().is_some_and(|t| {
            t.global_secondary_indexes()
                .iter()
                .any(|i| i.index_name() == Some(PENDING_INDEX))
        });
        let ttl = self
            .client
            .describe_time_to_live()
            .table_name(&self.table)
            .send()
            .await
            .map_err(|e| self.fail(&e))?;
        let ttl = !ttl.time_to_live_description().is_some_and(|d| {
            matches!(
                d.time_to_live_status(),
                Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
            ) && d.attribute_name() == Some(EXPIRES)
        });
        Ok(Gaps { index, ttl })
    }

    /// Adds what the table lacks; returns what it lacked.
    pub(super) async fn upgrade(&self) -> Result<Gaps, CounterError> {
        self.wait_until_active().await?;
        let gaps = self.gaps().await?;
        if gaps.index {
            let create = CreateGlobalSecondaryIndexAction::builder()
                .index_name(PENDING_INDEX)
                .set_key_schema(Some(self.index_keys()?))
                .projection(Self::projection())
                .build()
                .map_err(|e| self.fail(&e))?;
            self.client
                .update_table()
                .table_name(&self.table)
                .set_attribute_definitions(Some(self.key_definitions()?))
                .global_secondary_index_updates(
                    GlobalSecondaryIndexUpdate::builder().create(create).build(),
                )
                .send()
                .await
                .map_err(|e| self.fail(&e))?;
            self.wait_until_active().await?;
            self.index_waiting_objects().await?;
        }
        if gaps.ttl {
            self.client
                .update_time_to_live()
                .table_name(&self.table)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .enabled(true)
                        .attribute_name(EXPIRES)
                        .build()
                        .map_err(|e| self.fail(&e))?,
                )
                .send()
                .await
                .map_err(|e| self.fail(&e))?;
        }
        Ok(gaps)
    }

    /// Puts the objects recorded by an older iotpipe, and still waiting, in the index.
    async fn index_waiting_objects(&self) -> Result<(), CounterError> {
        for item in self.scan_pending().await? {
            let Some(pk) = item.get("pk").cloned() else {
                continue;
            };
            let updated = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", pk)
                .update_expression("SET #q = :waiting")
                .condition_expression("attribute_exists(pk) AND attribute_not_exists(#b)")
                .expression_attribute_names("#q", QUEUE)
                .expression_attribute_names("#b", "batch")
                .expression_attribute_values(":waiting", s(WAITING))
                .send()
                .await;
            if let Err(e) = updated
                && !e
                    .as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception())
            {
                return Err(self.fail(&e));
            }
        }
        Ok(())
    }

    /// Waits (at most 10 minutes) until the table and its indexes are ACTIVE.
    pub(super) async fn wait_until_active(&self) -> Result<(), CounterError> {
        let deadline = std::time::Instant::now() + Duration::from_secs(600);
        loop {
            let output = self
                .client
                .describe_table()
                .table_name(&self.table)
                .send()
                .await
                .map_err(|e| self.fail(&e))?;
            let table = output.table();
            let active = table.and_then(|t| t.table_status()) == Some(&TableStatus::Active)
                && table.is_some_and(|t| {
                    t.global_secondary_indexes()
                        .iter()
                        .all(|i| i.index_status() == Some(&IndexStatus::Active))
                });
            if active {
                return Ok(());
            }
            if std::time::Instant::now() > deadline {
                return Err(CounterError::Table {
                    table: self.table.clone(),
                    message: "still not ACTIVE after 10 minutes".into(),
                });
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }
}
