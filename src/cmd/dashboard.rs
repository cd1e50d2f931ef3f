//! `iotpipe refresh-dashboard`: rebuild the local HTML dashboard, or refresh the
//! QuickSight datasets (`--dataset`, config quicksight.datasets): start an
//! ingestion per dataset and, with `--wait`, follow each to its end.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::Context;
use crate::config::Override;
use crate::config::Schedule;
use crate::dashboard::{
    DashboardError, DatasetSummary, Ingestion, PageSummary, Refreshed, ScheduleChange, Waited,
};
use crate::error::{Diagnose, Exit, Hinted};
use crate::output::progress::Bar;
use crate::output::{Column, Row};
use crate::progress::{Progress, Silent};

#[derive(Debug, Args)]
pub struct DashboardArgs {
    /// Build the local HTML dashboard even when QuickSight datasets are configured
    #[arg(long, conflicts_with_all = ["datasets", "list", "schedule"])]
    pub local: bool,

    /// QuickSight dataset to refresh, repeatable [default: quicksight.datasets]
    #[arg(long = "dataset", value_name = "ID")]
    pub datasets: Vec<String>,

    /// Wait until every ingestion ends and report its rows; exit 0 only if all completed
    #[arg(long)]
    pub wait: bool,

    /// Stop waiting after this long; the ingestions go on (exit 4)
    #[arg(long, value_name = "DUR", default_value = "30m", value_parser = super::args::parse_duration)]
    pub timeout: Duration,

    /// Set the datasets' refresh schedule instead of refreshing now
    /// [default: quicksight.schedule]
    #[arg(long, value_name = "WHEN", num_args = 0..=1, value_enum)]
    pub schedule: Option<Option<Schedule>>,

    /// List the account's datasets and their last ingestion
    #[arg(long, conflicts_with_all = ["datasets", "schedule", "wait"])]
    pub list: bool,

    /// AWS account id [default: quicksight.account_id, else from STS]
    #[arg(long, value_name = "ID")]
    pub account_id: Option<String>,

    /// Output directory of the HTML dashboard (config dashboard.out, default <data_dir>/dashboard)
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Data directory (config data_dir)
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Serve the live HTML dashboard on ADDR:PORT until Ctrl-C, e.g. 127.0.0.1:8080
    #[arg(long, value_name = "ADDR", conflicts_with_all = ["datasets", "list", "schedule", "wait"])]
    pub serve: Option<std::net::SocketAddr>,
}

pub fn run(ctx: &mut Context, args: &DashboardArgs) -> anyhow::Result<Exit> {
    let mut overrides = super::args::data_dir_override(args.data_dir.as_deref());
    if let Some(out) = &args.out {
        overrides.push(Override::new(
            "dashboard.out",
            "--out",
            out.display().to_string(),
        ));
    }
    if let Some(account) = &args.account_id {
        overrides.push(Override::new(
            "quicksight.account_id",
            "--account-id",
            account.clone(),
        ));
    }
    if !args.datasets.is_empty() {
        overrides.push(Override::new(
            "quicksight.datasets",
            "--dataset",
            toml::Value::Array(
                args.datasets
                    .iter()
                    .map(|d| toml::Value::String(d.clone()))
                    .collect(),
            ),
        ));
    }
    let config = ctx.config(overrides)?.config;
    if let Some(addr) = args.serve {
        return serve(ctx, &config, addr);
    }
    let html = args.local || config.quicksight.datasets.is_empty();
    if !args.local && (args.list || args.schedule.is_some()) {
        return super::runtime()?.block_on(manage_datasets(ctx, args, &config));
    }
    if args.wait && html {
        return Err(Hinted::new(
            Exit::Usage,
            "--wait is for QuickSight ingestions, and no dataset is given",
            "name datasets with --dataset ID (or quicksight.datasets); the HTML dashboard is \
             written before refresh-dashboard returns",
        )
        .into());
    }
    super::runtime()?.block_on(async {
        let dashboard = crate::backends::dashboard(&config, html).await?;
        let mut refreshed = dashboard.refresh().await?;
        let waited = if args.wait {
            let progress: Box<dyn Progress> = if !ctx.quiet && std::io::stderr().is_terminal() {
                Box::new(Bar::spinner())
            } else {
                Box::new(Silent)
            };
            let cancel = super::on_signals();
            let waited = dashboard
                .wait(&mut refreshed, args.timeout, &cancel, &*progress)
                .await;
            progress.finish();
            waited?
        } else {
            Waited::Finished
        };
        match refreshed {
            Refreshed::Page(summary) => page(ctx, &summary),
            Refreshed::Ingestions { started, refused } => {
                ingestions(ctx, args, started, refused, waited)
            }
        }
    })
}

/// `--serve`: the live page of the data dir (or bucket) until Ctrl-C.
fn serve(
    ctx: &mut Context,
    config: &crate::config::Config,
    addr: std::net::SocketAddr,
) -> anyhow::Result<Exit> {
    let listener = crate::http::bind(addr)?;
    let bound = listener.local_addr().unwrap_or(addr);
    let window = config.dashboard.window;
    super::runtime()?.block_on(async {
        let stages = crate::backends::Stages::new(config).await?;
        let endpoints = crate::http::Endpoints {
            sections: Vec::new(),
            page: Some(crate::dashboard::html::served(
                stages.store.clone(),
                stages.counter.clone(),
                window,
            )),
        };
        tokio::spawn(crate::http::serve(listener, endpoints));
        if !ctx.quiet {
            crate::note!("refresh-dashboard: the live dashboard on http://{bound}/ until Ctrl-C");
        }
        super::on_signals().cancelled().await;
        anyhow::Ok(Exit::Ok)
    })
}

fn page(ctx: &mut Context, summary: &PageSummary) -> anyhow::Result<Exit> {
    let line = format!(
        "dashboard: {} ({} devices, {} readings compacted, {} pending)",
        summary.path.display(),
        summary.devices,
        summary.compacted_rows,
        summary.pending_rows
    );
    ctx.output.summary(&line, Some(summary))?;
    Ok(Exit::Ok)
}

/// `--list` and `--schedule`: the datasets and their refresh schedules.
async fn manage_datasets(
    ctx: &mut Context,
    args: &DashboardArgs,
    config: &crate::config::Config,
) -> anyhow::Result<Exit> {
    let admin = crate::backends::dataset_admin(config).await?;
    if args.list {
        let datasets = admin.datasets().await?;
        let mut records = ctx.output.records::<DatasetSummary>(false);
        for dataset in &datasets {
            records.write(dataset)?;
        }
        records.finish()?;
        return Ok(Exit::Ok);
    }
    let datasets = &config.quicksight.datasets;
    if datasets.is_empty() {
        return Err(Hinted::new(
            Exit::Usage,
            "no QuickSight dataset to work on",
            "name them with --dataset ID (repeatable) or quicksight.datasets; \
             `iotpipe refresh-dashboard --list` shows the account's datasets",
        )
        .into());
    }
    let schedule = args
        .schedule
        .flatten()
        .unwrap_or(config.quicksight.schedule);
    let mut records = ctx.output.records::<ScheduleChange>(false);
    for dataset in datasets {
        records.write(&admin.set_schedule(dataset, schedule).await?)?;
    }
    records.finish()?;
    Ok(Exit::Ok)
}

/// Reports the ingestions a refresh started (and, with `--wait`, how they ended).
fn ingestions(
    ctx: &mut Context,
    args: &DashboardArgs,
    ingestions: Vec<Ingestion>,
    mut refused: Vec<DashboardError>,
    waited: Waited,
) -> anyhow::Result<Exit> {
    if ingestions.is_empty() {
        // Nothing started: the (first) refusal is the error, with its hint.
        for other in refused.iter().skip(1) {
            tracing::error!("{other}; hint: {}", other.hint().unwrap_or_default());
        }
        return Err(refused.remove(0).into());
    }
    let mut records = ctx.output.records::<Ingestion>(false);
    for ingestion in &ingestions {
        records.write(ingestion)?;
    }
    records.finish()?;
    for error in &refused {
        tracing::error!("{error}; hint: {}", error.hint().unwrap_or_default());
    }
    if let Some(interrupted_or_timeout) = unfinished(&waited, &ingestions, args.timeout) {
        return Err(interrupted_or_timeout.into());
    }
    if !args.wait {
        if !ctx.quiet {
            crate::note!(
                "refresh-dashboard: {} ingestions started; --wait follows them to their end",
                ingestions.len()
            );
        }
        return Ok(if refused.is_empty() {
            Exit::Ok
        } else {
            Exit::Partial
        });
    }
    ended(ctx, &ingestions, &refused)
}

/// The error of a wait that ended before the ingestions did.
fn unfinished(waited: &Waited, ingestions: &[Ingestion], timeout: Duration) -> Option<Hinted> {
    match waited {
        Waited::Finished => None,
        Waited::Interrupted => Some(Hinted::new(
            Exit::Interrupted,
            "interrupted while waiting",
            "the ingestions go on in QuickSight; `iotpipe refresh-dashboard --list` shows how \
             they end",
        )),
        Waited::TimedOut => Some(Hinted::new(
            Exit::Timeout,
            format!(
                "{} ingestions still running after {}",
                ingestions.iter().filter(|i| !i.finished()).count(),
                humantime::format_duration(timeout)
            ),
            "they go on in QuickSight; `iotpipe refresh-dashboard --list` shows how they end, \
             --timeout waits longer",
        )),
    }
}

/// How ingestions that were waited for ended: exit 0 when all completed.
fn ended(
    ctx: &Context,
    ingestions: &[Ingestion],
    refused: &[DashboardError],
) -> anyhow::Result<Exit> {
    let completed = ingestions
        .iter()
        .filter(|i| i.status == "COMPLETED")
        .count();
    if completed == ingestions.len() && refused.is_empty() {
        if !ctx.quiet {
            let rows: i64 = ingestions.iter().filter_map(|i| i.rows_ingested).sum();
            let dropped: i64 = ingestions.iter().filter_map(|i| i.rows_dropped).sum();
            crate::note!(
                "refresh-dashboard: {completed} datasets refreshed, {rows} rows ingested, {dropped} dropped"
            );
        }
        return Ok(Exit::Ok);
    }
    let failed: Vec<String> = ingestions
        .iter()
        .filter(|i| i.status != "COMPLETED")
        .map(|i| {
            format!(
                "dataset {} ingestion {} ended {}: {}: {}",
                i.dataset,
                i.ingestion,
                i.status,
                i.error_type.as_deref().unwrap_or("no error type"),
                i.error_message.as_deref().unwrap_or("no message")
            )
        })
        .collect();
    let exit = if completed > 0 {
        Exit::Partial
    } else {
        Exit::Failure
    };
    let message = if failed.is_empty() {
        format!(
            "{} of {} datasets could not start an ingestion",
            refused.len(),
            ingestions.len() + refused.len()
        )
    } else {
        failed.join("; ")
    };
    Err(Hinted::new(
        exit,
        message,
        "QuickSight's message names the cause (data source credentials, a changed column, \
         a dropped table); `iotpipe refresh-dashboard --list` shows each dataset's last ingestion",
    )
    .into())
}

fn count(value: Option<i64>) -> String {
    value.map_or_else(|| "-".into(), |v| v.to_string())
}

impl Row for Ingestion {
    const COLUMNS: &'static [Column] = &[
        Column::left("dataset", 24),
        Column::left("ingestion", 36),
        Column::left("status", 11),
        Column::right("rows", 9),
        Column::right("dropped", 7),
        Column::right("seconds", 7),
        Column::left("error", 40),
    ];

    fn cells(&self) -> Vec<String> {
        vec![
            self.dataset.clone(),
            self.ingestion.clone(),
            self.status.clone(),
            count(self.rows_ingested),
            count(self.rows_dropped),
            self.seconds
                .map_or_else(|| "-".into(), |s| format!("{s:.0}")),
            match (&self.error_type, &self.error_message) {
                (Some(kind), Some(message)) => format!("{kind}: {message}"),
                (kind, message) => kind.clone().or(message.clone()).unwrap_or_default(),
            },
        ]
    }
}

impl Row for DatasetSummary {
    const COLUMNS: &'static [Column] = &[
        Column::left("dataset", 36),
        Column::left("name", 24),
        Column::left("mode", 12),
        Column::left("last ingestion", 11),
        Column::right("rows", 9),
        Column::left("at", 20),
    ];

    fn cells(&self) -> Vec<String> {
        let last = self.last.as_ref();
        vec![
            self.dataset.clone(),
            self.name.clone(),
            self.import_mode.clone(),
            last.map_or_else(|| "never".into(), |i| i.status.clone()),
            count(last.and_then(|i| i.rows_ingested)),
            last.and_then(|i| i.created)
                .and_then(|t| {
                    t.format(&time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .unwrap_or_default(),
        ]
    }
}

impl Row for ScheduleChange {
    const COLUMNS: &'static [Column] = &[
        Column::left("dataset", 36),
        Column::left("schedule", 8),
        Column::left("change", 8),
    ];

    fn cells(&self) -> Vec<String> {
        vec![
            self.dataset.clone(),
            format!("{:?}", self.schedule).to_lowercase(),
            self.action.to_string(),
        ]
    }
}
