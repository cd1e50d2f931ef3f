//! Reading raw objects: gzip or plain, JSON lines or `}{`-concatenated, each
//! value a schema v1 reading or a line kept aside with its reason; objects are
//! parsed on the runtime's blocking threads.

use crate::compact::CompactError;
use crate::payload::Reading;

/// One row ready for Parquet, in 160 bytes rather than a `Reading`'s 368: its
/// ids are an index into its object's (then its batch's) runs, and an absent
/// measurement is NaN (a stored value is finite).
pub(super) struct ParsedRow {
    pub(super) seq: u64,
    pub(super) millis: i64,
    /// Which `(device_id, run_id)`: of the object's `runs` once parsed, of the
    /// batch's once routed.
    pub(super) run: u32,
    pub(super) values: [f64; MEASUREMENTS],
}

/// How many measurements a reading has.
pub(super) const MEASUREMENTS: usize = 17;

/// One raw object, decoded: its valid rows (with their UTC day), the lines
/// that are not schema v1 (or not JSON), or why it cannot be read at all.
pub(super) struct ParsedObject {
    /// With the UTC day of each (days since 1970-01-01).
    pub(super) rows: Vec<(ParsedRow, i64)>,
    /// The `(device_id, run_id)` pairs the rows name (usually one).
    pub(super) runs: Vec<(String, String)>,
    pub(super) rows_in: u64,
    pub(super) invalid: Vec<u8>,
    pub(super) invalid_count: u64,
    /// Not even decodable (bad gzip): the whole object is set aside.
    pub(super) unreadable: Option<String>,
    /// What "now" is for the days a reading may have.
    now: time::OffsetDateTime,
}

/// Why an object cannot be compacted as it is (unreadable, or rows that are
/// not schema v1); None when every row is a reading.
pub fn problem(body: &[u8]) -> Option<String> {
    let parsed = parse_object("", body);
    parsed.unreadable.or_else(|| {
        (parsed.invalid_count > 0)
            .then(|| format!("{} rows are not schema v1", parsed.invalid_count))
    })
}

fn parse_object(key: &str, body: &[u8]) -> ParsedObject {
    let mut parsed = ParsedObject {
        rows: Vec::new(),
        runs: Vec::new(),
        rows_in: 0,
        invalid: Vec::new(),
        invalid_count: 0,
        unreadable: None,
        now: time::OffsetDateTime::now_utc(),
    };
    let data = match crate::store::content::decode(body) {
        Ok(data) => data,
        Err(e) => {
            parsed.unreadable = Some(format!("cannot be decoded: {e}"));
            return parsed;
        }
    };
    // A line per reading, as a rule: room for them all at once.
    parsed
        .rows
        .reserve(data.iter().filter(|b| **b == b'\n').count() + 1);
    // The common case, every value a reading: one pass, nothing copied.
    let mut clean = true;
    for reading in serde_json::Deserializer::from_slice(&data).into_iter::<Reading>() {
        match reading {
            Ok(reading) => parsed.accept(key, reading, None),
            Err(_) => {
                clean = false;
                break;
            }
        }
    }
    if clean {
        return parsed;
    }
    // Poison somewhere: start over, value by value.
    parsed.rows.clear();
    parsed.rows_in = 0;
    parsed.invalid.clear();
    parsed.invalid_count = 0;
    let whole: Result<Vec<Box<serde_json::value::RawValue>>, _> =
        serde_json::Deserializer::from_slice(&data)
            .into_iter::<Box<serde_json::value::RawValue>>()
            .collect();
    match whole {
        Ok(values) => {
            for raw in values {
                parsed.add(key, raw.get());
            }
        }
        // Poison inside: go line by line, so that one bad line costs only itself.
        Err(_) => {
            for line in data.split(|b| *b == b'\n') {
                let mut values = serde_json::Deserializer::from_slice(line)
                    .into_iter::<Box<serde_json::value::RawValue>>();
                for raw in values.by_ref() {
                    match raw {
                        Ok(raw) => parsed.add(key, raw.get()),
                        Err(e) => {
                            let rest = String::from_utf8_lossy(line).into_owned();
                            parsed.reject(key, &format!("not JSON: {e}"), &rest);
                            break;
                        }
                    }
                }
            }
        }
    }
    parsed
}

impl ParsedObject {
    /// One JSON value: a row if it is a schema v1 reading, else set aside.
    fn add(&mut self, key: &str, raw: &str) {
        match serde_json::from_str::<Reading>(raw) {
            Ok(reading) => self.accept(key, reading, Some(raw)),
            Err(e) => self.reject(key, &e.to_string(), raw),
        }
    }

    /// A parsed reading (`raw`: its text, when at hand): a row if its values
    /// are valid, else set aside.
    fn accept(&mut self, key: &str, reading: Reading, raw: Option<&str>) {
        match reading.stored_time(self.now) {
            Ok(at) => {
                let millis = (at.unix_timestamp_nanos() / 1_000_000) as i64;
                let day = at.unix_timestamp().div_euclid(86_400);
                self.rows_in += 1;
                let mut values = [f64::NAN; MEASUREMENTS];
                for (value, (_, measured)) in values.iter_mut().zip(reading.measurements()) {
                    if let Some(measured) = measured {
                        *value = measured;
                    }
                }
                let seq = reading.seq;
                let run = self.run_of(reading.device_id, reading.run_id);
                let row = ParsedRow {
                    seq,
                    millis,
                    run,
                    values,
                };
                self.rows.push((row, day));
            }
            Err(invalid) => {
                let reason = invalid.to_string();
                match raw {
                    Some(raw) => self.reject(key, &reason, raw),
                    None => {
                        let text = serde_json::to_string(&reading).unwrap_or_default();
                        self.reject(key, &reason, &text);
                    }
                }
            }
        }
    }

    /// The index of a run among the object's, added if new.
    fn run_of(&mut self, device_id: String, run_id: String) -> u32 {
        // Nearly always the last one: an object is one device's run or two.
        let found = self
            .runs
            .iter()
            .rposition(|(device, run)| *device == device_id && *run == run_id);
        let at = found.unwrap_or_else(|| {
            self.runs.push((device_id, run_id));
            self.runs.len() - 1
        });
        u32::try_from(at).unwrap_or(u32::MAX)
    }

    /// A line or value kept aside with the reason.
    fn reject(&mut self, key: &str, reason: &str, payload: &str) {
        self.rows_in += 1;
        self.invalid_count += 1;
        let line = serde_json::json!({"object": key, "reason": reason, "payload": payload});
        self.invalid.extend_from_slice(line.to_string().as_bytes());
        self.invalid.push(b'\n');
    }
}

/// Objects being parsed on the runtime's blocking threads, which live on from
/// one window to the next (a thread per window left the allocator with memory
/// spread over arenas it never returned).
pub(super) type Parsing =
    Vec<tokio::task::JoinHandle<Result<(String, Vec<u8>, ParsedObject), tokio::task::JoinError>>>;

/// Starts parsing `bodies`, at most `permits` at once: the next window may be
/// queued while this one is routed, but no more objects are inflated at a
/// time than there are threads to parse them.
pub(super) fn parse_in_background(
    bodies: Vec<(String, Vec<u8>)>,
    permits: &std::sync::Arc<tokio::sync::Semaphore>,
) -> Parsing {
    bodies
        .into_iter()
        .map(|(key, body)| {
            let permits = permits.clone();
            tokio::spawn(async move {
                let _permit = permits.acquire_owned().await;
                tokio::task::spawn_blocking(move || {
                    let parsed = parse_object(&key, &body);
                    (key, body, parsed)
                })
                .await
            })
        })
        .collect()
}

/// The parsed objects, in their order.
pub(super) async fn parsed(
    parsing: Parsing,
) -> Result<Vec<(String, Vec<u8>, ParsedObject)>, CompactError> {
    let panicked = || CompactError::Engine("a parsing thread panicked".into());
    let mut out = Vec::with_capacity(parsing.len());
    for task in parsing {
        out.push(
            task.await
                .map_err(|_| panicked())?
                .map_err(|_| panicked())?,
        );
    }
    Ok(out)
}
