//! The `--dry-run` plan: what [`Pipeline::drain`] would do, in the same
//! order, without changing anything.

use serde::Serialize;

use super::{Drain, Pipeline};
use crate::compact::CompactError;
use crate::counter::BatchState;

/// One step of a `--dry-run` plan.
#[derive(Debug, Serialize)]
pub struct PlanStep {
    pub action: &'static str,
    pub batch: Option<String>,
    pub objects: u64,
    pub bytes: Option<u64>,
    #[serde(skip)]
    pub keys: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimated_cost_usd: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sql: Option<Vec<String>>,
}

/// The batch id in the SQL of a batch not claimed yet.
pub const NEW_BATCH: &str = "<new batch>";

impl Pipeline {
    /// What [`Pipeline::drain`] would do, without changing anything: the
    /// batches it would resume, then the claims in the counter's own order.
    pub async fn plan(&self, drain: &Drain) -> Result<Vec<PlanStep>, CompactError> {
        let mut steps = Vec::new();
        let batches = match &drain.only {
            Some(id) => vec![self.counter.batch(id).await?],
            None if drain.resume => self.resumable().await?,
            None => Vec::new(),
        };
        for batch in batches {
            let compacted = batch.state == BatchState::Compacted;
            steps.push(PlanStep {
                action: if compacted {
                    "delete leftover raw objects"
                } else {
                    "resume (rewrite its outputs)"
                },
                batch: Some(batch.id.clone()),
                objects: batch.keys.len() as u64,
                bytes: Some(batch.bytes),
                keys: if compacted { Vec::new() } else { batch.keys },
                estimated_cost_usd: None,
                sql: None,
            });
        }
        if drain.only.is_none() && drain.claim {
            let pending = self.counter.pending_objects().await?;
            let mut rest = &pending[..];
            while let Some(size) =
                crate::counter::claim_size(rest.len() as u64, drain.threshold, drain.partial)
            {
                let (claimed, after) = rest.split_at(size as usize);
                rest = after;
                steps.push(PlanStep {
                    action: if size < drain.threshold {
                        "claim and compact (partial)"
                    } else {
                        "claim and compact"
                    },
                    batch: None,
                    objects: claimed.len() as u64,
                    bytes: Some(claimed.iter().map(|o| o.size).sum()),
                    keys: claimed.iter().map(|o| o.key.clone()).collect(),
                    estimated_cost_usd: None,
                    sql: None,
                });
            }
        }
        for step in steps.iter_mut().filter(|s| !s.keys.is_empty()) {
            let id = step.batch.as_deref().unwrap_or(NEW_BATCH);
            if let Some(estimate) = self
                .engine
                .estimate(id, &step.keys, step.bytes.unwrap_or(0))?
            {
                step.estimated_cost_usd = Some(estimate.cost_usd);
                step.sql = Some(estimate.sql);
            }
        }
        Ok(steps)
    }
}
