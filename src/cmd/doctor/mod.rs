//! `iotpipe doctor`: checks, in order, everything the pipeline needs — the
//! configuration, the Sense HAT, the broker and its TLS files, and the AWS side
//! (credentials, bucket, table, Athena, the IoT rule's role) — and prints each
//! result with the exact fix. Exit 0 only if nothing failed.

use std::time::Duration;

use clap::{Args, ValueEnum};
use serde::Serialize;

#[cfg(feature = "pipeline")]
mod aws;
mod device;
mod mosquitto;
mod mqtt;

use super::Context;
use crate::error::Exit;
use crate::output::{Column, Format, Row};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Area {
    /// The Sense HAT: I2C bus, permissions, chips
    Device,
    /// The broker: TLS files, certificate, reachability
    Mqtt,
    /// Credentials, bucket, table, Athena, the IoT rule's role
    #[cfg(feature = "pipeline")]
    Aws,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Only these checks (the configuration is always checked); repeatable
    #[arg(long, value_enum, value_name = "AREA")]
    pub only: Vec<Area>,

    /// How long to wait for the broker and AWS before calling them unreachable
    #[arg(long, value_name = "DUR", default_value = "5s", value_parser = crate::cmd::args::parse_duration)]
    pub timeout: Duration,

    /// The configuration of a mosquitto on this machine, whose queue settings are checked
    #[arg(long, value_name = "FILE", default_value = mosquitto::DEFAULT_CONF)]
    pub mosquitto_conf: std::path::PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Fail,
    /// Not applicable here, or not checkable (the detail says why).
    Skip,
}

/// One check's result.
#[derive(Debug, Serialize)]
pub struct Check {
    pub area: &'static str,
    pub check: String,
    pub status: Status,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Row for Check {
    const COLUMNS: &'static [Column] = &[
        Column::left("area", 6),
        Column::left("check", 30),
        Column::left("result", 6),
        Column::left("detail", 60),
    ];

    fn cells(&self) -> Vec<String> {
        vec![
            self.area.to_string(),
            self.check.clone(),
            match self.status {
                Status::Ok => "OK",
                Status::Fail => "FAIL",
                Status::Skip => "skip",
            }
            .to_string(),
            self.detail.clone(),
        ]
    }
}

/// The checks of one run, in order.
#[derive(Default)]
pub(super) struct Report {
    checks: Vec<Check>,
}

impl Report {
    fn add(
        &mut self,
        area: &'static str,
        check: impl Into<String>,
        status: Status,
        detail: impl Into<String>,
        fix: Option<String>,
    ) {
        self.checks.push(Check {
            area,
            check: check.into(),
            status,
            detail: detail.into(),
            fix,
        });
    }

    pub(super) fn ok(
        &mut self,
        area: &'static str,
        check: impl Into<String>,
        detail: impl Into<String>,
    ) {
        self.add(area, check, Status::Ok, detail, None);
    }

    pub(super) fn fail(
        &mut self,
        area: &'static str,
        check: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.add(area, check, Status::Fail, detail, Some(fix.into()));
    }

    /// A failure whose error carries its own fix.
    pub(super) fn error(
        &mut self,
        area: &'static str,
        check: &str,
        error: &(impl std::fmt::Display + crate::error::Diagnose),
    ) {
        let fix = error.hint().unwrap_or_default();
        self.add(area, check, Status::Fail, error.to_string(), Some(fix));
    }

    pub(super) fn skip(
        &mut self,
        area: &'static str,
        check: impl Into<String>,
        detail: impl Into<String>,
    ) {
        self.add(area, check, Status::Skip, detail, None);
    }
}

pub fn run(ctx: &mut Context, args: &DoctorArgs) -> anyhow::Result<Exit> {
    let wanted = |area| args.only.is_empty() || args.only.contains(&area);
    let mut report = Report::default();
    match ctx.config(Vec::new()) {
        Ok(resolved) => {
            let from = resolved.file.as_ref().map_or_else(
                || "defaults and IOTPIPE_* variables".to_string(),
                |f| f.display().to_string(),
            );
            report.ok("config", "configuration valid", format!("from {from}"));
            let config = resolved.config;
            if wanted(Area::Device) {
                device::check(&mut report, &config);
            }
            super::runtime()?.block_on(async {
                if wanted(Area::Mqtt) {
                    mqtt::check(&mut report, &config, args.timeout).await;
                    let (host, port) = (&config.mqtt.host, config.mqtt.port);
                    let iot_core = config.mqtt.iot_core;
                    if !iot_core.unwrap_or_else(|| host.ends_with(".amazonaws.com")) {
                        mosquitto::check(&mut report, host, port, &args.mosquitto_conf);
                    }
                }
                // With backend = "local" the AWS side is checked only when asked for.
                #[cfg(feature = "pipeline")]
                if args.only.contains(&Area::Aws)
                    || (args.only.is_empty() && config.backend == crate::config::Backend::Aws)
                {
                    aws::check(&mut report, &config).await;
                } else if args.only.is_empty() {
                    report.skip(
                        "aws",
                        "AWS checks",
                        "backend is \"local\": nothing here uses AWS (`--only aws` checks it anyway)",
                    );
                }
            });
        }
        Err(error) => {
            let hint = crate::error::hint_of(&error, crate::ERROR_KINDS)
                .unwrap_or_else(|| "fix the file or variable it names".into());
            report.fail("config", "configuration valid", format!("{error:#}"), hint);
        }
    }
    print(ctx, &report)?;
    let failed = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .count();
    if !ctx.quiet {
        let skipped = report
            .checks
            .iter()
            .filter(|c| c.status == Status::Skip)
            .count();
        crate::note!(
            "doctor: {} checks, {failed} failed, {skipped} skipped",
            report.checks.len()
        );
    }
    Ok(if failed == 0 { Exit::Ok } else { Exit::Failure })
}

fn print(ctx: &mut Context, report: &Report) -> anyhow::Result<()> {
    let table = ctx.output.format == Format::Table;
    let mut records = ctx.output.records::<Check>(false);
    for check in &report.checks {
        records.write(check)?;
    }
    records.finish()?;
    if table {
        let out = ctx.output.raw();
        for check in report.checks.iter().filter(|c| c.status == Status::Fail) {
            if let Some(fix) = &check.fix {
                writeln!(out, "\nfix {} / {}:\n{fix}", check.area, check.check)?;
            }
        }
        out.flush()?;
    }
    Ok(())
}
