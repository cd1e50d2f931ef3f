//! The simulated Sense HAT: deterministic, plausible readings without hardware.
//!
//! Values are a pure function of the seed and the simulated clock (`seq` steps
//! of `step`), never of the wall clock, so a seed reproduces the same numbers
//! whenever it runs. Temperature follows a daily cycle plus slow weather and
//! sensor noise; humidity moves against temperature; pressure drifts and
//! reverts like weather does. The IMU (optional) is a board at rest on a desk.

use std::f64::consts::TAU;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use time::OffsetDateTime;

use super::{SenseError, Source, round};
use crate::payload::Reading;

const DAY_SECS: f64 = 86_400.0;

/// What to simulate.
#[derive(Debug, Clone)]
pub struct SimOptions {
    pub seed: u64,
    pub device_id: String,
    pub run_id: String,
    /// Time of reading 0; reading n is stamped `start + n * step`.
    pub start: OffsetDateTime,
    pub step: Duration,
    pub imu: bool,
}

impl SimOptions {
    /// A new run of `device_id` from `start`, every `step`: with `seed`, or a
    /// random one (logged, so that the values can be had again).
    pub fn run(
        device_id: String,
        seed: Option<u64>,
        start: OffsetDateTime,
        step: Duration,
        imu: bool,
    ) -> SimOptions {
        let seed = seed.unwrap_or_else(|| uuid::Uuid::new_v4().as_u64_pair().0);
        tracing::info!(
            seed,
            "simulating; pass --seed {seed} to reproduce these values"
        );
        SimOptions {
            seed,
            device_id,
            run_id: crate::payload::new_run_id(),
            start,
            step,
            imu,
        }
    }
}

pub struct Sim {
    opts: SimOptions,
    rng: ChaCha8Rng,
    seq: u64,
    /// Fraction of the day at reading 0, so seeds start at different hours.
    day_phase: f64,
    mean_temp: f64,
    /// Mean-reverting weather offsets.
    temp_weather: f64,
    humidity_weather: f64,
    pressure_weather: f64,
    heading: f64,
}

impl Sim {
    pub fn new(opts: SimOptions) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
        let day_phase = rng.random::<f64>();
        let mean_temp = 18.0 + 6.0 * rng.random::<f64>();
        let heading = rng.random::<f64>() * TAU;
        Sim {
            opts,
            rng,
            seq: 0,
            day_phase,
            mean_temp,
            temp_weather: 0.0,
            humidity_weather: 0.0,
            pressure_weather: 0.0,
            heading,
        }
    }

    fn gauss(&mut self, sigma: f64) -> f64 {
        let z: f64 = StandardNormal.sample(&mut self.rng);
        z * sigma
    }

    /// One mean-reverting step (Ornstein-Uhlenbeck) scaled to the step length,
    /// so a 1 s and a 1 min simulation wander alike over the same hours.
    fn wander(&mut self, current: f64, revert_secs: f64, sigma_per_hour: f64) -> f64 {
        let dt = self.opts.step.as_secs_f64();
        let noise = self.gauss(sigma_per_hour * (dt / 3600.0).sqrt());
        current - current * (dt / revert_secs).min(1.0) + noise
    }
}

impl Source for Sim {
    fn next_reading(&mut self) -> Result<Reading, SenseError> {
        let seq = self.seq;
        let elapsed = self.opts.step.as_secs_f64() * seq as f64;
        let offset_ns = self.opts.step.as_nanos().saturating_mul(u128::from(seq));
        let at = i64::try_from(offset_ns)
            .ok()
            .and_then(|ns| self.opts.start.checked_add(time::Duration::nanoseconds(ns)))
            .filter(|at| at.year() <= 9999)
            .ok_or(SenseError::ClockOverflow { seq })?;
        let day = (self.day_phase + elapsed / DAY_SECS).fract();
        // Warmest mid-afternoon (15:00), coolest before dawn.
        let daily = 3.0 * (TAU * (day - 0.375)).cos();

        self.temp_weather = self.wander(self.temp_weather, 6.0 * 3600.0, 0.6);
        self.humidity_weather = self.wander(self.humidity_weather, 4.0 * 3600.0, 2.0);
        self.pressure_weather = self.wander(self.pressure_weather, 3.0 * DAY_SECS, 0.8);

        let temperature = self.mean_temp + daily + self.temp_weather + self.gauss(0.04);
        let humidity = (45.0 - 2.2 * (temperature - self.mean_temp)
            + self.humidity_weather
            + self.gauss(0.25))
        .clamp(5.0, 95.0);
        let pressure = 1013.25 + self.pressure_weather + self.gauss(0.015);
        // The LPS25H sits closer to the CPU and reads a little warmer.
        let temperature_from_pressure = temperature + 0.6 + self.gauss(0.05);

        let mut reading = Reading::empty(&self.opts.device_id, &self.opts.run_id, seq, at);
        reading.temperature_c = Some(round(temperature, 2));
        reading.humidity_pct = Some(round(humidity, 2));
        reading.pressure_hpa = Some(round(pressure, 2));
        reading.temperature_from_pressure_c = Some(round(temperature_from_pressure, 2));
        if self.opts.imu {
            self.add_imu(&mut reading);
        }
        self.seq += 1;
        Ok(reading)
    }
}

impl Sim {
    fn add_imu(&mut self, reading: &mut Reading) {
        let accel = [
            self.gauss(0.004),
            self.gauss(0.004),
            1.0 + self.gauss(0.004),
        ];
        let gyro = [self.gauss(0.15), self.gauss(0.15), self.gauss(0.15)];
        // Earth's field at mid latitudes: ~20 uT horizontal, ~44 uT down.
        let mag = [
            20.0 * self.heading.cos() + self.gauss(0.3),
            -20.0 * self.heading.sin() + self.gauss(0.3),
            -44.0 + self.gauss(0.3),
        ];
        super::fill_imu(reading, accel, gyro, Some(mag));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sim(seed: u64, imu: bool) -> Sim {
        Sim::new(SimOptions {
            seed,
            device_id: "dev".into(),
            run_id: "run".into(),
            start: time::macros::datetime!(2026-01-01 00:00 UTC),
            step: Duration::from_secs(60),
            imu,
        })
    }

    fn take(seed: u64, n: usize, imu: bool) -> Vec<Reading> {
        let mut s = sim(seed, imu);
        (0..n).map(|_| s.next_reading().unwrap()).collect()
    }

    #[test]
    fn same_seed_same_readings_other_seed_other_readings() {
        assert_eq!(take(7, 50, true), take(7, 50, true));
        assert_ne!(take(7, 50, false), take(8, 50, false));
    }

    #[test]
    fn readings_are_valid_and_plausible_over_two_days() {
        let readings = take(3, 2 * 24 * 60, true);
        let temps: Vec<f64> = readings.iter().map(|r| r.temperature_c.unwrap()).collect();
        let (lo, hi) = temps
            .iter()
            .fold((f64::MAX, f64::MIN), |(l, h), t| (l.min(*t), h.max(*t)));
        assert!(hi - lo > 3.0 && hi - lo < 15.0, "daily swing {lo}..{hi}");
        for (i, r) in readings.iter().enumerate() {
            r.validate().unwrap();
            assert_eq!(r.seq, i as u64);
            assert!((950.0..1080.0).contains(&r.pressure_hpa.unwrap()), "{r:?}");
        }
        assert_eq!(readings[1].ts, "2026-01-01T00:01:00.000Z");
    }

    #[test]
    fn humidity_moves_against_temperature() {
        let readings = take(11, 24 * 60, false);
        let n = readings.len() as f64;
        let t: Vec<f64> = readings.iter().map(|r| r.temperature_c.unwrap()).collect();
        let h: Vec<f64> = readings.iter().map(|r| r.humidity_pct.unwrap()).collect();
        let (mt, mh) = (t.iter().sum::<f64>() / n, h.iter().sum::<f64>() / n);
        let cov: f64 = t.iter().zip(&h).map(|(a, b)| (a - mt) * (b - mh)).sum();
        assert!(cov < 0.0, "covariance {cov}");
    }

    #[test]
    fn imu_is_optional() {
        assert!(take(1, 1, false)[0].accel_x_g.is_none());
        let r = &take(1, 1, true)[0];
        assert!(r.accel_z_g.unwrap() > 0.9 && r.yaw_deg.is_some());
    }
}
