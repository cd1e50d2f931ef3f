//! `iotpipe sense`: read the Sense HAT (or the simulator) and print readings.

use std::time::{Duration, Instant};

use clap::Args;
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::Context;
use crate::config::Override;
use crate::error::Exit;
use crate::output::{Column, Row, number};
use crate::payload::{self, Reading};
use crate::sense::sim::{Sim, SimOptions};
use crate::sense::{self, Source};

#[derive(Debug, Args)]
pub struct SenseArgs {
    /// Simulated readings instead of the Sense HAT (deterministic with --seed)
    #[arg(long)]
    pub sim: bool,

    /// Seed for --sim: the same seed gives the same values [default: random]
    #[arg(long, value_name = "S", requires = "sim")]
    pub seed: Option<u64>,

    /// Number of readings [default: 1, or endless with --every]
    #[arg(short = 'n', long, value_name = "N")]
    pub count: Option<u64>,

    /// Read every DUR, e.g. 1s, 500ms, 5m (config sense.every). With --sim and
    /// without this flag, readings are produced at once, stamped DUR apart.
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub every: Option<Duration>,

    /// Device id written into each reading (config device_id, default: hostname)
    #[arg(long, value_name = "ID")]
    pub device_id: Option<String>,

    /// Simulated clock start for --sim (RFC 3339), making timestamps reproducible too
    #[arg(long, value_name = "TIME", requires = "sim", value_parser = parse_start)]
    pub start: Option<OffsetDateTime>,

    /// Include the simulated IMU (accelerometer, gyroscope, magnetometer, orientation)
    #[arg(long, requires = "sim")]
    pub imu: bool,

    /// I2C bus number of the Sense HAT (config sense.bus)
    #[arg(long, value_name = "N")]
    pub bus: Option<u8>,
}

pub fn parse_duration(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text) {
        Ok(d) if d.is_zero() => Err("must be longer than zero".into()),
        Ok(d) => Ok(d),
        Err(e) => Err(format!("{e} (examples: 1s, 500ms, 5m)")),
    }
}

fn parse_start(text: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|e| format!("{e} (expected RFC 3339, e.g. 2026-01-01T00:00:00Z)"))
}

impl SenseArgs {
    fn overrides(&self) -> Vec<Override> {
        let mut overrides = Vec::new();
        if let Some(every) = self.every {
            let text = humantime::format_duration(every).to_string();
            overrides.push(Override::new("sense.every", "--every", text));
        }
        if let Some(id) = &self.device_id {
            overrides.push(Override::new("device_id", "--device-id", id.as_str()));
        }
        if let Some(bus) = self.bus {
            overrides.push(Override::new("sense.bus", "--bus", i64::from(bus)));
        }
        overrides
    }
}

/// A reading as a table row: the headline values; JSON output carries every field.
#[derive(Serialize)]
#[serde(transparent)]
struct ReadingRow(Reading);

impl Row for ReadingRow {
    fn headers() -> &'static [Column] {
        const COLUMNS: &[Column] = &[
            Column::left("time", 24),
            Column::left("device", 12),
            Column::right("seq", 5),
            Column::right("temp °C", 7),
            Column::right("humidity %", 10),
            Column::right("pressure hPa", 12),
            Column::right("pitch", 7),
            Column::right("roll", 7),
            Column::right("yaw", 7),
        ];
        COLUMNS
    }

    fn cells(&self) -> Vec<String> {
        let r = &self.0;
        vec![
            r.ts.clone(),
            r.device_id.clone(),
            r.seq.to_string(),
            number(r.temperature_c, 2),
            number(r.humidity_pct, 2),
            number(r.pressure_hpa, 2),
            number(r.pitch_deg, 1),
            number(r.roll_deg, 1),
            number(r.yaw_deg, 1),
        ]
    }
}

pub fn run(ctx: &mut Context, args: &SenseArgs) -> anyhow::Result<Exit> {
    let config = ctx.config(args.overrides())?.config;
    let every = config.sense.every;
    let run_id = payload::new_run_id();

    let mut source: Box<dyn Source> = if args.sim {
        let seed = args
            .seed
            .unwrap_or_else(|| uuid::Uuid::new_v4().as_u64_pair().0);
        tracing::info!(
            seed,
            "simulating; pass --seed {seed} to reproduce these values"
        );
        Box::new(Sim::new(SimOptions {
            seed,
            device_id: config.device_id.clone(),
            run_id,
            start: args.start.unwrap_or_else(OffsetDateTime::now_utc),
            step: every,
            imu: args.imu,
        }))
    } else {
        sense::open_hardware(config.sense.bus)?
    };

    // Hardware is always paced; the simulator only when asked to be, so
    // `sense --sim --count 1000` is instant and still spaced in simulated time.
    let paced = !args.sim || args.every.is_some();
    let count = args
        .count
        .or(if args.every.is_some() { None } else { Some(1) });
    let live = paced && count != Some(1);

    let started = Instant::now();
    let mut records = ctx.output.records::<ReadingRow>(live);
    let mut taken: u64 = 0;
    while count.is_none_or(|n| taken < n) {
        if paced && taken > 0 {
            // Sleep to a fixed schedule so intervals do not drift with read time.
            let due = started + every.saturating_mul(u32::try_from(taken).unwrap_or(u32::MAX));
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
        let reading = source.next_reading()?;
        records.write(&ReadingRow(reading))?;
        taken += 1;
    }
    records.finish()?;
    Ok(Exit::Ok)
}
