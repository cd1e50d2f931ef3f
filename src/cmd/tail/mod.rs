//! `iotpipe tail`: follow the stream. `tail mqtt` subscribes like mosquitto_sub
//! and `tail kinesis` reads every shard of a stream, both validating each
//! payload against schema v1 and explaining the ones that fail; `tail objects`
//! and `tail s3` print raw objects as they land.

mod follow;
#[cfg(feature = "pipeline")]
mod kinesis;
mod mqtt;
#[cfg(feature = "pipeline")]
mod objects;

use clap::Subcommand;

use super::Context;
use crate::error::Exit;

#[derive(Debug, Subcommand)]
pub enum TailCommand {
    /// Subscribe to MQTT topics and print what arrives (like mosquitto_sub)
    Mqtt(Box<mqtt::TailMqttArgs>),

    #[cfg(feature = "pipeline")]
    /// Print records from a Kinesis data stream: every shard, following reshards
    Kinesis(kinesis::TailKinesisArgs),

    #[cfg(feature = "pipeline")]
    /// Print raw objects as they land in the local store (key, size, rows)
    Objects(objects::TailObjectsArgs),

    #[cfg(feature = "pipeline")]
    /// Print objects as they land in S3 (key, size, rows); needs aws.bucket
    S3(objects::TailS3Args),
}

pub fn run(ctx: &mut Context, command: &TailCommand) -> anyhow::Result<Exit> {
    match command {
        TailCommand::Mqtt(args) => mqtt::run(ctx, args),
        #[cfg(feature = "pipeline")]
        TailCommand::Kinesis(args) => kinesis::run(ctx, args),
        #[cfg(feature = "pipeline")]
        TailCommand::Objects(args) => objects::run_objects(ctx, args),
        #[cfg(feature = "pipeline")]
        TailCommand::S3(args) => objects::run_s3(ctx, args),
    }
}
