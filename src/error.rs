//! Errors that decide the exit code, and how an error is reported to the user.
//!
//! Library layers return their own `thiserror` types; commands add context with
//! `anyhow`. [`exit_code_of`] walks the cause chain to find the kind that decides
//! the code, so context never hides what kind of failure it was.

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

/// Configuration that cannot be used: a bad file, key, value or flag combination.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid TOML: {message}")]
    Syntax { path: String, message: String },
    #[error("unknown key `{key}` in {origin}")]
    UnknownKey {
        key: String,
        origin: String,
        known: Vec<&'static str>,
    },
    #[error("bad value for `{key}` in {origin}: {value} (expected {expected})")]
    BadValue {
        key: String,
        origin: String,
        value: String,
        expected: String,
    },
    #[error("{0}")]
    Invalid(String),
}

impl ConfigError {
    fn hint(&self) -> Option<String> {
        match self {
            ConfigError::Read { .. } => Some(
                "check the path given with --config or IOTPIPE_CONFIG, or remove it to use defaults"
                    .into(),
            ),
            ConfigError::Syntax { .. } => {
                Some("fix the line shown above; examples/iotpipe.toml is a commented reference".into())
            }
            ConfigError::UnknownKey { known, .. } => Some(format!(
                "known keys here: {}; `iotpipe config show` lists every key",
                known.join(", ")
            )),
            ConfigError::BadValue { .. } => Some(
                "`iotpipe config show` lists every key with its value; examples/iotpipe.toml documents them"
                    .into(),
            ),
            ConfigError::Invalid(_) => None,
        }
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

/// The exit code and hint of one cause, if its kind decides them. Each layer's
/// error type is listed here once.
fn classify(cause: &(dyn std::error::Error + 'static)) -> Option<(Exit, Option<String>)> {
    if let Some(config) = cause.downcast_ref::<ConfigError>() {
        return Some((Exit::Usage, config.hint()));
    }
    if let Some(hinted) = cause.downcast_ref::<Hinted>() {
        return Some((hinted.exit, Some(hinted.hint.clone())));
    }
    if let Some(sense) = cause.downcast_ref::<crate::sense::SenseError>() {
        return Some((Exit::Failure, Some(sense.hint())));
    }
    if let Some(sink) = cause.downcast_ref::<crate::sink::SinkError>() {
        use crate::sink::SinkError;
        if let SinkError::Mqtt(mqtt) = sink {
            return classify(mqtt);
        }
        return Some((
            Exit::Failure,
            match sink {
                SinkError::Mqtt(_) => None,
                SinkError::Store(e) => e.hint(),
                SinkError::Counter(e) => e.hint(),
                SinkError::Journal(_) => {
                    Some("check free space and permissions of the data dir".into())
                }
            },
        ));
    }
    if let Some(quicksight) = cause.downcast_ref::<crate::dashboard::quicksight::QuickSightError>()
    {
        return Some((Exit::Failure, Some(quicksight.hint())));
    }
    #[cfg(feature = "lambda")]
    if let Some(lambda) = cause.downcast_ref::<crate::lambda::LambdaError>() {
        use crate::lambda::LambdaError;
        return Some(match lambda {
            LambdaError::Counter(e) => (Exit::Failure, e.hint()),
            LambdaError::Compact(e) => (Exit::Failure, e.hint()),
            LambdaError::Key(e) => (Exit::Failure, e.hint()),
            LambdaError::UnknownEvent(_) | LambdaError::Malformed { .. } => (
                Exit::Usage,
                Some("the handler takes S3 event notifications, SQS events wrapping them, and EventBridge scheduled events".into()),
            ),
        });
    }
    if let Some(kinesis) = cause.downcast_ref::<crate::kinesis::KinesisError>() {
        return Some((Exit::Failure, Some(kinesis.hint())));
    }
    if let Some(compact) = cause.downcast_ref::<crate::compact::CompactError>() {
        let exit = match compact {
            crate::compact::CompactError::Interrupted { .. } => Exit::Interrupted,
            _ => Exit::Failure,
        };
        return Some((exit, compact.hint()));
    }
    if let Some(dashboard) = cause.downcast_ref::<crate::dashboard::DashboardError>() {
        use crate::dashboard::DashboardError;
        return Some((
            Exit::Failure,
            match dashboard {
                DashboardError::Store(e) => e.hint(),
                DashboardError::Counter(e) => e.hint(),
                _ => Some("check the data dir and --out".into()),
            },
        ));
    }
    if let Some(store) = cause.downcast_ref::<crate::store::StoreError>() {
        return Some((Exit::Failure, store.hint()));
    }
    if let Some(counter) = cause.downcast_ref::<crate::counter::CounterError>() {
        return Some((Exit::Failure, counter.hint()));
    }
    if let Some(mqtt) = cause.downcast_ref::<crate::mqtt::MqttError>() {
        let exit = if mqtt.is_usage() {
            Exit::Usage
        } else if mqtt.is_partial() {
            Exit::Partial
        } else {
            Exit::Failure
        };
        return Some((exit, mqtt.hint()));
    }
    None
}

/// The exit code for an error: the first cause in the chain whose kind decides it.
pub fn exit_code_of(err: &anyhow::Error) -> Exit {
    err.chain()
        .find_map(classify)
        .map_or(Exit::Failure, |(exit, _)| exit)
}

pub fn hint_of(err: &anyhow::Error) -> Option<String> {
    err.chain()
        .find_map(|cause| classify(cause).and_then(|(_, hint)| hint))
}

/// Prints `iotpipe: error: <cause chain>` and a hint line to stderr.
///
/// The cause chain is printed in full (`{:#}`): AWS SDK errors only say
/// "service error" at the top. A backtrace is shown only with `-v`.
pub fn report(err: &anyhow::Error, verbose: bool, color: bool) {
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
    let _ = writeln!(stderr, "iotpipe: {red}error{reset}: {err:#}");
    if let Some(hint) = hint_of(err) {
        let _ = writeln!(stderr, "  {yellow}hint{reset}: {hint}");
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
