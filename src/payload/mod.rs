//! The payload schema v1: one flat JSON object per reading, shared by every stage.
//!
//! Flat on purpose, so Athena, QuickSight and DuckDB read it without nested
//! types. Sensors that are absent are omitted, never written as zero.
//! The schema is documented in `docs/payload.md`.

pub mod ranges;

pub use ranges::KeyRanges;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub const SCHEMA_VERSION: u32 = 1;

/// Longest accepted `device_id` / `run_id` (the IoT Core client id limit).
pub const MAX_ID_LEN: usize = 128;
/// The largest `seq`: Parquet's and Athena's `bigint` is signed.
pub const MAX_SEQ: u64 = i64::MAX as u64;
/// The first day a stored reading may have (UTC); also where the compacted
/// table's partition projection starts.
pub const EARLIEST_DAY: &str = "2000-01-01";
const EARLIEST: time::Date = time::macros::date!(2000 - 01 - 01);
/// How many days past today (UTC) a stored reading may be: a clock a little
/// ahead, or a reading taken just before midnight somewhere ahead of UTC.
pub const DAYS_AHEAD: i64 = 1;

/// The dedup key of a reading: one reading, one row.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ReadingKey {
    pub device_id: String,
    pub run_id: String,
    pub seq: u64,
}

impl ReadingKey {
    /// The key of a JSON payload, if it has one (the rest is not checked).
    pub fn of(payload: &[u8]) -> Option<ReadingKey> {
        serde_json::from_slice(payload).ok()
    }
}

impl std::fmt::Display for ReadingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} run {} seq {}", self.device_id, self.run_id, self.seq)
    }
}

/// One reading. Field order is the order of the JSON keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reading {
    pub v: u32,
    pub device_id: String,
    pub run_id: String,
    pub seq: u64,
    /// RFC 3339 UTC with milliseconds, e.g. `2026-11-26T14:07:40.123Z`.
    pub ts: String,

    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature_c: Option<f64>,
    /// Uncorrected HTS221 temperature, present only when CPU-heat correction is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature_raw_c: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub humidity_pct: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pressure_hpa: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature_from_pressure_c: Option<f64>,

    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accel_x_g: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accel_y_g: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accel_z_g: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gyro_x_dps: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gyro_y_dps: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gyro_z_dps: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mag_x_ut: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mag_y_ut: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mag_z_ut: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pitch_deg: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roll_deg: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub yaw_deg: Option<f64>,
}

/// Why a payload is not schema v1. The text goes into `rejected/` objects.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Invalid {
    #[error("not schema v1 JSON: {0}")]
    Json(String),
    #[error("unsupported schema version v={0} (this iotpipe reads v=1)")]
    Version(u32),
    #[error("`{field}` {problem}")]
    Field {
        field: &'static str,
        problem: String,
    },
}

/// Plausible bounds per measured field: the sensors' datasheet ranges, widened a
/// little. A value outside them is a broken sensor or a unit mix-up, not weather.
const BOUNDS: [(&str, f64, f64); 17] = [
    ("temperature_c", -60.0, 150.0),
    ("temperature_raw_c", -60.0, 150.0),
    ("humidity_pct", 0.0, 100.0),
    ("pressure_hpa", 200.0, 1300.0),
    ("temperature_from_pressure_c", -60.0, 150.0),
    ("accel_x_g", -16.0, 16.0),
    ("accel_y_g", -16.0, 16.0),
    ("accel_z_g", -16.0, 16.0),
    ("gyro_x_dps", -2000.0, 2000.0),
    ("gyro_y_dps", -2000.0, 2000.0),
    ("gyro_z_dps", -2000.0, 2000.0),
    ("mag_x_ut", -1600.0, 1600.0),
    ("mag_y_ut", -1600.0, 1600.0),
    ("mag_z_ut", -1600.0, 1600.0),
    ("pitch_deg", -180.0, 180.0),
    ("roll_deg", -180.0, 180.0),
    ("yaw_deg", -180.0, 360.0),
];

/// The measured fields with their plausible range, in schema order (the
/// Athena engine checks readings with the same bounds).
pub fn measurement_bounds() -> [(&'static str, f64, f64); 17] {
    BOUNDS
}

/// The measured fields, in schema order (the Parquet and Athena columns).
pub fn measurement_names() -> [&'static str; 17] {
    BOUNDS.map(|(name, _, _)| name)
}

impl Reading {
    /// A reading with its identity and time and no measurements yet.
    pub fn empty(device_id: &str, run_id: &str, seq: u64, at: OffsetDateTime) -> Reading {
        Reading {
            v: SCHEMA_VERSION,
            device_id: device_id.to_string(),
            run_id: run_id.to_string(),
            seq,
            ts: format_ts(at),
            temperature_c: None,
            temperature_raw_c: None,
            humidity_pct: None,
            pressure_hpa: None,
            temperature_from_pressure_c: None,
            accel_x_g: None,
            accel_y_g: None,
            accel_z_g: None,
            gyro_x_dps: None,
            gyro_y_dps: None,
            gyro_z_dps: None,
            mag_x_ut: None,
            mag_y_ut: None,
            mag_z_ut: None,
            pitch_deg: None,
            roll_deg: None,
            yaw_deg: None,
        }
    }

    /// `(device_id, run_id, seq)`: what makes a reading itself, for dedup.
    pub fn key(&self) -> ReadingKey {
        ReadingKey {
            device_id: self.device_id.clone(),
            run_id: self.run_id.clone(),
            seq: self.seq,
        }
    }

    /// Parses and validates one payload.
    pub fn parse(bytes: &[u8]) -> Result<Reading, Invalid> {
        let reading = Self::decode(bytes)?;
        reading.validate()?;
        Ok(reading)
    }

    /// Parses one payload and checks it can be stored at `now`
    /// ([`Reading::stored_time`], which validates it too).
    pub fn parse_stored(bytes: &[u8], now: OffsetDateTime) -> Result<Reading, Invalid> {
        let reading = Self::decode(bytes)?;
        reading.stored_time(now)?;
        Ok(reading)
    }

    fn decode(bytes: &[u8]) -> Result<Reading, Invalid> {
        serde_json::from_slice(bytes).map_err(|e| Invalid::Json(shorten(e.to_string())))
    }

    /// Checks what serde's types cannot: version, ids, timestamp, value ranges.
    pub fn validate(&self) -> Result<(), Invalid> {
        self.validated_time().map(|_| ())
    }

    /// Validates the reading and returns its time, parsing `ts` once.
    pub fn validated_time(&self) -> Result<OffsetDateTime, Invalid> {
        if self.v != SCHEMA_VERSION {
            return Err(Invalid::Version(self.v));
        }
        check_id("device_id", &self.device_id)?;
        check_id("run_id", &self.run_id)?;
        if self.seq > MAX_SEQ {
            return Err(Invalid::Field {
                field: "seq",
                problem: format!(
                    "= {} is above {MAX_SEQ}, the largest Parquet and Athena store (a signed \
                     64-bit integer)",
                    self.seq
                ),
            });
        }
        let at = parse_ts(&self.ts).map_err(|problem| Invalid::Field {
            field: "ts",
            problem,
        })?;
        // BOUNDS lists the measurements in schema order (checked by a test).
        for ((field, value), &(_, lo, hi)) in self.measurements().into_iter().zip(BOUNDS.iter()) {
            let Some(value) = value else { continue };
            if !value.is_finite() {
                return Err(Invalid::Field {
                    field,
                    problem: "is not a finite number".into(),
                });
            }
            if !(lo..=hi).contains(&value) {
                return Err(Invalid::Field {
                    field,
                    problem: format!("= {value} is outside the plausible range {lo}..{hi}"),
                });
            }
        }
        Ok(at)
    }

    /// Validates the reading for storage at `now` and returns its time in
    /// UTC: also its UTC day from [`EARLIEST_DAY`] to the day after `now`'s,
    /// the days the compacted table shows (its partition projection). Outside
    /// them a device's clock is wrong, and a row written there would be in no
    /// query's answer. The sink and both compaction engines apply this rule.
    pub fn stored_time(&self, now: OffsetDateTime) -> Result<OffsetDateTime, Invalid> {
        let at = self.validated_time()?.to_offset(time::UtcOffset::UTC);
        let day = at.date();
        let latest =
            (now.to_offset(time::UtcOffset::UTC) + time::Duration::days(DAYS_AHEAD)).date();
        let problem = if day < EARLIEST {
            format!(
                "= {} is before {EARLIEST_DAY}: the device's clock was not set (no network \
                 time yet?)",
                self.ts
            )
        } else if day > latest {
            format!(
                "= {} is more than a day ahead of now ({}): the device's clock is wrong",
                self.ts,
                format_ts(now)
            )
        } else {
            return Ok(at);
        };
        Err(Invalid::Field {
            field: "ts",
            problem,
        })
    }

    /// The measured fields by name, present or not, in schema order.
    pub fn measurements(&self) -> [(&'static str, Option<f64>); 17] {
        [
            ("temperature_c", self.temperature_c),
            ("temperature_raw_c", self.temperature_raw_c),
            ("humidity_pct", self.humidity_pct),
            ("pressure_hpa", self.pressure_hpa),
            (
                "temperature_from_pressure_c",
                self.temperature_from_pressure_c,
            ),
            ("accel_x_g", self.accel_x_g),
            ("accel_y_g", self.accel_y_g),
            ("accel_z_g", self.accel_z_g),
            ("gyro_x_dps", self.gyro_x_dps),
            ("gyro_y_dps", self.gyro_y_dps),
            ("gyro_z_dps", self.gyro_z_dps),
            ("mag_x_ut", self.mag_x_ut),
            ("mag_y_ut", self.mag_y_ut),
            ("mag_z_ut", self.mag_z_ut),
            ("pitch_deg", self.pitch_deg),
            ("roll_deg", self.roll_deg),
            ("yaw_deg", self.yaw_deg),
        ]
    }

    /// The reading's time; `validate` guarantees it parses.
    pub fn timestamp(&self) -> Result<OffsetDateTime, Invalid> {
        parse_ts(&self.ts).map_err(|problem| Invalid::Field {
            field: "ts",
            problem,
        })
    }

    pub fn to_json(&self) -> String {
        // Serializing plain strings and finite floats cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// serde lists every known field after an unknown one; the field name is enough.
fn shorten(message: String) -> String {
    match (
        message.find(", expected one of"),
        message.rfind(" at line "),
    ) {
        (Some(cut), Some(at)) if message.starts_with("unknown field") => {
            format!("{}{}", &message[..cut], &message[at..])
        }
        _ => message,
    }
}

fn check_id(field: &'static str, id: &str) -> Result<(), Invalid> {
    let problem = if id.is_empty() {
        "is empty".to_string()
    } else if id.len() > MAX_ID_LEN {
        format!("is {} bytes long (at most {MAX_ID_LEN})", id.len())
    } else if id.chars().any(char::is_control) {
        "contains control characters".to_string()
    } else {
        return Ok(());
    };
    Err(Invalid::Field { field, problem })
}

/// A reading's `ts`: RFC 3339, as [`format_ts`] writes it.
pub fn parse_ts(ts: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(ts, &Rfc3339)
        .map_err(|e| format!("= {ts:?} is not an RFC 3339 timestamp ({e})"))
}

/// Formats a time as the payload's `ts`: RFC 3339, UTC, milliseconds.
pub fn format_ts(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    at.format(&format).unwrap_or_default()
}

/// Keeps `at` as `device`'s time in `times` if it is later than the one kept.
/// Times are [`format_ts`]'s: UTC with a fixed width, so text order is time order.
pub fn keep_latest(times: &mut std::collections::BTreeMap<String, String>, device: &str, at: &str) {
    match times.get_mut(device) {
        Some(kept) if kept.as_str() >= at => {}
        Some(kept) => *kept = at.to_string(),
        None => {
            times.insert(device.to_string(), at.to_string());
        }
    }
}

/// A fresh run id: random per process start, so `(device_id, run_id, seq)` is unique.
pub fn new_run_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// A payload line of any bytes is a reading or a reason, never a panic;
        /// a reading prints as JSON that parses to the same reading.
        #[test]
        fn any_payload_line_parses_or_is_refused(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(reading) = Reading::parse(&bytes) {
                prop_assert_eq!(Reading::parse(reading.to_json().as_bytes()).ok(), Some(reading));
            }
        }

        #[test]
        fn readings_with_any_field_values_parse_or_are_refused(
            seq in any::<i128>(),
            ts in "[0-9:TZ+.-]{0,30}",
            temperature in proptest::num::f64::ANY,
            device in ".{0,20}",
        ) {
            let line = format!(
                r#"{{"v":1,"device_id":{},"run_id":"r","seq":{seq},"ts":{},"temperature_c":{}}}"#,
                serde_json::to_string(&device).unwrap_or_default(),
                serde_json::to_string(&ts).unwrap_or_default(),
                if temperature.is_finite() { temperature.to_string() } else { "null".into() },
            );
            if let Ok(reading) = Reading::parse(line.as_bytes()) {
                prop_assert!(reading.timestamp().is_ok());
            }
        }
    }

    fn sample() -> Reading {
        Reading::parse(
            br#"{"v":1,"device_id":"pi","run_id":"r1","seq":0,"ts":"2026-11-26T14:07:40.123Z",
                "temperature_c":21.5,"humidity_pct":40.0,"pressure_hpa":1013.2}"#,
        )
        .unwrap()
    }

    #[test]
    fn stored_readings_are_in_utc_within_the_days_the_table_shows() {
        let now = time::macros::datetime!(2026-12-05 10:00 UTC);
        let at = |ts: &str| {
            let mut reading = sample();
            reading.ts = ts.into();
            reading.stored_time(now)
        };
        assert_eq!(
            at("2026-03-02T01:30:00.000+02:00").unwrap(),
            time::macros::datetime!(2026-03-01 23:30 UTC)
        );
        assert!(at("2000-01-01T00:00:00Z").is_ok());
        assert!(at("2026-12-06T23:59:59.999Z").is_ok(), "tomorrow");
        for (ts, says) in [
            ("1999-12-31T23:59:59Z", "before 2000-01-01"),
            ("1970-01-01T00:00:07Z", "clock was not set"),
            ("2026-12-07T00:00:00Z", "more than a day ahead"),
            // Its UTC day is the day after tomorrow.
            ("2026-12-06T23:30:00-01:00", "more than a day ahead"),
        ] {
            let error = at(ts).unwrap_err().to_string();
            assert!(error.contains(says), "{ts}: {error}");
        }
    }

    #[test]
    fn seq_stays_within_what_parquet_and_athena_store() {
        let line = |seq: &str| {
            format!(
                r#"{{"v":1,"device_id":"a","run_id":"r","seq":{seq},"ts":"2026-01-01T00:00:00Z"}}"#
            )
        };
        assert!(Reading::parse(line("9223372036854775807").as_bytes()).is_ok());
        let error = Reading::parse(line("9223372036854775808").as_bytes())
            .unwrap_err()
            .to_string();
        assert!(error.contains("above 9223372036854775807"), "{error}");
    }

    #[test]
    fn round_trips_and_omits_absent_sensors() {
        let json = sample().to_json();
        assert!(!json.contains("accel"), "{json}");
        assert_eq!(Reading::parse(json.as_bytes()).unwrap(), sample());
    }

    #[test]
    fn rejects_what_is_not_v1() {
        let cases: &[(&str, &str)] = &[
            ("not json", "not schema v1 JSON"),
            (
                r#"{"v":2,"device_id":"a","run_id":"r","seq":0,"ts":"2026-01-01T00:00:00Z"}"#,
                "v=2",
            ),
            (
                r#"{"v":1,"device_id":"","run_id":"r","seq":0,"ts":"2026-01-01T00:00:00Z"}"#,
                "`device_id` is empty",
            ),
            (
                r#"{"v":1,"device_id":"a","run_id":"r","seq":-1,"ts":"2026-01-01T00:00:00Z"}"#,
                "invalid value",
            ),
            (
                r#"{"v":1,"device_id":"a","run_id":"r","seq":0,"ts":"yesterday"}"#,
                "`ts`",
            ),
            (
                r#"{"v":1,"device_id":"a","run_id":"r","seq":0,"ts":"2026-01-01T00:00:00Z","humidity_pct":140}"#,
                "`humidity_pct`",
            ),
            (
                r#"{"v":1,"device_id":"a","run_id":"r","seq":0,"ts":"2026-01-01T00:00:00Z","temperature_c":"21"}"#,
                "invalid type",
            ),
            (
                r#"{"v":1,"device_id":"a","run_id":"r","seq":0,"ts":"2026-01-01T00:00:00Z","colour":1}"#,
                "unknown field",
            ),
            (
                r#"{"v":1,"device_id":"a","seq":0,"ts":"2026-01-01T00:00:00Z"}"#,
                "missing field `run_id`",
            ),
        ];
        for (payload, expected) in cases {
            let err = Reading::parse(payload.as_bytes()).unwrap_err().to_string();
            assert!(err.contains(expected), "{payload}: {err}");
        }
    }

    #[test]
    fn bounds_follow_the_measurements() {
        let names: Vec<&str> = sample().measurements().iter().map(|(n, _)| *n).collect();
        let bounded: Vec<&str> = BOUNDS.iter().map(|(n, _, _)| *n).collect();
        assert_eq!(names, bounded);
    }

    #[test]
    fn formats_ts_as_utc_millis() {
        let at = time::macros::datetime!(2026-11-26 15:07:40.123456 +01:00);
        assert_eq!(format_ts(at), "2026-11-26T14:07:40.123Z");
    }
}
