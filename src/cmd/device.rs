//! `iotpipe device`: a fleet on AWS IoT Core. `device csr` runs on the Pi and
//! prints a signing request for a key that never leaves it; `device add`,
//! `list` and `remove` run where the AWS credentials are and manage the thing,
//! its certificate and the fleet policy.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::Context;
use crate::config::Override;
use crate::device::key;
use crate::error::Exit;

#[derive(Debug, Subcommand)]
pub enum DeviceCommand {
    /// Make this device's private key (once, 0600, under data_dir) and print a
    /// certificate signing request for `device add`
    Csr(CsrArgs),

    #[cfg(feature = "pipeline")]
    /// Register a device on IoT Core: its thing, a certificate from its CSR,
    /// attached exclusively to the thing and to the fleet policy
    Add(AddArgs),

    #[cfg(feature = "pipeline")]
    /// List the things: certificate, its status and expiry, the newest reading
    List,

    #[cfg(feature = "pipeline")]
    /// Detach, deactivate and delete a device's certificate, and delete its thing
    Remove(RemoveArgs),
}

#[derive(Debug, Args)]
pub struct CsrArgs {
    /// The thing name, the certificate's common name (config device_id)
    #[arg(long, value_name = "THING")]
    pub name: Option<String>,

    /// Data directory the key is kept under (config data_dir)
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Write the request to FILE instead of stdout
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn run(ctx: &mut Context, command: &DeviceCommand) -> anyhow::Result<Exit> {
    match command {
        DeviceCommand::Csr(args) => csr(ctx, args),
        #[cfg(feature = "pipeline")]
        DeviceCommand::Add(args) => fleet::add(ctx, args),
        #[cfg(feature = "pipeline")]
        DeviceCommand::List => fleet::list(ctx),
        #[cfg(feature = "pipeline")]
        DeviceCommand::Remove(args) => fleet::remove(ctx, args),
    }
}

fn csr(ctx: &mut Context, args: &CsrArgs) -> anyhow::Result<Exit> {
    use anyhow::Context as _;
    let mut overrides = super::args::data_dir_override(args.data_dir.as_deref());
    if let Some(name) = &args.name {
        overrides.push(Override::new("device_id", "--name", name.as_str()));
    }
    let config = ctx.config(overrides)?.config;
    let thing = &config.device_id;
    crate::device::check_thing_name(thing)?;
    let key_path = key::key_path(&config.data_dir);
    let (key_pair, made) = key::load_or_create(&key_path)?;
    let request = key::request(&key_pair, thing)?;
    match &args.out {
        Some(path) => std::fs::write(path, &request)
            .with_context(|| format!("writing the request to {}", path.display()))?,
        None => {
            let out = ctx.output.raw();
            out.write_all(request.as_bytes())?;
            out.flush()?;
        }
    }
    if !ctx.quiet {
        let topic = if config.mqtt.topic.ends_with(&format!("/{thing}")) {
            config.mqtt.topic.clone()
        } else {
            format!("{}/{thing}", config.mqtt.topic)
        };
        crate::note!(
            "{} the private key {} (readable by you only; it never leaves this device)\n\
             next, where your AWS credentials are:\n  \
             iotpipe device add {thing} --csr {thing}.csr.pem --out {thing}.pem.crt\n\
             then copy {thing}.pem.crt here as {}\n\
             and set in iotpipe.toml (`iotpipe doctor` checks them):\n  \
             device_id = \"{thing}\"\n  [mqtt]\n  iot_core = true\n  \
             host = \"<aws iot describe-endpoint --endpoint-type iot:Data-ATS>\"\n  \
             cert = \"{}\"\n  key = \"{}\"\n  \
             cafile = \"<AmazonRootCA1.pem>\"\n  topic = \"{topic}\"",
            if made { "made" } else { "kept" },
            key_path.display(),
            key::certificate_path(&config.data_dir).display(),
            key::certificate_path(&config.data_dir).display(),
            key_path.display(),
        );
    }
    Ok(Exit::Ok)
}

#[cfg(feature = "pipeline")]
pub use fleet::{AddArgs, RemoveArgs};

#[cfg(feature = "pipeline")]
mod fleet {
    use std::path::PathBuf;

    use anyhow::Context as _;
    use clap::Args;
    use serde::Serialize;

    use super::Context;
    use crate::config::Override;
    use crate::device::registry::{Certificate, Registry};
    use crate::error::{Exit, Hinted};
    use crate::output::{Column, Row};

    #[derive(Debug, Args)]
    pub struct AddArgs {
        /// The thing name: the device's device_id and MQTT client id
        pub name: String,

        /// The request `iotpipe device csr` printed on the device
        #[arg(long, value_name = "FILE")]
        pub csr: PathBuf,

        /// The fleet's IoT policy (config aws.device_policy; the stack's DevicePolicy output)
        #[arg(long, value_name = "POLICY")]
        pub policy: Option<String>,

        /// Where to write the certificate [default: NAME.pem.crt]
        #[arg(long, value_name = "FILE")]
        pub out: Option<PathBuf>,
    }

    #[derive(Debug, Args)]
    pub struct RemoveArgs {
        /// The thing name
        pub name: String,
    }

    /// One certificate of one thing (a thing without one is a row too).
    #[derive(Serialize)]
    struct DeviceRow {
        thing: String,
        certificate_id: Option<String>,
        /// exclusive, non-exclusive (then only a client id equal to the thing
        /// name may connect), or unknown.
        attachment: Option<String>,
        status: Option<String>,
        expires: Option<String>,
        /// When the device's newest reading was taken, as the counter saw it.
        newest_reading: Option<String>,
    }

    impl DeviceRow {
        fn new(thing: &str, certificate: Option<&Certificate>, newest: Option<&String>) -> Self {
            DeviceRow {
                thing: thing.to_string(),
                certificate_id: certificate.map(|c| c.id.clone()),
                attachment: certificate.and_then(|c| {
                    c.attachment.as_deref().map(|a| match a {
                        "EXCLUSIVE_THING" => "exclusive".to_string(),
                        "NON_EXCLUSIVE_THING" => "non-exclusive".to_string(),
                        other => other.to_lowercase(),
                    })
                }),
                status: certificate.map(|c| c.status.clone()),
                expires: certificate.and_then(|c| c.expires.clone()),
                newest_reading: newest.cloned(),
            }
        }
    }

    impl Row for DeviceRow {
        const COLUMNS: &'static [Column] = &[
            Column::left("thing", 12),
            Column::left("certificate", 14),
            Column::left("attachment", 10),
            Column::left("status", 8),
            Column::left("expires", 20),
            Column::left("newest reading", 0),
        ];

        fn cells(&self) -> Vec<String> {
            let or_dash = |value: &Option<String>| value.clone().unwrap_or_else(|| "-".into());
            vec![
                self.thing.clone(),
                // The id is 64 hex digits; its start is what the console shows.
                self.certificate_id.as_deref().map_or("-".into(), |id| {
                    format!("{}…", id.chars().take(12).collect::<String>())
                }),
                or_dash(&self.attachment),
                or_dash(&self.status),
                or_dash(&self.expires),
                self.newest_reading.as_deref().map_or("-".into(), |at| {
                    format!(
                        "{at} ({})",
                        crate::output::ago(at, time::OffsetDateTime::now_utc())
                    )
                }),
            ]
        }
    }

    pub fn add(ctx: &mut Context, args: &AddArgs) -> anyhow::Result<Exit> {
        crate::device::check_thing_name(&args.name)?;
        let mut overrides = Vec::new();
        if let Some(policy) = &args.policy {
            overrides.push(Override::new(
                "aws.device_policy",
                "--policy",
                policy.as_str(),
            ));
        }
        let config = ctx.config(overrides)?.config;
        let Some(policy) = config.aws.device_policy.clone() else {
            return Err(Hinted::new(
                Exit::Usage,
                "no fleet policy to attach the certificate to",
                "pass --policy NAME or set aws.device_policy: the stack's DevicePolicy output \
                 (`iotpipe config init --from-stack NAME` writes it)",
            )
            .into());
        };
        let csr = std::fs::read(&args.csr)
            .with_context(|| format!("reading the request {}", args.csr.display()))?;
        let public_key =
            crate::device::key::request_public_key(&args.csr.display().to_string(), &csr)?;
        let csr = String::from_utf8_lossy(&csr).into_owned();
        let out = args
            .out
            .clone()
            .unwrap_or_else(|| PathBuf::from(format!("{}.pem.crt", args.name)));
        let added = super::super::runtime()?.block_on(async {
            let sdk = crate::aws::sdk_config(&config.aws).await;
            Registry::new(&sdk)
                .add(&args.name, &csr, &public_key, &policy)
                .await
        })?;
        std::fs::write(&out, &added.certificate.pem)
            .with_context(|| format!("writing the certificate to {}", out.display()))?;
        let mut records = ctx.output.records::<DeviceRow>(false);
        records.write(&DeviceRow::new(&args.name, Some(&added.certificate), None))?;
        records.finish()?;
        if !ctx.quiet {
            crate::note!(
                "{} thing {}, {} certificate {} attached to it exclusively and to policy {policy}\n\
                 wrote the certificate to {}: copy it to the device where `iotpipe device csr` \
                 said (data_dir/device/certificate.pem.crt)",
                if added.created_thing { "made" } else { "kept" },
                args.name,
                if added.created_certificate {
                    "a new"
                } else {
                    "its"
                },
                added.certificate.id,
                out.display(),
            );
        }
        Ok(Exit::Ok)
    }

    pub fn list(ctx: &mut Context) -> anyhow::Result<Exit> {
        let config = ctx.config(Vec::new())?.config;
        let (things, newest) = super::super::runtime()?.block_on(async {
            let sdk = crate::aws::sdk_config(&config.aws).await;
            let things = Registry::new(&sdk).list().await?;
            // Where known: sinks record each device's newest reading in the counter.
            let newest = match crate::backends::Stages::new(&config).await {
                Ok(stages) => crate::counter::device_last_readings(&*stages.counter)
                    .await
                    .unwrap_or_else(|error| {
                        tracing::warn!("newest readings unknown: {error}");
                        Default::default()
                    }),
                Err(error) => {
                    tracing::warn!("newest readings unknown: {error:#}");
                    Default::default()
                }
            };
            anyhow::Ok((things, newest))
        })?;
        let mut records = ctx.output.records::<DeviceRow>(false);
        for thing in &things {
            let newest = newest.get(&thing.name);
            if thing.certificates.is_empty() {
                records.write(&DeviceRow::new(&thing.name, None, newest))?;
            }
            for certificate in &thing.certificates {
                records.write(&DeviceRow::new(&thing.name, Some(certificate), newest))?;
            }
        }
        records.finish()?;
        Ok(Exit::Ok)
    }

    pub fn remove(ctx: &mut Context, args: &RemoveArgs) -> anyhow::Result<Exit> {
        crate::device::check_thing_name(&args.name)?;
        let config = ctx.config(Vec::new())?.config;
        let removed = super::super::runtime()?.block_on(async {
            let sdk = crate::aws::sdk_config(&config.aws).await;
            Registry::new(&sdk).remove(&args.name).await
        })?;
        let line = if !removed.existed {
            format!("no thing {}: nothing to remove", args.name)
        } else {
            let mut line = format!("removed thing {}", args.name);
            if !removed.deleted.is_empty() {
                line.push_str(&format!(
                    "; deactivated and deleted certificate {}",
                    removed.deleted.join(", ")
                ));
            }
            if !removed.detached.is_empty() {
                line.push_str(&format!(
                    "; detached certificate {} (other things still use it)",
                    removed.detached.join(", ")
                ));
            }
            line
        };
        let summary = serde_json::json!({
            "thing": args.name,
            "existed": removed.existed,
            "deleted_certificates": removed.deleted,
            "detached_certificates": removed.detached,
        });
        ctx.output.summary(&line, Some(&summary))?;
        Ok(Exit::Ok)
    }
}
