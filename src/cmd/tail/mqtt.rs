//! `iotpipe tail mqtt`: subscribe like mosquitto_sub and print what arrives,
//! each payload checked against schema v1.

use std::time::Duration;

use clap::{ArgAction, Args};
use rumqttc::QoS;

use super::follow::{Follower, Step, follow};
use crate::cmd::Context;
use crate::cmd::args::{BrokerArgs, parse_timeout};
use crate::error::{Exit, Hinted};
use crate::mqtt::subscribe::{Delivery, Subscriber};
use crate::mqtt::{self, ClientRole, Settings};
use crate::output::Records;
use crate::output::payloads::{MessageRow, PayloadEncoding, Printer};
use crate::output::template::{Meta, Template};

#[derive(Debug, Args)]
#[command(disable_help_flag = true, disable_version_flag = true)]
pub struct TailMqttArgs {
    #[command(flatten)]
    pub broker: BrokerArgs,

    /// Topic filter, repeatable; + and # wildcards [default: mqtt.topic]
    #[arg(short = 't', long = "topic", value_name = "FILTER")]
    pub topics: Vec<String>,

    /// Subscription QoS 0 or 1
    #[arg(short = 'q', long, value_name = "0|1", default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=1))]
    pub qos: u8,

    /// Exit after N messages
    #[arg(short = 'C', long = "count", value_name = "N")]
    pub count: Option<u64>,

    /// Exit with code 4 after this long without a message (seconds, or e.g. 500ms, 2m)
    #[arg(short = 'W', long = "timeout", value_name = "SECS", value_parser = parse_timeout)]
    pub timeout: Option<Duration>,

    /// Print the topic too; with -o jsonl, one object per message with its
    /// topic, qos, retain flag, receive time and payload (parsed when JSON)
    #[arg(short = 'v', long = "show-topic", action = ArgAction::SetTrue)]
    pub show_topic: bool,

    /// Print each message in this format, as mosquitto_sub -F does:
    /// %t %p %q %r %l %m %x %I %U %j %% and \n \t escapes
    #[arg(short = 'F', long = "format", value_name = "FMT")]
    pub format: Option<Template>,

    /// Show payloads as received, or as hex or base64 for binary ones
    #[arg(long, value_name = "HOW", value_enum, default_value_t = PayloadEncoding::Raw)]
    pub payload: PayloadEncoding,

    /// Skip retained messages (those the broker kept from before)
    #[arg(short = 'R', long = "no-retained")]
    pub no_retained: bool,

    /// AWS IoT Core over WebSockets on 443, signed with your AWS credentials
    /// (profile, SSO, environment) instead of a device certificate
    #[cfg(feature = "pipeline")]
    #[arg(long)]
    pub sigv4: bool,

    /// Do not print messages on topics this filter matches; repeatable
    #[arg(short = 'T', long = "filter-out", value_name = "FILTER")]
    pub filter_out: Vec<String>,
}

pub fn run(ctx: &mut Context, args: &TailMqttArgs) -> anyhow::Result<Exit> {
    let config = ctx.config(args.broker.overrides())?.config;
    let exact_id = args.broker.client_id.is_some();
    #[allow(unused_mut)]
    let mut settings = Settings::for_role(&config, ClientRole::Tail, exact_id)?;
    #[cfg(feature = "pipeline")]
    if args.sigv4 {
        crate::cmd::args::sign_with_aws(&mut settings, &config, args.broker.port)?;
    }
    let filters = if args.topics.is_empty() {
        vec![config.mqtt.topic.clone()]
    } else {
        args.topics.clone()
    };
    let qos = if args.qos == 0 {
        QoS::AtMostOnce
    } else {
        QoS::AtLeastOnce
    };
    let subscriber = Subscriber::new(settings, &filters, qos, mqtt::Session::Clean)?;
    tracing::info!(
        "subscribing to {} at {}",
        filters.join(", "),
        subscriber.settings().endpoint()
    );
    for filter in &args.filter_out {
        Settings::check_filter(filter)?;
    }
    let mut printer = Printer::new(&ctx.output, "topic", args.show_topic);
    // A viewer of any topic: status messages and other firmware are not errors.
    printer.warn_malformed = false;
    printer.encoding = args.payload;
    printer.template = args.format.clone();
    crate::cmd::runtime()?.block_on(async {
        let mut tail = MqttTail {
            subscriber,
            printer,
            no_retained: args.no_retained,
            filter_out: args.filter_out.clone(),
            records: ctx.output.records::<MessageRow>(true),
            unreachable: None,
        };
        let outcome = follow(&mut tail, args.count, args.timeout).await;
        tail.records.finish()?;
        tail.subscriber.disconnect().await;
        tail.printer.finish();
        outcome
    })
}

struct MqttTail<'o> {
    subscriber: Subscriber,
    printer: Printer,
    no_retained: bool,
    filter_out: Vec<String>,
    records: Records<'o, MessageRow>,
    /// Set while the broker cannot be reached, for the -W message.
    unreachable: Option<String>,
}

impl Follower for MqttTail<'_> {
    async fn next(&mut self, _remaining: Option<u64>) -> anyhow::Result<Step> {
        match self.subscriber.next().await? {
            Delivery::Message(publish) => {
                let filtered = self
                    .filter_out
                    .iter()
                    .any(|filter| crate::mqtt::topic::matches(&publish.topic, filter));
                if (self.no_retained && publish.retain) || filtered {
                    return Ok(Step::Printed(0));
                }
                let meta = Meta {
                    qos: publish.qos as u8,
                    retain: publish.retain,
                    mid: publish.pkid,
                    received_at: time::OffsetDateTime::now_utc(),
                };
                self.printer.print(
                    &mut self.records,
                    &publish.topic,
                    &publish.payload,
                    Some(&meta),
                )?;
                Ok(Step::Printed(1))
            }
            Delivery::Connected => {
                self.unreachable = None;
                tracing::info!("subscribed");
                Ok(Step::Printed(0))
            }
            Delivery::Lost(error) => {
                if self.unreachable.is_none() {
                    tracing::warn!(
                        "cannot reach {}: {error}; retrying",
                        self.subscriber.settings().endpoint()
                    );
                }
                self.unreachable = Some(error);
                Ok(Step::Printed(0))
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.records.flush()
    }

    fn timed_out(&self, after: Duration) -> anyhow::Error {
        timed_out(after, self.unreachable.as_deref())
    }
}

fn timed_out(after: Duration, unreachable: Option<&str>) -> anyhow::Error {
    let after = humantime::format_duration(after);
    match unreachable {
        Some(error) => Hinted::new(
            Exit::Timeout,
            format!("no message for {after}: the broker cannot be reached ({error})"),
            "is a broker listening there? check --host/--port (or mqtt.host/mqtt.port)",
        ),
        None => Hinted::new(
            Exit::Timeout,
            format!("no message for {after}"),
            "is anything publishing to these topics? check -t, and run with --verbose",
        ),
    }
    .into()
}
