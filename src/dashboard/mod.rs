//! The dashboard stage: a [`Dashboard`] is refreshed after compaction. Its
//! backends are the local HTML page ([`html`]) and QuickSight's datasets
//! ([`quicksight`]), whose refreshes are ingestions a command may wait for;
//! [`DatasetAdmin`] lists datasets and sets their refresh schedules.

pub mod html;
pub mod quicksight;
pub mod svg;

use std::path::PathBuf;

use serde::Serialize;
use time::OffsetDateTime;

pub use self::html::{Html, refresh};
use crate::config::Schedule;
use crate::error::Diagnose;
use crate::progress::Progress;
use crate::store;

#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Counter(#[from] crate::counter::CounterError),
    #[error("reading {key}: {reason}")]
    Read { key: String, reason: String },
    #[error(transparent)]
    QuickSight(#[from] quicksight::QuickSightError),
    #[error("writing {}: {source}", .path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Diagnose for DashboardError {
    fn hint(&self) -> Option<String> {
        match self {
            DashboardError::Store(e) => e.hint(),
            DashboardError::Counter(e) => e.hint(),
            DashboardError::QuickSight(e) => e.hint(),
            _ => Some("check the data dir and --out".into()),
        }
    }
}

/// What the page shows, also returned to the command for its summary.
#[derive(Debug, Default, Serialize)]
pub struct PageSummary {
    pub path: PathBuf,
    pub devices: usize,
    pub compacted_rows: u64,
    pub pending_rows: u64,
    pub pending_objects: u64,
    pub compacted_files: u64,
    pub batches_claimed: usize,
    pub batches_compacted: usize,
    pub batches_failed: usize,
    pub rejected_payloads: u64,
}

/// What a refresh did.
pub enum Refreshed {
    /// The HTML page was written.
    Page(PageSummary),
    /// QuickSight ingestions were started (and refused, per dataset).
    Ingestions {
        started: Vec<Ingestion>,
        /// Per dataset whose ingestion did not start, why.
        refused: Vec<DashboardError>,
    },
}

/// A dashboard backend: the local HTML page or QuickSight's datasets.
#[async_trait::async_trait]
pub trait Dashboard: Send + Sync {
    /// Writes the page, or starts an ingestion per dataset.
    async fn refresh(&self) -> Result<Refreshed, DashboardError>;

    /// Waits until what `refresh` started has ended (nothing to wait for by default).
    async fn wait(
        &self,
        _refreshed: &mut Refreshed,
        _timeout: std::time::Duration,
        _cancel: &crate::signal::Cancel,
        _progress: &dyn Progress,
    ) -> Result<Waited, DashboardError> {
        Ok(Waited::Finished)
    }
}

/// A dashboard service's datasets (`refresh-dashboard --list`, `--schedule`).
#[async_trait::async_trait]
pub trait DatasetAdmin: Send + Sync {
    /// The account's datasets, each with its latest ingestion.
    async fn datasets(&self) -> Result<Vec<DatasetSummary>, DashboardError>;
    /// Sets `dataset` to refresh on `schedule` (or not at all).
    async fn set_schedule(
        &self,
        dataset: &str,
        schedule: Schedule,
    ) -> Result<ScheduleChange, DashboardError>;
}

/// How an ingestion went (or stands).
#[derive(Debug, Clone, Serialize)]
pub struct Ingestion {
    pub dataset: String,
    pub ingestion: String,
    pub status: String,
    pub rows_ingested: Option<i64>,
    pub rows_dropped: Option<i64>,
    pub seconds: Option<f64>,
    pub error_type: Option<String>,
    pub error_message: Option<String>,
    #[serde(skip)]
    pub created: Option<OffsetDateTime>,
}

impl Ingestion {
    pub fn finished(&self) -> bool {
        matches!(self.status.as_str(), "COMPLETED" | "FAILED" | "CANCELLED")
    }
}

/// A dataset and its latest ingestion, for `--list`.
#[derive(Debug, Clone, Serialize)]
pub struct DatasetSummary {
    pub dataset: String,
    pub name: String,
    pub import_mode: String,
    pub last: Option<Ingestion>,
}

/// What `--schedule` changed.
#[derive(Debug, Clone, Serialize)]
pub struct ScheduleChange {
    pub dataset: String,
    pub schedule: Schedule,
    /// created, updated, deleted or absent
    pub action: &'static str,
}

/// How waiting for ingestions ended.
pub enum Waited {
    Finished,
    Interrupted,
    TimedOut,
}
