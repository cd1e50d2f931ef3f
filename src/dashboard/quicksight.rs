//! The QuickSight dashboard: refreshing a SPICE dataset is an ingestion
//! (CreateIngestion, then DescribeIngestion until it ends), bounded by a daily
//! quota; refresh schedules replace the hourly refresh the original system set
//! up by hand in the console.

use crate::signal::Cancel;
use std::time::Duration;

use hyper::Method;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{
    Dashboard, DashboardError, DatasetAdmin, DatasetSummary, Ingestion, Refreshed, ScheduleChange,
    Waited,
};
use crate::aws::rest::{self, CallError, Client, label};
use crate::config::Schedule;
use crate::progress::Progress;

/// Ingestions per dataset per 24 hours on QuickSight Standard edition
/// (Enterprise allows 32).
const STANDARD_DAILY_INGESTIONS: usize = 8;

/// The id of the refresh schedule iotpipe manages on each dataset.
pub const SCHEDULE_ID: &str = "iotpipe-refresh";

#[derive(Debug, thiserror::Error)]
pub enum QuickSightError {
    #[error(
        "QuickSight refused an ingestion of dataset {dataset}: LimitExceededException: {said} \
         ({recent} ingestions in the last 24 h)"
    )]
    Quota {
        dataset: String,
        /// What QuickSight said: the daily quota, or another limit.
        said: String,
        recent: usize,
        next_slot: Option<OffsetDateTime>,
    },
    #[error("QuickSight dataset {dataset} does not exist in account {account}")]
    NoDataset { dataset: String, account: String },
    #[error("QuickSight {operation} for {dataset}: {message}")]
    Api {
        operation: &'static str,
        dataset: String,
        message: String,
        /// What to do, when the failure says it (`CallError::hint`).
        hint: Option<&'static str>,
    },
    #[error("finding the AWS account id (STS GetCallerIdentity): {0}")]
    Account(String),
}

impl crate::error::Diagnose for QuickSightError {
    fn hint(&self) -> Option<String> {
        Some(match self {
            // QuickSight Developer Guide, "Service quotas": 32 ingestions per
            // dataset per 24 h on Enterprise edition, 8 on Standard.
            QuickSightError::Quota { recent, .. } if *recent < STANDARD_DAILY_INGESTIONS => {
                format!(
                    "{recent} ingestions in the last 24 h is under the daily quota (32 on \
                     Enterprise edition, 8 on Standard), so this is another QuickSight limit, \
                     such as ingestions running at once in the account: let running ones finish \
                     (`refresh-dashboard --list`) and retry"
                )
            }
            QuickSightError::Quota { next_slot, .. } => {
                let when = next_slot
                    .and_then(|t| {
                        t.format(&time::format_description::well_known::Rfc3339)
                            .ok()
                    })
                    .map_or_else(|| "in up to 24 hours".to_string(), |t| format!("after {t}"));
                format!(
                    "QuickSight allows 32 ingestions per dataset per 24 hours on Enterprise \
                     edition (8 on Standard); retry {when}, or refresh less often (--schedule daily)"
                )
            }
            QuickSightError::NoDataset { .. } => "`iotpipe refresh-dashboard --list` shows the \
                 account's datasets; set quicksight.datasets (or --dataset) to their ids"
                .into(),
            QuickSightError::Api {
                hint: Some(hint), ..
            } => (*hint).into(),
            QuickSightError::Api { message, .. } if message.starts_with("cannot reach") => {
                "QuickSight could not be reached: check the network, the region (--region) and \
                 any --endpoint-url / AWS_ENDPOINT_URL"
                    .into()
            }
            QuickSightError::Api { .. } => "check the account id (quicksight.account_id), the \
                 region (QuickSight datasets live in one region) and quicksight:CreateIngestion, \
                 DescribeIngestion, ListIngestions permissions"
                .into(),
            QuickSightError::Account(_) => "set quicksight.account_id, or check credentials \
                 (--profile) so STS can tell the account"
                .into(),
        })
    }
}

pub struct QuickSight {
    client: Client,
    account: String,
}

/// The account id from configuration, or from STS.
async fn account_id(
    sdk: &aws_config::SdkConfig,
    configured: Option<&str>,
) -> Result<String, QuickSightError> {
    if let Some(account) = configured {
        return Ok(account.to_string());
    }
    let identity = aws_sdk_sts::Client::new(sdk)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| QuickSightError::Account(crate::aws::describe(&e)))?;
    identity
        .account()
        .map(str::to_string)
        .ok_or_else(|| QuickSightError::Account("STS returned no account".into()))
}

impl QuickSight {
    /// QuickSight in the account of `quicksight.account_id`, else the caller's (STS).
    pub async fn from_config(
        config: &crate::config::Config,
    ) -> Result<QuickSight, QuickSightError> {
        let sdk = crate::aws::sdk_config(&config.aws).await;
        let account = account_id(&sdk, config.quicksight.account_id.as_deref()).await?;
        Ok(QuickSight {
            client: Client::new(&sdk, &rest::QUICKSIGHT),
            account,
        })
    }

    fn api(&self, operation: &'static str, dataset: &str, error: CallError) -> QuickSightError {
        QuickSightError::Api {
            operation,
            dataset: dataset.to_string(),
            message: error.to_string(),
            hint: error.hint(),
        }
    }

    /// `/accounts/{AwsAccountId}/data-sets/{DataSetId}` and what follows
    /// (QuickSight API reference: every call below is REST-JSON under it).
    fn dataset_path(&self, dataset: &str, rest: &str) -> String {
        format!(
            "/accounts/{}/data-sets/{}{rest}",
            label(&self.account),
            label(dataset)
        )
    }

    /// Starts a full refresh of `dataset` under a new ingestion id.
    pub async fn create_ingestion(&self, dataset: &str) -> Result<Ingestion, QuickSightError> {
        let id = format!(
            "iotpipe-{}-{}",
            OffsetDateTime::now_utc().unix_timestamp(),
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        // Not retried: a retry of LimitExceeded (the daily quota) cannot succeed.
        let created = self
            .client
            .call(
                Method::PUT,
                self.dataset_path(dataset, &format!("/ingestions/{}", label(&id))),
            )
            .json(&json!({"IngestionType": "FULL_REFRESH"}))
            .attempts(1)
            .send()
            .await;
        match created {
            Ok(output) => Ok(Ingestion {
                dataset: dataset.to_string(),
                ingestion: output["IngestionId"].as_str().unwrap_or(&id).to_string(),
                status: output["IngestionStatus"]
                    .as_str()
                    .unwrap_or("INITIALIZED")
                    .to_string(),
                rows_ingested: None,
                rows_dropped: None,
                seconds: None,
                error_type: None,
                error_message: None,
                created: Some(OffsetDateTime::now_utc()),
            }),
            Err(CallError::Service { code, message, .. }) if code == "LimitExceededException" => {
                Err(self.quota(dataset, message).await)
            }
            Err(e) if e.code() == Some("ResourceNotFoundException") => {
                Err(QuickSightError::NoDataset {
                    dataset: dataset.to_string(),
                    account: self.account.clone(),
                })
            }
            Err(e) => Err(self.api("CreateIngestion", dataset, e)),
        }
    }

    /// The quota error, with how many ingestions the last 24 hours hold and
    /// when the oldest of them leaves the window.
    async fn quota(&self, dataset: &str, said: String) -> QuickSightError {
        let day_ago = OffsetDateTime::now_utc() - time::Duration::DAY;
        let recent: Vec<OffsetDateTime> = self
            .ingestions(dataset)
            .await
            .unwrap_or_default()
            .into_iter()
            .filter_map(|i| i.created)
            .filter(|created| *created > day_ago)
            .collect();
        QuickSightError::Quota {
            dataset: dataset.to_string(),
            said,
            recent: recent.len(),
            next_slot: recent.iter().min().map(|t| *t + time::Duration::DAY),
        }
    }

    pub async fn describe(&self, dataset: &str, id: &str) -> Result<Ingestion, QuickSightError> {
        let output = self
            .client
            .call(
                Method::GET,
                self.dataset_path(dataset, &format!("/ingestions/{}", label(id))),
            )
            .send()
            .await
            .map_err(|e| self.api("DescribeIngestion", dataset, e))?;
        if !output["Ingestion"].is_object() {
            return Err(QuickSightError::Api {
                operation: "DescribeIngestion",
                dataset: dataset.to_string(),
                message: format!("no ingestion {id} in the answer"),
                hint: None,
            });
        }
        Ok(ingestion_of(dataset, &output["Ingestion"]))
    }

    /// Every page of a list call: the items under `items`.
    async fn pages(
        &self,
        operation: &'static str,
        dataset: &str,
        path: &str,
        items: &str,
    ) -> Result<Vec<Value>, QuickSightError> {
        self.client
            .all_pages(path, &rest::QUICKSIGHT_PAGING, items)
            .await
            .map_err(|e| self.api(operation, dataset, e))
    }

    /// The dataset's ingestions, newest first.
    pub async fn ingestions(&self, dataset: &str) -> Result<Vec<Ingestion>, QuickSightError> {
        let path = self.dataset_path(dataset, "/ingestions");
        let listed = self
            .pages("ListIngestions", dataset, &path, "Ingestions")
            .await?;
        let mut out: Vec<Ingestion> = listed.iter().map(|i| ingestion_of(dataset, i)).collect();
        out.sort_by_key(|i| std::cmp::Reverse(i.created));
        Ok(out)
    }

    pub async fn datasets(&self) -> Result<Vec<DatasetSummary>, QuickSightError> {
        let path = format!("/accounts/{}/data-sets", label(&self.account));
        let summaries = self
            .pages("ListDataSets", "the account", &path, "DataSetSummaries")
            .await?;
        let mut out = Vec::new();
        for summary in summaries {
            let text = |key: &str| summary[key].as_str().unwrap_or_default().to_string();
            let dataset = text("DataSetId");
            let last = self.ingestions(&dataset).await?.into_iter().next();
            out.push(DatasetSummary {
                name: text("Name"),
                import_mode: text("ImportMode"),
                dataset,
                last,
            });
        }
        Ok(out)
    }

    /// Sets (creates or updates) or removes iotpipe's refresh schedule.
    pub async fn set_schedule(
        &self,
        dataset: &str,
        schedule: Schedule,
    ) -> Result<ScheduleChange, QuickSightError> {
        let schedule_path =
            self.dataset_path(dataset, &format!("/refresh-schedules/{SCHEDULE_ID}"));
        let existing = self
            .client
            .call(Method::GET, schedule_path.clone())
            .send()
            .await;
        let exists = match existing {
            Ok(_) => true,
            Err(e) if e.code() == Some("ResourceNotFoundException") => false,
            Err(e) => return Err(self.api("DescribeRefreshSchedule", dataset, e)),
        };
        let change = |action| ScheduleChange {
            dataset: dataset.to_string(),
            schedule,
            action,
        };
        let interval = match schedule {
            Schedule::Hourly => "HOURLY",
            Schedule::Daily => "DAILY",
            Schedule::Off if !exists => return Ok(change("absent")),
            Schedule::Off => {
                self.client
                    .call(Method::DELETE, schedule_path)
                    .send()
                    .await
                    .map_err(|e| self.api("DeleteRefreshSchedule", dataset, e))?;
                return Ok(change("deleted"));
            }
        };
        // QuickSight API reference, CreateRefreshSchedule / UpdateRefreshSchedule:
        // the same RefreshSchedule body, POSTed to create, PUT to update.
        let body = json!({"Schedule": {
            "ScheduleId": SCHEDULE_ID,
            "ScheduleFrequency": {"Interval": interval, "Timezone": "UTC"},
            "RefreshType": "FULL_REFRESH",
        }});
        let (method, operation, action) = if exists {
            (Method::PUT, "UpdateRefreshSchedule", "updated")
        } else {
            (Method::POST, "CreateRefreshSchedule", "created")
        };
        self.client
            .call(method, self.dataset_path(dataset, "/refresh-schedules"))
            .json(&body)
            .send()
            .await
            .map_err(|e| self.api(operation, dataset, e))?;
        Ok(change(action))
    }
}

/// QuickSight's datasets as the dashboard: a refresh starts an ingestion per dataset.
pub struct Datasets {
    pub quicksight: QuickSight,
    pub ids: Vec<String>,
}

#[async_trait::async_trait]
impl Dashboard for Datasets {
    async fn refresh(&self) -> Result<Refreshed, DashboardError> {
        let (started, refused) = self.quicksight.start(&self.ids).await;
        let refused = refused.into_iter().map(DashboardError::from).collect();
        Ok(Refreshed::Ingestions { started, refused })
    }

    async fn wait(
        &self,
        refreshed: &mut super::Refreshed,
        timeout: Duration,
        cancel: &Cancel,
        progress: &dyn Progress,
    ) -> Result<Waited, DashboardError> {
        match refreshed {
            Refreshed::Ingestions { started, .. } => Ok(self
                .quicksight
                .wait(started, timeout, cancel, progress)
                .await?),
            Refreshed::Page(_) => Ok(Waited::Finished),
        }
    }
}

impl QuickSight {
    /// Starts an ingestion per dataset: those started, and the refusals.
    pub async fn start(&self, datasets: &[String]) -> (Vec<Ingestion>, Vec<QuickSightError>) {
        let mut started = Vec::new();
        let mut refused = Vec::new();
        for dataset in datasets {
            match self.create_ingestion(dataset).await {
                Ok(ingestion) => {
                    tracing::info!(
                        "dataset {dataset}: ingestion {} started",
                        ingestion.ingestion
                    );
                    started.push(ingestion);
                }
                Err(error) => refused.push(error),
            }
        }
        (started, refused)
    }

    /// Polls every unfinished ingestion until all end, `timeout` passes or
    /// `cancel` fires, reporting their states to `progress`.
    pub async fn wait(
        &self,
        ingestions: &mut [Ingestion],
        timeout: Duration,
        cancel: &Cancel,
        progress: &dyn Progress,
    ) -> Result<Waited, QuickSightError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut delay = Duration::ZERO;
        let waited = loop {
            for ingestion in ingestions.iter_mut().filter(|i| !i.finished()) {
                *ingestion = self
                    .describe(&ingestion.dataset, &ingestion.ingestion)
                    .await?;
            }
            let states: Vec<String> = ingestions
                .iter()
                .map(|i| {
                    let rows = i
                        .rows_ingested
                        .map(|r| format!(", {r} rows"))
                        .unwrap_or_default();
                    format!("{}: {}{rows}", i.dataset, i.status)
                })
                .collect();
            progress.status(&states.join(" · "));
            if ingestions.iter().all(Ingestion::finished) {
                break Waited::Finished;
            }
            delay = next_poll(delay);
            tokio::select! {
                () = cancel.cancelled() => break Waited::Interrupted,
                () = tokio::time::sleep_until(deadline) => break Waited::TimedOut,
                () = tokio::time::sleep(delay) => {}
            }
        };
        Ok(waited)
    }
}

/// The wait between DescribeIngestion calls: 1 s doubling to 10 s.
pub fn next_poll(previous: Duration) -> Duration {
    (previous * 2).clamp(Duration::from_secs(1), Duration::from_secs(10))
}

/// An ingestion as QuickSight describes it (timestamps in epoch seconds, as
/// REST-JSON bodies carry them).
fn ingestion_of(dataset: &str, ingestion: &Value) -> Ingestion {
    let text = |value: &Value| value.as_str().map(str::to_string);
    Ingestion {
        dataset: dataset.to_string(),
        ingestion: text(&ingestion["IngestionId"]).unwrap_or_default(),
        status: text(&ingestion["IngestionStatus"]).unwrap_or_default(),
        rows_ingested: ingestion["RowInfo"]["RowsIngested"].as_i64(),
        rows_dropped: ingestion["RowInfo"]["RowsDropped"].as_i64(),
        seconds: ingestion["IngestionTimeInSeconds"].as_f64(),
        error_type: text(&ingestion["ErrorInfo"]["Type"]),
        error_message: text(&ingestion["ErrorInfo"]["Message"]),
        created: ingestion["CreatedTime"]
            .as_f64()
            .and_then(|t| OffsetDateTime::from_unix_timestamp(t as i64).ok()),
    }
}

/// `refresh-dashboard --list` and `--schedule` on QuickSight.
#[async_trait::async_trait]
impl DatasetAdmin for QuickSight {
    async fn datasets(&self) -> Result<Vec<DatasetSummary>, DashboardError> {
        Ok(QuickSight::datasets(self).await?)
    }

    async fn set_schedule(
        &self,
        dataset: &str,
        schedule: Schedule,
    ) -> Result<ScheduleChange, DashboardError> {
        Ok(QuickSight::set_schedule(self, dataset, schedule).await?)
    }
}
