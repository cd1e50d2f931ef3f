//! `iotpipe sink`: subscribe and land payloads as Firehose-style raw objects in
//! the local store, counting each object exactly once.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use rumqttc::QoS;

use super::Context;
use super::args::BrokerArgs;
use crate::config::Override;
use crate::error::{Exit, Hinted};
use crate::mqtt::subscribe::Subscriber;
use crate::mqtt::{ClientRole, Session, Settings};
use crate::sink::{Landing, LandingOptions};

#[derive(Debug, Args)]
#[command(disable_help_flag = true, disable_version_flag = true)]
pub struct SinkArgs {
    #[command(flatten)]
    pub broker: BrokerArgs,

    /// Topic filter to land, repeatable [default: mqtt.topic]
    #[arg(short = 't', long = "topic", value_name = "FILTER")]
    pub topics: Vec<String>,

    /// Data directory: raw/, rejected/, the counter and the journal (config data_dir)
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Write an object once this many bytes are buffered (config sink.buffer_bytes)
    #[arg(long, value_name = "N")]
    pub buffer_bytes: Option<u64>,

    /// Write an object at least this often, e.g. 60s (config sink.buffer_interval)
    #[arg(long, value_name = "DUR", value_parser = super::args::parse_duration)]
    pub buffer_interval: Option<Duration>,

    /// gzip the raw objects (config sink.gzip, default true)
    #[arg(long, overrides_with = "no_gzip")]
    pub gzip: bool,

    /// Plain newline-delimited JSON objects
    #[arg(long, overrides_with = "gzip")]
    pub no_gzip: bool,

    #[command(flatten)]
    pub http: super::args::HttpArgs,
}

impl SinkArgs {
    fn overrides(&self) -> Vec<Override> {
        let mut o = self.broker.overrides();
        o.extend(super::args::data_dir_override(self.data_dir.as_deref()));
        o.extend(self.http.overrides());
        if let Some(n) = self.buffer_bytes {
            o.push(Override::new(
                "sink.buffer_bytes",
                "--buffer-bytes",
                i64::try_from(n).unwrap_or(i64::MAX),
            ));
        }
        if let Some(every) = self.buffer_interval {
            let text = humantime::format_duration(every).to_string();
            o.push(Override::new(
                "sink.buffer_interval",
                "--buffer-interval",
                text,
            ));
        }
        if self.gzip || self.no_gzip {
            o.push(Override::new(
                "sink.gzip",
                if self.gzip { "--gzip" } else { "--no-gzip" },
                self.gzip,
            ));
        }
        o
    }
}

pub fn run(ctx: &mut Context, args: &SinkArgs) -> anyhow::Result<Exit> {
    let config = ctx.config(args.overrides())?.config;
    // A fixed client id of its own: the broker keeps this sink's session while
    // it is away, and no other client may take it over.
    let exact_id = args.broker.client_id.is_some();
    let mut settings = Settings::for_role(&config, ClientRole::Sink, exact_id)?;
    let journal = crate::sink::journal_dir(&config.data_dir);
    if !exact_id {
        settings.client_id = crate::sink::client_id(&journal, &settings.client_id)?;
    }
    if exact_id {
        // The id publish connects as, from the file or IOTPIPE_*: two
        // sessions on one id knock each other off, and a clean one wipes this.
        let mut shared = args.overrides();
        shared.retain(|o| o.key != "mqtt.client_id");
        let publishes_as = ctx.config(shared)?.config.mqtt.client_id;
        if publishes_as.as_deref() == Some(settings.client_id.as_str()) {
            return Err(Hinted::new(
                Exit::Usage,
                format!(
                    "client id {} is mqtt.client_id, the id `publish` connects as: the sink's \
                     persistent session cannot share it",
                    settings.client_id
                ),
                format!(
                    "drop --client-id (the sink then connects as {}-sink), or give it an id of its own",
                    settings.client_id
                ),
            )
            .into());
        }
    }
    let filters = if args.topics.is_empty() {
        vec![config.mqtt.topic.clone()]
    } else {
        args.topics.clone()
    };
    let mut subscriber =
        Subscriber::new(settings, &filters, QoS::AtLeastOnce, Session::Persistent)?;
    let runtime = super::runtime()?;
    let crate::backends::Stages { store, counter, .. } =
        runtime.block_on(crate::backends::Stages::new(&config))?;
    let options = LandingOptions::from(&config);
    let quiet = ctx.quiet;
    let landing_in = format!(
        "{} ({}, counted in {})",
        store.describe(),
        crate::store::RAW,
        counter.describe()
    );
    let stats = runtime.block_on(async {
        let mut landing = Landing::open(store, counter, &journal, options).await?;
        if landing.stats.recovered > 0 {
            tracing::warn!(
                "landing {} messages an earlier run had acknowledged",
                landing.stats.recovered
            );
        }
        if !quiet {
            crate::note!(
                "sink: landing {} from {} into {}",
                filters.join(", "),
                subscriber.settings().endpoint(),
                landing_in
            );
        }
        let endpoints = crate::http::Endpoints {
            sections: vec![crate::metrics::Section::Landing],
            page: None,
        };
        super::args::serve_http(config.http.listen.as_deref(), endpoints, quiet, "sink")?;
        crate::systemd::ready();
        crate::sink::serve(
            &mut subscriber,
            &mut landing,
            super::on_signals().cancelled(),
            None,
        )
        .await?;
        crate::systemd::stopping();
        let stats = landing.close().await?;
        subscriber.disconnect().await;
        anyhow::Ok(stats)
    })?;
    let line = format!(
        "sink: {} messages: {} readings in {} objects ({} bytes), {} rejected",
        stats.messages, stats.readings, stats.objects, stats.bytes_written, stats.rejected
    );
    ctx.output.summary(&line, Some(&stats))?;
    Ok(Exit::Ok)
}
