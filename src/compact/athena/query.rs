//! Talking to Athena: starting a statement, polling it to its end (stopping it
//! on Ctrl-C or when the runner's lease is lost), reading its results, and
//! what it costs; the workgroup as `doctor` reports it.

use std::time::Duration;

use aws_sdk_athena::types::{QueryExecutionContext, QueryExecutionState, ResultConfiguration};

use super::AthenaEngine;
use crate::compact::{BilledQuery, CompactError, Compaction, Progress};
use crate::signal::Cancel;

/// Athena's price: 5 USD per TB scanned, at least 10 MB per query, rounded up to the MB.
pub fn cost_usd(bytes_scanned: u64) -> f64 {
    const MB: u64 = 1_000_000;
    let billed = bytes_scanned.div_ceil(MB).max(10) * MB;
    billed as f64 * 5.0 / 1e12
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

impl AthenaEngine {
    /// Runs one statement to its end, stopping it when `lost` fires (this
    /// runner's lease on the batch is gone: another runner may own it now).
    pub(super) async fn run_until(
        &self,
        sql: &str,
        progress: &dyn Progress,
        lost: &Cancel,
    ) -> Result<BilledQuery, CompactError> {
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
        progress: &dyn Progress,
        lost: &Cancel,
    ) -> Result<BilledQuery, CompactError> {
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
                    return Ok(BilledQuery {
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
                    crate::note!(
                        "compact: stopping Athena query {id} (Ctrl-C again to quit at once)"
                    );
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
    pub(super) async fn query(
        &self,
        sql: &str,
        purpose: &'static str,
        compaction: &mut Compaction,
        progress: &dyn Progress,
        lost: &Cancel,
    ) -> Result<BilledQuery, CompactError> {
        let mut run = self.run_until(sql, progress, lost).await?;
        run.purpose = purpose;
        compaction
            .cost
            .get_or_insert_with(Default::default)
            .queries
            .push(run.clone());
        Ok(run)
    }

    /// The rows of a finished SELECT (header row dropped), NULL as None.
    pub(super) async fn results(&self, id: &str) -> Result<Vec<Vec<Option<String>>>, CompactError> {
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
    pub(super) async fn update_count(&self, id: &str) -> Result<u64, CompactError> {
        let output = self
            .client
            .get_query_results()
            .query_execution_id(id)
            .send()
            .await
            .map_err(|e| api_error("GetQueryResults", &e))?;
        Ok(output.update_count().unwrap_or(0).max(0) as u64)
    }
}

fn api_error(operation: &str, error: &(dyn std::error::Error + 'static)) -> CompactError {
    CompactError::Engine(format!(
        "Athena {operation}: {}",
        crate::aws::describe(error)
    ))
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
