//! The Athena engine: runs a batch's `INSERT INTO` statements ([`athena_sql`])
//! and polls each until Athena says SUCCEEDED, FAILED or CANCELLED. A query
//! that does not succeed fails the batch (left retryable, with Athena's
//! reason); Ctrl-C stops the running query before iotpipe exits.
//!
//! Athena writes the batch under `compacted/dt=<day>/batch=<id>/` with names of
//! its choosing, so a retry first deletes whatever an earlier attempt of the
//! same batch wrote there: the output is fixed by the batch id, as with the
//! local engine, and a retried batch never doubles its rows.

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

    /// The statements that compact `batch`'s keys.
    pub fn statements(&self, batch_id: &str, keys: &[String]) -> Result<Vec<String>, CompactError> {
        athena_sql::insert_statements(&self.target, batch_id, keys, |key| self.store.uri(key))
            .map_err(|e| CompactError::Engine(e.to_string()))
    }

    /// The set-up DDL (`compact --init`).
    pub fn ddl(&self) -> Vec<String> {
        athena_sql::ddl(&self.target)
    }

    /// Runs one statement to its end.
    pub async fn run(&self, sql: &str, progress: &Progress) -> Result<QueryRun, CompactError> {
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
        self.poll(&id, progress).await
    }

    async fn poll(&self, id: &str, progress: &Progress) -> Result<QueryRun, CompactError> {
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
            let interrupted = tokio::select! {
                _ = tokio::time::sleep(delay) => false,
                () = self.cancel.cancelled() => true,
            };
            if interrupted {
                eprintln!("compact: stopping Athena query {id} (Ctrl-C again to quit at once)");
                let stopped = self
                    .client
                    .stop_query_execution()
                    .query_execution_id(id)
                    .send()
                    .await;
                if let Err(e) = stopped {
                    tracing::warn!("stopping Athena query {id}: {}", crate::aws::describe(&e));
                }
                return Err(CompactError::Interrupted {
                    query: Some(id.to_string()),
                });
            }
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }

    /// Deletes what an earlier attempt of this batch wrote.
    async fn clear_earlier_attempt(&self, batch_id: &str) -> Result<(), CompactError> {
        let marker = format!("/batch={batch_id}/");
        let stale: Vec<String> = self
            .store
            .list(COMPACTED)
            .await?
            .into_iter()
            .filter(|o| o.key.contains(&marker))
            .map(|o| o.key)
            .collect();
        if !stale.is_empty() {
            tracing::info!(
                "batch {batch_id}: deleting {} objects of an earlier attempt",
                stale.len()
            );
            self.store.delete_many(&stale).await?;
        }
        Ok(())
    }
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
    ) -> Result<Compaction, CompactError> {
        let statements = self.statements(&batch.id, &batch.keys)?;
        self.clear_earlier_attempt(&batch.id).await?;
        let mut compaction = Compaction {
            bytes_in: batch.bytes,
            ..Compaction::default()
        };
        for sql in &statements {
            compaction.queries.push(self.run(sql, progress).await?);
        }
        // A query that matched none of its `$path`s succeeds too, having
        // written nothing: deleting the raw objects then would lose them.
        let scanned: u64 = compaction.queries.iter().map(|q| q.bytes_scanned).sum();
        if batch.bytes > 0 && scanned == 0 {
            return Err(CompactError::Verify {
                key: format!("batch {}", batch.id),
                reason: format!(
                    "Athena read none of its {} bytes: the table {}.{} does not cover {} (check \
                     its LOCATION against aws.raw_prefix; `iotpipe compact --init --dry-run` \
                     shows the expected DDL)",
                    batch.bytes,
                    self.target.database,
                    self.target.raw_table,
                    self.target.raw_location
                ),
            });
        }
        if scanned < batch.bytes {
            tracing::warn!(
                "batch {}: Athena read {scanned} of its {} bytes; objects outside the raw table's \
                 LOCATION are not compacted",
                batch.id,
                batch.bytes
            );
        }
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
