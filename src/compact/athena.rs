//! The Athena engine: compacts a batch with the statements of [`athena_sql`],
//! polling each until Athena says SUCCEEDED, FAILED or CANCELLED; Ctrl-C stops
//! the running query before iotpipe exits.
//!
//! A batch runs in four steps. The survey asks Athena which days each object
//! holds and which rows are not schema v1. Objects Athena cannot read (a data
//! error, rows that are not v1, keys it skips or cannot see) are compacted by
//! the local engine instead, which sets their bad lines or bytes aside under
//! `rejected/`: a poison object never blocks its batch. Then the files an
//! earlier attempt of the batch wrote are deleted (its rows carry the batch
//! id), the INSERTs run, deduplicated against the table, and a verification
//! proves every reading of the objects is in the table exactly once before
//! anything is marked or deleted. Any other failure fails the batch (left
//! retryable, with Athena's reason).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_athena::Client;
use aws_sdk_athena::types::{QueryExecutionContext, QueryExecutionState, ResultConfiguration};
use serde::Serialize;

use super::athena_sql::{self, Target};
use super::{CompactError, Compaction, Compactor, Estimate, Progress};
use crate::counter::Batch;
use crate::signal::Cancel;
use crate::store::s3::S3Store;
use crate::store::{COMPACTED, Store};

/// Athena's price: 5 USD per TB scanned, at least 10 MB per query, rounded up to the MB.
pub fn cost_usd(bytes_scanned: u64) -> f64 {
    const MB: u64 = 1_000_000;
    let billed = bytes_scanned.div_ceil(MB).max(10) * MB;
    billed as f64 * 5.0 / 1e12
}

/// One finished query.
#[derive(Debug, Clone, Serialize)]
pub struct QueryRun {
    pub id: String,
    /// survey, clean-up, insert or verify (empty for set-up DDL).
    #[serde(skip_serializing_if = "str::is_empty")]
    pub purpose: &'static str,
    pub bytes_scanned: u64,
    pub engine_millis: u64,
    pub cost_usd: f64,
}

/// An Athena workgroup as `doctor` reports it.
pub struct Workgroup {
    pub enabled: bool,
    pub bytes_limit: Option<u64>,
    /// Where results go: the enforced location, else `athena.output_location`,
    /// else the workgroup's default (Athena's own precedence).
    pub output_location: Option<String>,
}

/// The workgroup `name`; None when Athena has no such workgroup.
pub async fn workgroup(
    sdk: &aws_config::SdkConfig,
    name: &str,
    configured_output: Option<&str>,
) -> Result<Option<Workgroup>, String> {
    let output = crate::aws::athena(sdk)
        .get_work_group()
        .work_group(name)
        .send()
        .await
        .map_err(|e| crate::aws::describe(&e))?;
    let Some(workgroup) = output.work_group() else {
        return Ok(None);
    };
    let configuration = workgroup.configuration();
    let default_location = configuration
        .and_then(|c| c.result_configuration())
        .and_then(|r| r.output_location());
    let enforced = configuration
        .is_some_and(|c| c.enforce_work_group_configuration().unwrap_or(false))
        .then_some(default_location)
        .flatten();
    Ok(Some(Workgroup {
        enabled: workgroup.state().is_none_or(|s| s.as_str() == "ENABLED"),
        bytes_limit: configuration
            .and_then(|c| c.bytes_scanned_cutoff_per_query())
            .map(|b| b.max(0) as u64),
        output_location: enforced
            .or(configured_output)
            .or(default_location)
            .map(str::to_string),
    }))
}

pub struct AthenaEngine {
    client: Client,
    store: Arc<S3Store>,
    target: Target,
    workgroup: String,
    output_location: Option<String>,
    /// Fired by Ctrl-C or SIGTERM: the running query is stopped, the batch failed.
    cancel: Cancel,
}

impl AthenaEngine {
    pub fn new(
        client: Client,
        store: Arc<S3Store>,
        athena: &crate::config::Athena,
        cancel: Cancel,
    ) -> AthenaEngine {
        let target = Target {
            database: athena.database.clone(),
            raw_table: athena.raw_table.clone(),
            table: athena.table.clone(),
            raw_location: store.uri(crate::store::RAW),
            compacted_location: store.uri(COMPACTED),
        };
        AthenaEngine {
            client,
            store,
            target,
            workgroup: athena.workgroup.clone(),
            output_location: athena.output_location.clone(),
            cancel,
        }
    }

    /// The statements a run of the batch would send (days guessed from the keys).
    pub fn statements(&self, batch_id: &str, keys: &[String]) -> Result<Vec<String>, CompactError> {
        athena_sql::planned_statements(&self.target, batch_id, keys, |key| self.store.uri(key))
            .map_err(|e| CompactError::Engine(e.to_string()))
    }

    /// The set-up DDL (`compact --init`).
    pub fn ddl(&self) -> Vec<String> {
        athena_sql::ddl(&self.target)
    }

    /// Runs one statement to its end.
    pub async fn run(&self, sql: &str, progress: &Progress) -> Result<QueryRun, CompactError> {
        self.run_until(sql, progress, &Cancel::never()).await
    }

    /// Runs one statement to its end, stopping it when `lost` fires (this
    /// runner's lease on the batch is gone: another runner may own it now).
    async fn run_until(
        &self,
        sql: &str,
        progress: &Progress,
        lost: &Cancel,
    ) -> Result<QueryRun, CompactError> {
        if self.cancel.is_cancelled() {
            return Err(CompactError::Interrupted { query: None });
        }
        let mut start = self
            .client
            .start_query_execution()
            .query_string(sql)
            .work_group(&self.workgroup)
            .query_execution_context(
                QueryExecutionContext::builder()
                    .database(&self.target.database)
                    .build(),
            );
        if let Some(location) = &self.output_location {
            start = start.result_configuration(
                ResultConfiguration::builder()
                    .output_location(location)
                    .build(),
            );
        }
        let started = start
            .send()
            .await
            .map_err(|e| api_error("StartQueryExecution", &e))?;
        let id = started
            .query_execution_id()
            .ok_or_else(|| CompactError::Engine("Athena returned no query execution id".into()))?
            .to_string();
        tracing::info!("Athena query {id} started; Ctrl-C stops it");
        self.poll(&id, progress, lost).await
    }

    async fn poll(
        &self,
        id: &str,
        progress: &Progress,
        lost: &Cancel,
    ) -> Result<QueryRun, CompactError> {
        let mut delay = Duration::from_millis(200);
        loop {
            let output = self
                .client
                .get_query_execution()
                .query_execution_id(id)
                .send()
                .await
                .map_err(|e| api_error("GetQueryExecution", &e))?;
            let execution = output.query_execution();
            let status = execution.and_then(|e| e.status());
            let statistics = execution.and_then(|e| e.statistics());
            let scanned = statistics
                .and_then(|s| s.data_scanned_in_bytes())
                .unwrap_or(0)
                .max(0) as u64;
            let state = status
                .and_then(|s| s.state())
                .cloned()
                .unwrap_or(QueryExecutionState::Queued);
            progress.status(&format!(
                "Athena query {id}: {}, {} scanned",
                state.as_str(),
                indicatif::HumanBytes(scanned)
            ));
            match state {
                QueryExecutionState::Succeeded => {
                    return Ok(QueryRun {
                        id: id.to_string(),
                        purpose: "",
                        bytes_scanned: scanned,
                        engine_millis: statistics
                            .and_then(|s| s.engine_execution_time_in_millis())
                            .unwrap_or(0)
                            .max(0) as u64,
                        cost_usd: cost_usd(scanned),
                    });
                }
                QueryExecutionState::Failed | QueryExecutionState::Cancelled => {
                    let reason = status
                        .and_then(|s| s.athena_error())
                        .and_then(|e| e.error_message())
                        .or_else(|| status.and_then(|s| s.state_change_reason()))
                        .unwrap_or("Athena gave no reason")
                        .to_string();
                    return Err(CompactError::Query {
                        id: id.to_string(),
                        state: state.as_str().to_string(),
                        reason,
                    });
                }
                _ => {}
            }
            let stop = tokio::select! {
                _ = tokio::time::sleep(delay) => None,
                () = self.cancel.cancelled() => Some(false),
                () = lost.cancelled() => Some(true),
            };
            if let Some(lease_lost) = stop {
                if lease_lost {
                    tracing::warn!(
                        "stopping Athena query {id}: this runner lost its lease on the batch"
                    );
                } else {
                    eprintln!("compact: stopping Athena query {id} (Ctrl-C again to quit at once)");
                }
                let stopped = self
                    .client
                    .stop_query_execution()
                    .query_execution_id(id)
                    .send()
                    .await;
                if let Err(e) = stopped {
                    tracing::warn!("stopping Athena query {id}: {}", crate::aws::describe(&e));
                }
                if lease_lost {
                    return Err(CompactError::LeaseLost {
                        query: Some(id.to_string()),
                    });
                }
                return Err(CompactError::Interrupted {
                    query: Some(id.to_string()),
                });
            }
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }

    /// Runs `sql` for `purpose`, recording it in `compaction`.
    async fn query(
        &self,
        sql: &str,
        purpose: &'static str,
        compaction: &mut Compaction,
        progress: &Progress,
        lost: &Cancel,
    ) -> Result<QueryRun, CompactError> {
        let mut run = self.run_until(sql, progress, lost).await?;
        run.purpose = purpose;
        compaction.queries.push(run.clone());
        Ok(run)
    }

    /// The rows of a finished SELECT (header row dropped), NULL as None.
    async fn results(&self, id: &str) -> Result<Vec<Vec<Option<String>>>, CompactError> {
        let mut rows = Vec::new();
        let mut pages = self
            .client
            .get_query_results()
            .query_execution_id(id)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| api_error("GetQueryResults", &e))?;
            if let Some(set) = page.result_set() {
                for row in set.rows() {
                    rows.push(
                        row.data()
                            .iter()
                            .map(|d| d.var_char_value().map(str::to_string))
                            .collect(),
                    );
                }
            }
        }
        // Athena's first row of a SELECT names the columns.
        if !rows.is_empty() {
            rows.remove(0);
        }
        Ok(rows)
    }

    /// How many rows an INSERT wrote.
    async fn update_count(&self, id: &str) -> Result<u64, CompactError> {
        let output = self
            .client
            .get_query_results()
            .query_execution_id(id)
            .send()
            .await
            .map_err(|e| api_error("GetQueryResults", &e))?;
        Ok(output.update_count().unwrap_or(0).max(0) as u64)
    }

    /// Asks Athena what `uris` hold. Returns the objects it read cleanly with
    /// their days and row count; the rest (keys) go to `aside`.
    async fn survey(
        &self,
        uris: &[String],
        aside: &mut Vec<String>,
        compaction: &mut Compaction,
        progress: &Progress,
        lost: &Cancel,
    ) -> Result<(Vec<(String, BTreeSet<String>)>, u64), CompactError> {
        let mut candidates = uris.to_vec();
        for attempt in 0..2 {
            if candidates.is_empty() {
                break;
            }
            let sql = athena_sql::survey(&self.target, &candidates);
            let run = match self.query(&sql, "survey", compaction, progress, lost).await {
                Ok(run) => run,
                Err(CompactError::Query { reason, .. }) if is_data_error(&reason) => {
                    tracing::warn!("Athena cannot read some objects ({reason}); checking them");
                    let unreadable = if attempt == 0 {
                        self.unreadable(&candidates).await?
                    } else {
                        Vec::new()
                    };
                    // Unreadable to Athena alone (or twice failing): the local
                    // engine reads them all.
                    let moved: Vec<String> = if unreadable.is_empty() {
                        std::mem::take(&mut candidates)
                    } else {
                        candidates.retain(|u| !unreadable.contains(u));
                        unreadable
                    };
                    aside.extend(moved.iter().map(|u| self.key_of(u)));
                    continue;
                }
                Err(e) => return Err(e),
            };
            let mut days: HashMap<String, BTreeSet<String>> = HashMap::new();
            let mut bad: HashSet<String> = HashSet::new();
            let mut counts: HashMap<String, u64> = HashMap::new();
            for row in self.results(&run.id).await? {
                let [Some(object), day, Some(count), Some(invalid)] =
                    <[Option<String>; 4]>::try_from(row).map_err(|_| {
                        CompactError::Engine("Athena's survey has 4 columns".into())
                    })?
                else {
                    return Err(CompactError::Engine("Athena's survey has a NULL".into()));
                };
                if invalid != "0" {
                    bad.insert(object.clone());
                }
                *counts.entry(object.clone()).or_default() += count.parse::<u64>().unwrap_or(0);
                days.entry(object).or_default().extend(day);
            }
            let mut good = Vec::new();
            let mut rows = 0;
            for uri in candidates {
                match days.remove(&uri) {
                    Some(days) if !bad.contains(&uri) => {
                        rows += counts.get(&uri).copied().unwrap_or(0);
                        good.push((uri, days));
                    }
                    // Rows that are not v1, or nothing Athena read (a name it
                    // skips, a key outside the table's LOCATION, an empty object).
                    _ => aside.push(self.key_of(&uri)),
                }
            }
            return Ok((good, rows));
        }
        Ok((Vec::new(), 0))
    }

    /// The objects among `uris` the local engine finds unreadable or not v1.
    async fn unreadable(&self, uris: &[String]) -> Result<Vec<String>, CompactError> {
        let mut bad = Vec::new();
        for uri in uris {
            let key = self.key_of(uri);
            match self.store.get(&key).await {
                Ok(body) => {
                    if let Some(reason) = super::local::problem(&body) {
                        tracing::warn!("{key}: {reason}");
                        bad.push(uri.clone());
                    }
                }
                Err(crate::store::StoreError::NotFound { .. }) => bad.push(uri.clone()),
                Err(e) => return Err(e.into()),
            }
        }
        Ok(bad)
    }

    /// The layout key of an object URI of this bucket.
    fn key_of(&self, uri: &str) -> String {
        let physical = uri
            .strip_prefix(&format!("s3://{}/", self.store.bucket()))
            .unwrap_or(uri);
        self.store.logical(physical)
    }

    /// Deletes the files an earlier attempt of the batch wrote on `days`.
    async fn clear_earlier_attempt(
        &self,
        batch_id: &str,
        days: &BTreeSet<String>,
        compaction: &mut Compaction,
        progress: &Progress,
        lost: &Cancel,
    ) -> Result<(), CompactError> {
        if days.is_empty() {
            return Ok(());
        }
        let sql = athena_sql::own_files(&self.target, batch_id, days);
        let run = self
            .query(&sql, "clean-up", compaction, progress, lost)
            .await?;
        let stale: Vec<String> = self
            .results(&run.id)
            .await?
            .into_iter()
            .filter_map(|row| row.into_iter().next().flatten())
            .map(|uri| self.key_of(&uri))
            .filter(|key| key.starts_with(COMPACTED))
            .collect();
        if !stale.is_empty() {
            tracing::info!(
                "batch {batch_id}: deleting {} files of an earlier attempt",
                stale.len()
            );
            self.store.delete_many(&stale).await?;
        }
        Ok(())
    }
}

/// Athena could not read an object (bad gzip, a line that is not a JSON
/// object, a value that does not fit its column).
fn is_data_error(reason: &str) -> bool {
    ["HIVE_BAD_DATA", "HIVE_CURSOR_ERROR"]
        .iter()
        .any(|code| reason.contains(code))
}

fn api_error(operation: &str, error: &(dyn std::error::Error + 'static)) -> CompactError {
    CompactError::Engine(format!(
        "Athena {operation}: {}",
        crate::aws::describe(error)
    ))
}

#[async_trait::async_trait]
impl Compactor for AthenaEngine {
    fn name(&self) -> &'static str {
        "athena"
    }

    fn stops_on_cancel(&self) -> bool {
        true
    }

    fn estimate(
        &self,
        batch_id: &str,
        keys: &[String],
        bytes: u64,
    ) -> Result<Option<Estimate>, CompactError> {
        let sql = self.statements(batch_id, keys)?;
        // Athena bills each statement for what it scans: its share of the batch.
        let per_statement = bytes / sql.len().max(1) as u64;
        Ok(Some(Estimate {
            cost_usd: sql.len() as f64 * cost_usd(per_statement),
            sql,
        }))
    }

    fn setup(&self) -> Vec<String> {
        self.ddl()
    }

    async fn run_setup(
        &self,
        statement: &str,
        progress: &Progress,
    ) -> Result<String, CompactError> {
        Ok(self.run(statement, progress).await?.id)
    }

    async fn compact(
        &self,
        batch: &Batch,
        progress: &Progress,
        lost: &Cancel,
    ) -> Result<Compaction, CompactError> {
        let uris: Vec<String> = batch.keys.iter().map(|k| self.store.uri(k)).collect();
        let chunks = athena_sql::chunks(&self.target, &batch.id, &uris)
            .map_err(|e| CompactError::Engine(e.to_string()))?;
        let mut compaction = Compaction {
            bytes_in: batch.bytes,
            ..Compaction::default()
        };
        let mut aside: Vec<String> = Vec::new();
        let mut surveyed = Vec::new();
        let mut rows_in = 0;
        for chunk in &chunks {
            let (good, rows) = self
                .survey(chunk, &mut aside, &mut compaction, progress, lost)
                .await?;
            rows_in += rows;
            surveyed.push(good);
        }
        let days: BTreeSet<String> = surveyed
            .iter()
            .flatten()
            .flat_map(|(_, days)| days.iter().cloned())
            .collect();
        self.clear_earlier_attempt(&batch.id, &days, &mut compaction, progress, lost)
            .await?;

        if !aside.is_empty() {
            tracing::warn!(
                "batch {}: {} objects Athena cannot read are compacted by iotpipe itself",
                batch.id,
                aside.len()
            );
            let local = super::local::LocalEngine::new(self.store.clone(), None);
            let part = Batch {
                keys: aside,
                ..batch.clone()
            };
            let done = local.compact(&part, progress, lost).await?;
            compaction.outputs.extend(done.outputs);
            compaction.rows_in += done.rows_in;
            compaction.rows_out += done.rows_out;
            compaction.duplicates += done.duplicates;
            compaction.invalid += done.invalid;
            compaction.bytes_out += done.bytes_out;
            compaction.set_aside.extend(done.set_aside);
        }

        let mut inserted = 0;
        for good in surveyed.iter().filter(|g| !g.is_empty()) {
            let mut chunk_days = BTreeSet::new();
            for run in athena_sql::inserts(good) {
                let sql = athena_sql::insert(&self.target, &batch.id, &run.uris, &run.days);
                let query = self
                    .query(&sql, "insert", &mut compaction, progress, lost)
                    .await?;
                inserted += self.update_count(&query.id).await?;
                chunk_days.extend(run.days);
            }
            let objects: Vec<String> = good.iter().map(|(uri, _)| uri.clone()).collect();
            let sql = athena_sql::verify(&self.target, &objects, &chunk_days);
            let query = self
                .query(&sql, "verify", &mut compaction, progress, lost)
                .await?;
            let counts: Vec<u64> = self
                .results(&query.id)
                .await?
                .into_iter()
                .next()
                .unwrap_or_default()
                .into_iter()
                .map(|v| v.and_then(|v| v.parse().ok()).unwrap_or(0))
                .collect();
            let [readings, missing, doubled] = counts[..] else {
                return Err(CompactError::Engine(
                    "Athena's verification has 3 columns".into(),
                ));
            };
            if missing > 0 || doubled > 0 {
                return Err(CompactError::Verify {
                    key: format!("batch {}", batch.id),
                    reason: format!(
                        "after the INSERTs, {missing} of the {readings} readings of {} objects \
                         are not in {}.{} and {doubled} are there more than once; nothing is \
                         marked or deleted, and the next run clears this attempt's files and \
                         tries again",
                        objects.len(),
                        self.target.database,
                        self.target.table
                    ),
                });
            }
        }
        compaction.rows_in += rows_in;
        compaction.rows_out += inserted;
        compaction.rows_verified_by_query = inserted;
        compaction.duplicates += rows_in.saturating_sub(inserted);
        Ok(compaction)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_has_a_10_mb_minimum_and_rounds_up_to_the_mb() {
        assert_eq!(cost_usd(0), cost_usd(10_000_000));
        assert!((cost_usd(0) - 0.00005).abs() < 1e-12);
        assert!((cost_usd(1_000_000_000_000) - 5.0).abs() < 1e-9);
        assert_eq!(cost_usd(20_000_001), cost_usd(21_000_000));
    }
}
