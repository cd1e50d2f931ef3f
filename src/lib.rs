//! iotpipe: one binary that operates a sensor-log pipeline from a Raspberry Pi's
//! Sense HAT to a dashboard. `run` parses the command line and dispatches to
//! one module per command under [`cmd`].

/// `eprintln!` that never panics: a closed stderr (`iotpipe up 2>&1 | head`)
/// must not stop a command midway, so what cannot be written is dropped.
macro_rules! note {
    ($($arg:tt)*) => {{
        $crate::note_line(&format!($($arg)*));
    }};
}
pub(crate) use note;

/// `--log-format json`: progress notes are log lines like the others.
static JSON_LOGS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A progress note on stderr: the line, or with `--log-format json` one
/// object like the log lines' (`timestamp`, `level`, `fields.message`).
#[doc(hidden)]
pub fn note_line(line: &str) {
    use std::io::Write as _;
    let mut stderr = std::io::stderr().lock();
    if JSON_LOGS.load(std::sync::atomic::Ordering::Relaxed) {
        let object = serde_json::json!({
            "timestamp": payload::format_ts(time::OffsetDateTime::now_utc()),
            "level": "NOTE",
            "fields": { "message": line },
            "target": "iotpipe",
        });
        let _ = writeln!(stderr, "{object}");
    } else {
        let _ = writeln!(stderr, "{line}");
    }
}

#[cfg(feature = "pipeline")]
pub mod aws;
#[cfg(feature = "pipeline")]
pub mod backends;
pub mod cli;
pub mod cmd;
#[cfg(feature = "pipeline")]
pub mod compact;
pub mod config;
#[cfg(feature = "pipeline")]
pub mod counter;
#[cfg(feature = "pipeline")]
pub mod dashboard;
pub mod deadline;
pub mod device;
pub mod error;
pub mod heap;
pub mod http;
pub mod journal;
#[cfg(feature = "pipeline")]
pub mod kinesis;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod metrics;
pub mod mqtt;
pub mod output;
pub mod payload;
pub mod progress;
pub mod sense;
pub mod signal;
#[cfg(feature = "pipeline")]
pub mod sink;
#[cfg(feature = "pipeline")]
pub mod store;
pub mod systemd;
pub mod terminal;
#[cfg(feature = "pipeline")]
pub mod up;

use std::process::ExitCode;

use clap::Parser;

use crate::error::Exit;

/// Parses the command line, runs the command, and maps the outcome to an exit code.
/// The command line; a binary deployed as a Lambda function's `bootstrap`
/// (which the runtime starts without arguments) runs `iotpipe lambda`.
fn arguments() -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let bootstrap = args.first().is_some_and(|first| {
        std::path::Path::new(first).file_name() == Some(std::ffi::OsStr::new("bootstrap"))
    });
    if cfg!(feature = "lambda") && bootstrap && args.len() == 1 {
        args.push("lambda".into());
    }
    args
}

/// The error kinds that decide exit codes and hints, outermost layers first
/// (a sink error wraps an MQTT one and says so itself).
pub(crate) const ERROR_KINDS: &[error::ErrorKind] = &[
    error::diagnosis::<config::ConfigError>,
    error::diagnosis::<error::Hinted>,
    error::diagnosis::<sense::SenseError>,
    error::diagnosis::<device::DeviceError>,
    #[cfg(feature = "pipeline")]
    error::diagnosis::<sink::SinkError>,
    #[cfg(feature = "pipeline")]
    error::diagnosis::<dashboard::quicksight::QuickSightError>,
    #[cfg(feature = "lambda")]
    error::diagnosis::<lambda::LambdaError>,
    #[cfg(feature = "pipeline")]
    error::diagnosis::<kinesis::KinesisError>,
    #[cfg(feature = "pipeline")]
    error::diagnosis::<compact::CompactError>,
    #[cfg(feature = "pipeline")]
    error::diagnosis::<dashboard::DashboardError>,
    #[cfg(feature = "pipeline")]
    error::diagnosis::<store::StoreError>,
    #[cfg(feature = "pipeline")]
    error::diagnosis::<counter::CounterError>,
    error::diagnosis::<mqtt::MqttError>,
    error::diagnosis::<http::HttpError>,
];

pub fn run() -> ExitCode {
    let cli = match cli::Cli::try_parse_from(arguments()) {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            if let Some(name) = left_out_command(&err) {
                crate::note!(
                    "\nnote: `{name}` is not in this build of iotpipe {} (built without the \
                     `{}` feature); install the full package, or build with default features",
                    env!("CARGO_PKG_VERSION"),
                    if name == "lambda" && cfg!(feature = "pipeline") {
                        "lambda"
                    } else {
                        "pipeline"
                    },
                );
            }
            return if err.use_stderr() {
                Exit::Usage.into()
            } else {
                Exit::Ok.into()
            };
        }
    };
    let verbose = cli.global.verbosity();
    let color = cli.global.color();
    init_logging(
        verbose,
        cli.global.is_quiet(),
        color.stderr(),
        cli.global.log_format,
    );

    match cli::dispatch(cli) {
        Ok(exit) => exit.into(),
        Err(err) if error::is_broken_pipe(&err) => Exit::Ok.into(),
        Err(err) => {
            use std::io::IsTerminal;
            let terminal = std::io::stderr().is_terminal();
            error::report(&err, ERROR_KINDS, verbose > 0, color.stderr(), terminal);
            error::exit_code_of(&err, ERROR_KINDS).into()
        }
    }
}

/// The commands a build without the `pipeline` or `lambda` feature leaves out.
const PIPELINE_COMMANDS: &[&str] = &[
    "up",
    "sink",
    "counters",
    "compact",
    "refresh-dashboard",
    "kinesis",
    "objects",
    "s3",
    "init",
    // device add, list, remove: the fleet is managed where the AWS credentials are.
    "add",
    "list",
    "remove",
];

/// The command `err` did not recognize, when it is one this build left out.
fn left_out_command(err: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue};
    let Some(ContextValue::String(name)) = err.get(ContextKind::InvalidSubcommand) else {
        return None;
    };
    let left_out = (!cfg!(feature = "pipeline") && PIPELINE_COMMANDS.contains(&name.as_str()))
        || (!cfg!(feature = "lambda") && name == "lambda");
    left_out.then(|| name.clone())
}

/// A second Ctrl-C: quit at once. The protocols resume wherever they stopped.
fn quit_interrupted() {
    crate::note!("iotpipe: interrupted");
    std::process::exit(Exit::Interrupted as i32);
}

fn init_logging(verbose: u8, quiet: bool, color: bool, format: cli::LogFormat) {
    use tracing::Level;
    use tracing::level_filters::LevelFilter;
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let level = match (quiet, verbose) {
        (true, _) => Level::ERROR,
        (false, 0) => Level::WARN,
        (false, 1) => Level::INFO,
        (false, 2) => Level::DEBUG,
        (false, _) => Level::TRACE,
    };
    // The embedded broker's notes on each client (a connection dropped, a
    // malformed packet) are for debugging it, shown from -vv on; what matters
    // to an operator (subscribers' messages dropped) it warns of with -v.
    let broker = if verbose > 1 {
        LevelFilter::from_level(level)
    } else {
        LevelFilter::from_level(level).min(LevelFilter::WARN)
    };
    // The AWS SDK warns about each credential and region source it tries (the
    // instance metadata service, above all) before the one that works; iotpipe
    // reports the outcome itself, with a fix.
    let aws_sdk = if verbose > 0 {
        LevelFilter::from_level(level)
    } else {
        LevelFilter::ERROR
    };
    let targets = Targets::new()
        .with_default(LevelFilter::from_level(level))
        .with_target("iotpipe::mqtt::broker", broker)
        .with_target("aws_config", aws_sdk)
        .with_target("aws_smithy_runtime", aws_sdk)
        .with_target("aws_runtime", aws_sdk);
    if format == cli::LogFormat::Json {
        JSON_LOGS.store(true, std::sync::atomic::Ordering::Relaxed);
        // One object per line, with its time and level, for journald and Fluent Bit.
        tracing_subscriber::fmt()
            .json()
            .with_max_level(level)
            .with_writer(std::io::stderr)
            .log_internal_errors(false)
            .with_target(true)
            .finish()
            .with(targets)
            .init();
        return;
    }
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        // Its own report of a failed write would go to a closed stderr and panic.
        .log_internal_errors(false)
        .with_ansi(color)
        .with_target(verbose > 1);
    if verbose > 1 {
        builder.finish().with(targets).init();
    } else {
        builder.without_time().finish().with(targets).init();
    }
}
