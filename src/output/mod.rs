//! Output formatting in one place: table, JSON or JSON lines on stdout, colour choice.
//!
//! Data goes to stdout; progress, logs and summaries go to stderr. A closed
//! stdout (`iotpipe ... | head`) surfaces as `BrokenPipe`, which `run` treats as
//! a quiet success.

pub mod payloads;
#[cfg(feature = "pipeline")]
pub mod progress;
pub mod template;

use std::io::{self, IsTerminal, Write};

use clap::ValueEnum;
use comfy_table::{CellAlignment, ContentArrangement, Table, presets};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for people (default on a terminal).
    Table,
    /// One JSON document (an array for lists).
    Json,
    /// One JSON object per line (default when piped).
    Jsonl,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether to colour a stream: `NO_COLOR` (non-empty) and `TERM=dumb` turn auto off.
    pub fn enabled_for(self, stream_is_terminal: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                stream_is_terminal
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
            }
        }
    }

    pub fn stderr(self) -> bool {
        self.enabled_for(io::stderr().is_terminal())
    }
}

/// A record that renders as a table row as well as JSON.
pub trait Row: Serialize {
    const COLUMNS: &'static [Column];
    fn cells(&self) -> Vec<String>;
}

/// A table column: its title, minimum width (so streamed rows line up), alignment.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub title: &'static str,
    pub width: usize,
    pub right: bool,
}

impl Column {
    pub const fn left(title: &'static str, width: usize) -> Self {
        Column {
            title,
            width,
            right: false,
        }
    }
    pub const fn right(title: &'static str, width: usize) -> Self {
        Column {
            title,
            width,
            right: true,
        }
    }
}

/// Standard output with the chosen format.
pub struct Output {
    pub format: Format,
    /// Line-buffered on a terminal; block-buffered when piped, for throughput.
    out: Box<dyn Write>,
    terminal: bool,
    /// `--output json|jsonl` was asked for: summaries go to stdout too.
    json_requested: bool,
    quiet: bool,
}

impl Output {
    /// `format` from `--output`; otherwise table on a terminal, JSON lines when piped.
    pub fn new(format: Option<Format>, quiet: bool) -> Self {
        let json_requested = matches!(format, Some(Format::Json | Format::Jsonl));
        let stdout = io::stdout();
        let terminal = stdout.is_terminal();
        let format = format.unwrap_or(if terminal {
            Format::Table
        } else {
            Format::Jsonl
        });
        let out: Box<dyn Write> = if terminal {
            Box::new(stdout.lock())
        } else {
            Box::new(io::BufWriter::with_capacity(64 * 1024, stdout.lock()))
        };
        Output {
            format,
            out,
            terminal,
            json_requested,
            quiet,
        }
    }

    /// Starts a list of records. `live` rows are printed and flushed as they come
    /// (a paced or endless stream); otherwise a table is rendered at the end.
    pub fn records<R: Row>(&mut self, live: bool) -> Records<'_, R> {
        Records {
            output: self,
            live,
            written: 0,
            pending: Vec::new(),
            row: std::marker::PhantomData,
        }
    }

    /// Prints one serializable value (a summary, a configuration).
    pub fn value<T: Serialize>(&mut self, value: &T) -> io::Result<()> {
        match self.format {
            Format::Json => {
                serde_json::to_writer_pretty(&mut self.out, value)?;
                writeln!(self.out)?;
            }
            _ => {
                serde_json::to_writer(&mut self.out, value)?;
                writeln!(self.out)?;
            }
        }
        self.out.flush()
    }

    /// A command's closing summary, the one way every command reports one: a
    /// line on stderr (unless `--quiet`) and, when `--output json|jsonl` was
    /// asked for, `value` on stdout.
    pub fn summary<T: Serialize>(&mut self, line: &str, value: Option<&T>) -> io::Result<()> {
        if !self.quiet {
            crate::note!("{line}");
        }
        match value {
            Some(value) if self.json_requested => self.value(value),
            _ => Ok(()),
        }
    }

    /// Standard output for commands that write their own bytes (completion scripts,
    /// payloads as received). Flush it when a batch is done.
    pub fn raw(&mut self) -> &mut dyn Write {
        &mut self.out
    }

    pub fn is_terminal(&self) -> bool {
        self.terminal
    }

    fn table(&self, headers: &[Column]) -> Table {
        let mut table = Table::new();
        table.load_preset(presets::UTF8_FULL_CONDENSED);
        if self.terminal {
            table.set_content_arrangement(ContentArrangement::Dynamic);
        }
        if headers.iter().any(|c| !c.title.is_empty()) {
            table.set_header(headers.iter().map(|c| c.title));
        }
        for (index, column) in headers.iter().enumerate() {
            if let Some(col) = table.column_mut(index) {
                col.set_cell_alignment(if column.right {
                    CellAlignment::Right
                } else {
                    CellAlignment::Left
                });
            }
        }
        table
    }
}

/// A list of records being written; call [`Records::finish`] at the end.
pub struct Records<'a, R: Row> {
    output: &'a mut Output,
    live: bool,
    written: usize,
    pending: Vec<Vec<String>>,
    row: std::marker::PhantomData<R>,
}

impl<R: Row> Records<'_, R> {
    pub fn write(&mut self, record: &R) -> io::Result<()> {
        let out = &mut self.output.out;
        match self.output.format {
            Format::Jsonl => {
                serde_json::to_writer(&mut *out, record)?;
                out.write_all(b"\n")?;
            }
            Format::Json => {
                out.write_all(if self.written == 0 {
                    b"[\n  "
                } else {
                    b",\n  "
                })?;
                serde_json::to_writer(&mut *out, record)?;
            }
            Format::Table if self.live => {
                if self.written == 0 {
                    let titles = R::COLUMNS.iter().map(|c| c.title.to_string()).collect();
                    write_aligned(out, R::COLUMNS, titles)?;
                }
                write_aligned(out, R::COLUMNS, record.cells())?;
            }
            Format::Table => self.pending.push(record.cells()),
        }
        self.written += 1;
        if self.live || self.output.terminal {
            self.output.out.flush()?;
        }
        Ok(())
    }

    /// Standard output for bytes written as they are (payloads as received).
    pub fn raw(&mut self) -> &mut dyn Write {
        &mut self.output.out
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.output.out.flush()
    }

    pub fn finish(self) -> io::Result<usize> {
        let Records {
            output,
            written,
            pending,
            live,
            ..
        } = self;
        match output.format {
            Format::Json => output
                .out
                .write_all(if written == 0 { b"[]\n" } else { b"\n]\n" })?,
            Format::Table if !live && !pending.is_empty() => {
                let mut table = output.table(R::COLUMNS);
                for row in pending {
                    table.add_row(row.into_iter().map(|cell| sanitize(&cell).into_owned()));
                }
                writeln!(output.out, "{table}")?;
            }
            _ => {}
        }
        output.out.flush()?;
        Ok(written)
    }
}

/// Prints a key/value style table from rows of strings (for `config show` and friends).
pub fn write_table(
    output: &mut Output,
    headers: &[Column],
    rows: Vec<Vec<String>>,
) -> io::Result<()> {
    let mut table = output.table(headers);
    for row in rows {
        table.add_row(row.into_iter().map(|cell| sanitize(&cell).into_owned()));
    }
    writeln!(output.out, "{table}")?;
    output.out.flush()
}

fn write_aligned(out: &mut impl Write, columns: &[Column], cells: Vec<String>) -> io::Result<()> {
    let mut line = String::new();
    for (index, (column, cell)) in columns.iter().zip(cells).enumerate() {
        if index > 0 {
            line.push_str("  ");
        }
        let cell = sanitize(&cell);
        let width = column.width.max(column.title.len());
        if column.right {
            line.push_str(&format!("{cell:>width$}"));
        } else if index + 1 == columns.len() {
            line.push_str(&cell);
        } else {
            line.push_str(&format!("{cell:<width$}"));
        }
    }
    writeln!(out, "{}", line.trim_end())
}

/// Escapes control characters so untrusted text (MQTT, Kinesis payloads) cannot
/// drive the terminal.
pub use crate::terminal::escape as sanitize;

/// Formats an optional measurement with fixed decimals, `-` when absent.
pub fn number(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "-".into(), |v| format!("{v:.decimals$}"))
}

/// How long ago the reading time `ts` (RFC 3339) was, e.g. "2m 5s ago"; empty
/// if it does not parse.
pub fn ago(ts: &str, now: time::OffsetDateTime) -> String {
    crate::payload::parse_ts(ts)
        .map(|taken| {
            let seconds = (now - taken).whole_seconds().max(0).unsigned_abs();
            format!(
                "{} ago",
                humantime::format_duration(std::time::Duration::from_secs(seconds))
            )
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_escapes_control_characters() {
        assert_eq!(sanitize("plain"), "plain");
        assert_eq!(sanitize("a\x1b[2Jb\n"), "a\\u{1b}[2Jb\\n");
    }

    #[test]
    fn aligned_rows_pad_to_column_width() {
        let cols = [
            Column::left("name", 6),
            Column::right("n", 4),
            Column::left("last", 0),
        ];
        let mut buf = Vec::new();
        write_aligned(&mut buf, &cols, vec!["ab".into(), "7".into(), "z".into()]).unwrap();
        assert_eq!(String::from_utf8(buf).unwrap(), "ab         7  z\n");
    }
}
