//! Errors that decide the exit code, and how an error is reported to the user.
//!
//! Library layers return their own `thiserror` types, each implementing
//! [`Diagnose`] (its exit code and hint) beside its definition; commands add
//! context with `anyhow`. [`exit_code_of`] walks the cause chain to find the
//! first kind the binary's edge registered, so context never hides what kind
//! of failure it was. This module imports no layer.

use std::io::Write;
use std::process::ExitCode;

/// Documented exit codes (see `docs/exit-codes.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    Failure = 1,
    Usage = 2,
    Partial = 3,
    /// Waited for data that did not come (`tail -W`).
    Timeout = 4,
    Interrupted = 130,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

/// A command-level failure with its own exit code and hint.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Hinted {
    pub message: String,
    pub hint: String,
    pub exit: Exit,
}

impl Hinted {
    pub fn new(exit: Exit, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Hinted {
            message: message.into(),
            hint: hint.into(),
            exit,
        }
    }
}

/// An error kind that decides the exit code and carries a hint. Each layer
/// implements it for its own error type, next to the type.
pub trait Diagnose {
    fn exit(&self) -> Exit {
        Exit::Failure
    }
    fn hint(&self) -> Option<String>;
}

impl Diagnose for Hinted {
    fn exit(&self) -> Exit {
        self.exit
    }
    fn hint(&self) -> Option<String> {
        Some(self.hint.clone())
    }
}

/// Finds one error kind in a cause chain: `diagnosis::<StoreError>`.
pub type ErrorKind = for<'e> fn(&'e (dyn std::error::Error + 'static)) -> Option<&'e dyn Diagnose>;

pub fn diagnosis<'e, T: Diagnose + std::error::Error + 'static>(
    cause: &'e (dyn std::error::Error + 'static),
) -> Option<&'e dyn Diagnose> {
    cause.downcast_ref::<T>().map(|kind| kind as &dyn Diagnose)
}

/// The first cause in the chain whose kind is one of `kinds`.
fn find<'e>(err: &'e anyhow::Error, kinds: &[ErrorKind]) -> Option<&'e dyn Diagnose> {
    err.chain()
        .find_map(|cause| kinds.iter().find_map(|kind| kind(cause)))
}

/// The exit code for an error: the first cause in the chain whose kind decides it.
pub fn exit_code_of(err: &anyhow::Error, kinds: &[ErrorKind]) -> Exit {
    find(err, kinds).map_or(Exit::Failure, Diagnose::exit)
}

pub fn hint_of(err: &anyhow::Error, kinds: &[ErrorKind]) -> Option<String> {
    err.chain().find_map(|cause| {
        kinds
            .iter()
            .find_map(|kind| kind(cause))
            .and_then(Diagnose::hint)
    })
}

/// Prints `iotpipe: error: <cause chain>` and a hint line to stderr.
///
/// The cause chain is printed in full (`{:#}`): AWS SDK errors only say
/// "service error" at the top. A backtrace is shown only with `-v`.
/// `terminal`: stderr is one, so control characters in the message (an S3
/// key, a broker's or AWS's text) are escaped.
pub fn report(
    err: &anyhow::Error,
    kinds: &[ErrorKind],
    verbose: bool,
    color: bool,
    terminal: bool,
) {
    let mut stderr = std::io::stderr().lock();
    let (red, yellow, reset) = if color {
        let red = anstyle::Style::new()
            .bold()
            .fg_color(Some(anstyle::AnsiColor::Red.into()));
        let yellow = anstyle::Style::new().fg_color(Some(anstyle::AnsiColor::Yellow.into()));
        (
            red.render().to_string(),
            yellow.render().to_string(),
            anstyle::Reset.render().to_string(),
        )
    } else {
        Default::default()
    };
    let shown = |text: String| {
        if terminal {
            crate::terminal::escape_keeping_lines(&text).into_owned()
        } else {
            text
        }
    };
    let _ = writeln!(
        stderr,
        "iotpipe: {red}error{reset}: {}",
        shown(format!("{err:#}"))
    );
    if let Some(hint) = hint_of(err, kinds) {
        let _ = writeln!(stderr, "  {yellow}hint{reset}: {}", shown(hint));
    }
    if verbose {
        let _ = writeln!(stderr, "\n{err:?}");
    }
}

/// True when writing failed because the reader went away (`iotpipe ... | head`).
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
