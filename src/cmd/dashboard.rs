//! `iotpipe refresh-dashboard --local`: rebuild the local HTML dashboard.

use std::path::PathBuf;

use clap::Args;

use super::Context;
use crate::config::Override;
use crate::error::Exit;

#[derive(Debug, Args)]
pub struct DashboardArgs {
    /// Build the local HTML dashboard (the QuickSight refresh is not built yet)
    #[arg(long, default_value_t = true)]
    pub local: bool,

    /// Output directory (config dashboard.out, default <data_dir>/dashboard)
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Data directory (config data_dir)
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

pub fn run(ctx: &mut Context, args: &DashboardArgs) -> anyhow::Result<Exit> {
    let mut overrides = super::data_dir_override(args.data_dir.as_deref());
    if let Some(out) = &args.out {
        overrides.push(Override::new(
            "dashboard.out",
            "--out",
            out.display().to_string(),
        ));
    }
    let config = ctx.config(overrides)?.config;
    let summary = super::runtime()?.block_on(async {
        let (store, counter) = super::backends(&config).await?;
        anyhow::Ok(crate::dashboard::refresh(store, counter, &config.dashboard.out).await?)
    })?;
    if !ctx.global.is_quiet() {
        eprintln!(
            "dashboard: {} ({} devices, {} readings compacted, {} pending)",
            summary.path.display(),
            summary.devices,
            summary.compacted_rows,
            summary.pending_rows
        );
    }
    if ctx.global.output.is_some() {
        ctx.output.value(&summary)?;
    }
    Ok(Exit::Ok)
}
