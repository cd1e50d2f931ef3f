//! `iotpipe sense`: read the Sense HAT (or the simulator, or a recording) and
//! print readings; `--probe` lists the chips, `--raw` the registers behind them.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::Context;
use crate::config::Override;
use crate::error::Exit;
use crate::output::{Column, Row, number};
use crate::payload::Reading;
use crate::sense::hat::{HatOptions, ProbeRow, RawSample};
use crate::sense::replay::Replay;
use crate::sense::sim::{Sim, SimOptions};
use crate::sense::{self, SenseError, Source};

#[derive(Debug, Args)]
pub struct SenseArgs {
    /// Simulated readings instead of the Sense HAT (deterministic with --seed)
    #[arg(long, conflicts_with_all = ["replay", "probe"])]
    pub sim: bool,

    /// Recorded readings: a file of schema v1 JSON lines, validated line by line
    #[arg(long, value_name = "FILE", conflicts_with = "probe")]
    pub replay: Option<PathBuf>,

    /// List the Sense HAT's chips: address, chip, expected and actual WHO_AM_I, status
    #[arg(long)]
    pub probe: bool,

    /// Show the raw registers and calibration constants next to the converted values
    #[arg(long, conflicts_with_all = ["sim", "replay"])]
    pub raw: bool,

    /// Seed for --sim: the same seed gives the same values [default: random]
    #[arg(long, value_name = "S", requires = "sim")]
    pub seed: Option<u64>,

    /// Number of readings [default: 1, endless with --every, all of --replay]
    #[arg(short = 'n', long, value_name = "N")]
    pub count: Option<u64>,

    /// Read every DUR, e.g. 1s, 500ms, 5m (config sense.every). With --sim and
    /// without this flag, readings are produced at once, stamped DUR apart.
    #[arg(long, value_name = "DUR", value_parser = super::args::parse_duration)]
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

    /// Correct the temperature for CPU heat: t - (t_cpu - t) / F, 1.5 is common
    /// (config sense.cpu_heat_factor); the raw value goes to temperature_raw_c
    #[arg(long, value_name = "F")]
    pub cpu_heat_factor: Option<f64>,
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
        if let Some(factor) = self.cpu_heat_factor {
            overrides.push(Override::new(
                "sense.cpu_heat_factor",
                "--cpu-heat-factor",
                factor,
            ));
        }
        overrides
    }
}

/// A reading as a table row: the headline values; JSON output carries every field.
#[derive(Serialize)]
#[serde(transparent)]
struct ReadingRow(Reading);

impl Row for ReadingRow {
    const COLUMNS: &'static [Column] = &[
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

impl Row for ProbeRow {
    const COLUMNS: &'static [Column] = &[
        Column::left("address", 7),
        Column::left("chip", 20),
        Column::left("expected", 8),
        Column::left("actual", 6),
        Column::left("status", 0),
    ];

    fn cells(&self) -> Vec<String> {
        vec![
            self.address.clone(),
            self.chip.into(),
            self.expected.clone(),
            self.actual.clone(),
            self.status.clone(),
        ]
    }
}

/// `--raw`: the registers and calibration behind a reading.
#[derive(Serialize)]
struct RawRow {
    reading: Reading,
    raw: RawSample,
}

impl Row for RawRow {
    const COLUMNS: &'static [Column] = &[
        Column::right("seq", 5),
        Column::left("HTS221 H_OUT/T_OUT (calibration)", 30),
        Column::left("LPS25H P_OUT/T_OUT", 18),
        Column::left("LSM9DS1 accel/gyro/mag", 24),
        Column::left("converted", 0),
    ];

    fn cells(&self) -> Vec<String> {
        let r = &self.reading;
        let hts = self.raw.hts221.as_ref().map_or_else(
            || "-".into(),
            |h| {
                let c = &h.calibration;
                format!(
                    "{}/{} (H0 {} H1 {} T0 {} T1 {}; {}/{} {}/{})",
                    h.humidity_out,
                    h.temp_out,
                    c.h0_rh,
                    c.h1_rh,
                    c.t0_degc,
                    c.t1_degc,
                    c.h0_t0_out,
                    c.h1_t0_out,
                    c.t0_out,
                    c.t1_out
                )
            },
        );
        let lps = self
            .raw
            .lps25h
            .as_ref()
            .map_or_else(|| "-".into(), |l| format!("{}/{}", l.press_out, l.temp_out));
        let imu = self.raw.lsm9ds1.as_ref().map_or_else(
            || "-".into(),
            |m| format!("{:?} {:?} {:?}", m.accel, m.gyro, m.mag.unwrap_or_default()),
        );
        let converted = format!(
            "{} °C, {} %, {} hPa",
            number(r.temperature_c, 2),
            number(r.humidity_pct, 2),
            number(r.pressure_hpa, 2)
        );
        vec![r.seq.to_string(), hts, lps, imu, converted]
    }
}

pub fn run(ctx: &mut Context, args: &SenseArgs) -> anyhow::Result<Exit> {
    let config = ctx.config(args.overrides())?.config;
    let every = config.sense.every;

    if args.probe {
        let mut bus = sense::open_bus(config.sense.bus)?;
        let mut records = ctx.output.records::<ProbeRow>(false);
        for row in sense::hat::probe(&mut bus) {
            records.write(&row)?;
        }
        records.finish()?;
        return Ok(Exit::Ok);
    }

    // Hardware is paced; the simulator and recordings only when asked to be, so
    // `sense --sim --count 1000` is instant and still spaced in simulated time.
    let paced = (!args.sim && args.replay.is_none()) || args.every.is_some();
    let default_count = if args.replay.is_some() || args.every.is_some() {
        None
    } else {
        Some(1)
    };
    let count = args.count.or(default_count);
    let live = paced && count != Some(1);
    let started = Instant::now();
    let pace = |taken: u64| {
        if paced && taken > 0 {
            // A fixed schedule, so intervals do not drift with the read time.
            let due = started + every.saturating_mul(u32::try_from(taken).unwrap_or(u32::MAX));
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
    };

    if args.raw {
        let mut hat = sense::open_hardware(config.sense.bus, HatOptions::from_config(&config))?;
        let mut records = ctx.output.records::<RawRow>(live);
        let mut taken = 0;
        while count.is_none_or(|n| taken < n) {
            pace(taken);
            let reading = hat.next_reading()?;
            records.write(&RawRow {
                reading,
                raw: hat.last_raw.clone(),
            })?;
            taken += 1;
        }
        records.finish()?;
        return Ok(Exit::Ok);
    }

    // The next reading, or None when a recording ends.
    let mut next: Box<dyn FnMut() -> Option<Result<Reading, SenseError>>> = if args.sim {
        let mut sim = Sim::new(SimOptions::run(
            config.device_id.clone(),
            args.seed,
            args.start.unwrap_or_else(OffsetDateTime::now_utc),
            every,
            args.imu,
        ));
        Box::new(move || Some(sim.next_reading()))
    } else if let Some(path) = &args.replay {
        let mut replay = Replay::open(path)?;
        Box::new(move || replay.next())
    } else {
        let mut hat = sense::open_hardware(config.sense.bus, HatOptions::from_config(&config))?;
        Box::new(move || Some(hat.next_reading()))
    };

    let mut records = ctx.output.records::<ReadingRow>(live);
    let mut taken: u64 = 0;
    while count.is_none_or(|n| taken < n) {
        pace(taken);
        let Some(reading) = next() else { break };
        let reading = reading?;
        records.write(&ReadingRow(reading))?;
        taken += 1;
    }
    records.finish()?;
    Ok(Exit::Ok)
}
