//! `iotpipe completions SHELL`, and the hidden generator of the checked-in
//! completions and man pages (`iotpipe generate-assets .`, see CONTRIBUTING.md).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;
use clap_complete::Shell;

use super::Context;
use crate::error::Exit;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// Shell to generate the script for
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Debug, Args)]
pub struct AssetsArgs {
    /// Repository root: writes completions/ and docs/man/ under it
    pub dir: PathBuf,
}

pub const SHELLS: [Shell; 5] = [
    Shell::Bash,
    Shell::Zsh,
    Shell::Fish,
    Shell::PowerShell,
    Shell::Elvish,
];

pub fn run(
    ctx: &mut Context,
    args: &CompletionsArgs,
    mut cli: clap::Command,
) -> anyhow::Result<Exit> {
    clap_complete::generate(args.shell, &mut cli, "iotpipe", ctx.output.raw());
    ctx.output.raw().flush()?;
    Ok(Exit::Ok)
}

/// Completions and man pages of `cli` under `args.dir`.
pub fn generate_assets(args: &AssetsArgs, cli: &clap::Command) -> anyhow::Result<Exit> {
    let completions = args.dir.join("completions");
    create_dir(&completions)?;
    for shell in SHELLS {
        clap_complete::generate_to(shell, &mut cli.clone(), "iotpipe", &completions)
            .with_context(|| format!("writing {shell} completions to {}", completions.display()))?;
    }
    let man = args.dir.join("docs").join("man");
    create_dir(&man)?;
    write_man_pages(cli, &man)?;
    Ok(Exit::Ok)
}

fn create_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))
}

/// One page for iotpipe and one per visible subcommand (`iotpipe-sense.1`, ...).
fn write_man_pages(command: &clap::Command, dir: &Path) -> anyhow::Result<()> {
    let mut command = command.clone();
    command.build();
    write_page(&command, command.get_name(), dir)?;
    for sub in visible(&command) {
        let name = format!("{}-{}", command.get_name(), sub.get_name());
        write_page(sub, &name, dir)?;
        for nested in visible(sub) {
            write_page(nested, &format!("{name}-{}", nested.get_name()), dir)?;
        }
    }
    Ok(())
}

fn write_page(command: &clap::Command, name: &str, dir: &Path) -> anyhow::Result<()> {
    let command = command.clone().name(name.to_string());
    let mut buffer = Vec::new();
    clap_mangen::Man::new(command)
        .render(&mut buffer)
        .with_context(|| format!("rendering man page {name}"))?;
    let path = dir.join(format!("{name}.1"));
    std::fs::write(&path, buffer).with_context(|| format!("writing {}", path.display()))
}

fn visible(command: &clap::Command) -> impl Iterator<Item = &clap::Command> {
    command
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
}
