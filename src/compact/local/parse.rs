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

/// The big buffers of a batch, handed from one object to the next: an
/// object's inflated text and its parsed rows are megabytes each, and
/// allocating them anew for every object, on whichever thread parsed it, left
/// glibc's per-thread arenas holding the freed megabytes (peak RSS twice the
/// heap's peak). As many of each exist as objects are in flight.
#[derive(Default)]
pub(super) struct Buffers {
    text: std::sync::Mutex<Vec<Vec<u8>>>,
    rows: std::sync::Mutex<Vec<Vec<(ParsedRow, i64)>>>,
}

impl Buffers {
    fn text(&self) -> Vec<u8> {
        take_one(&self.text)
    }

    fn rows(&self) -> Vec<(ParsedRow, i64)> {
        take_one(&self.rows)
    }

    fn keep_text(&self, text: Vec<u8>) {
        keep_one(&self.text, text);
    }

    /// Takes back an object's rows once they are routed.
    pub(super) fn keep_rows(&self, rows: Vec<(ParsedRow, i64)>) {
        keep_one(&self.rows, rows);
    }
}

fn take_one<T>(pool: &std::sync::Mutex<Vec<Vec<T>>>) -> Vec<T> {
    pool.lock()
        .ok()
        .and_then(|mut pool| pool.pop())
        .unwrap_or_default()
}

fn keep_one<T>(pool: &std::sync::Mutex<Vec<Vec<T>>>, mut buffer: Vec<T>) {
    buffer.clear();
    if let Ok(mut pool) = pool.lock() {
        pool.push(buffer);
    }
}

/// Why an object cannot be compacted as it is (unreadable, or rows that are
/// not schema v1); None when every row is a reading.
pub fn problem(body: &[u8]) -> Option<String> {
    let parsed = parse_object("", body, &Buffers::default());
    parsed.unreadable.or_else(|| {
        (parsed.invalid_count > 0)
            .then(|| format!("{} rows are not schema v1", parsed.invalid_count))
    })
}

fn parse_object(key: &str, body: &[u8], buffers: &Buffers) -> ParsedObject {
    let mut parsed = ParsedObject::empty(buffers.rows());
    let mut text = buffers.text();
    let read = if crate::store::content::is_gzip(body) {
        let size = crate::store::content::gzip_size(body);
        parse_stream(
            key,
            flate2::read::MultiGzDecoder::new(body),
            size,
            &mut text,
            &mut parsed,
        )
    } else {
        parse_stream(key, body, Some(body.len()), &mut text, &mut parsed)
    };
    if let Err(e) = read {
        parsed.unreadable = Some(format!("cannot be decoded: {e}"));
    }
    buffers.keep_text(text);
    parsed
}

/// How much text is inflated and parsed at a time.
const CHUNK: usize = 1 << 20;

/// Inflates and parses an object a chunk of whole lines at a time, so that no
/// more than a chunk of its text is held; the first chunk that is not all
/// readings is read again with the rest of the object, value by value, as a
/// whole object would be (`size`: the text's size, when known, to make room
/// for its rows once).
fn parse_stream(
    key: &str,
    mut reader: impl std::io::Read,
    size: Option<usize>,
    text: &mut Vec<u8>,
    parsed: &mut ParsedObject,
) -> std::io::Result<()> {
    use std::io::Read;
    text.clear();
    let mut first = true;
    loop {
        let start = text.len();
        let read = (&mut reader).take(CHUNK as u64).read_to_end(text)?;
        let end_of_object = read < CHUNK;
        let whole_lines = match last_newline(&text[start..]) {
            _ if end_of_object => text.len(),
            Some(at) => start + at + 1,
            // No line ends in this chunk: read on.
            None => continue,
        };
        if first {
            first = false;
            // A line per reading, as a rule: room for them all at once.
            let lines = text[..whole_lines].iter().filter(|b| **b == b'\n').count() + 1;
            let expected = size.map_or(lines, |size| {
                (lines as u128 * size as u128 / whole_lines.max(1) as u128) as usize + 1
            });
            parsed.rows.reserve(expected);
        }
        if !parsed.readings(key, &text[..whole_lines]) {
            reader.read_to_end(text)?;
            parse_text(key, text, parsed);
            return Ok(());
        }
        if end_of_object {
            return Ok(());
        }
        text.drain(..whole_lines);
    }
}

/// Where the last `\n` of `bytes` is.
fn last_newline(bytes: &[u8]) -> Option<usize> {
    bytes.iter().rposition(|b| *b == b'\n')
}

/// Fills `parsed` from an object's text that is not all readings: value by
/// value, or line by line where a value is not even JSON.
fn parse_text(key: &str, data: &[u8], parsed: &mut ParsedObject) {
    let whole: Result<Vec<Box<serde_json::value::RawValue>>, _> =
        serde_json::Deserializer::from_slice(data)
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
}

impl ParsedObject {
    /// Nothing parsed yet; the rows go into `rows` (empty, maybe with room).
    fn empty(rows: Vec<(ParsedRow, i64)>) -> ParsedObject {
        ParsedObject {
            rows,
            runs: Vec::new(),
            rows_in: 0,
            invalid: Vec::new(),
            invalid_count: 0,
            unreadable: None,
            now: time::OffsetDateTime::now_utc(),
        }
    }

    /// The common case, every value of `data` a reading: one pass, nothing
    /// copied. False, with nothing of `data` kept, at the first value that is
    /// not a reading.
    fn readings(&mut self, key: &str, data: &[u8]) -> bool {
        let mark = (
            self.rows.len(),
            self.rows_in,
            self.invalid.len(),
            self.invalid_count,
        );
        for reading in serde_json::Deserializer::from_slice(data).into_iter::<Reading>() {
            match reading {
                Ok(reading) => self.accept(key, reading, None),
                Err(_) => {
                    self.rows.truncate(mark.0);
                    self.rows_in = mark.1;
                    self.invalid.truncate(mark.2);
                    self.invalid_count = mark.3;
                    return false;
                }
            }
        }
        true
    }

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
    buffers: &std::sync::Arc<Buffers>,
) -> Parsing {
    bodies
        .into_iter()
        .map(|(key, body)| {
            let permits = permits.clone();
            let buffers = buffers.clone();
            tokio::spawn(async move {
                let _permit = permits.acquire_owned().await;
                tokio::task::spawn_blocking(move || {
                    let parsed = parse_object(&key, &body, &buffers);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn line(seq: u64) -> String {
        format!(
            r#"{{"v":1,"device_id":"pi","run_id":"r","seq":{seq},"ts":"2026-01-01T00:00:00.000Z","temperature_c":{}.5}}"#,
            seq % 50
        )
    }

    /// Seqs, rows and rejected lines of `text` parsed in chunks (gzip and
    /// plain) and, for comparison, as one object's whole text.
    fn both_ways(text: &str) -> (Vec<u64>, u64, u64) {
        let buffers = Buffers::default();
        let plain = parse_object("k", text.as_bytes(), &buffers);
        let gzip = parse_object("k", &crate::store::content::gzip(text.as_bytes()), &buffers);
        let mut whole = ParsedObject::empty(Vec::new());
        if !whole.readings("k", text.as_bytes()) {
            parse_text("k", text.as_bytes(), &mut whole);
        }
        let seqs = |p: &ParsedObject| p.rows.iter().map(|(r, _)| r.seq).collect::<Vec<_>>();
        for chunked in [&plain, &gzip] {
            assert!(chunked.unreadable.is_none());
            assert_eq!(seqs(chunked), seqs(&whole));
            assert_eq!(chunked.rows_in, whole.rows_in);
            assert_eq!(chunked.invalid_count, whole.invalid_count);
            assert_eq!(chunked.invalid, whole.invalid);
        }
        (seqs(&plain), plain.rows_in, plain.invalid_count)
    }

    #[test]
    fn an_object_parsed_in_chunks_reads_as_a_whole_one() {
        let lines = CHUNK / line(0).len() * 3;
        let clean: String = (0..lines as u64).map(|s| line(s) + "\n").collect();
        let (seqs, rows_in, invalid) = both_ways(&clean);
        assert_eq!(seqs.len(), lines);
        assert_eq!((rows_in, invalid), (lines as u64, 0));

        // A bad value in the second chunk, a line that is not JSON in the third.
        let mut poisoned: Vec<String> = (0..lines as u64).map(line).collect();
        poisoned[lines - 10] = "{not json".into();
        let second = lines / 2;
        poisoned[second] = poisoned[second].replace(&format!("\"seq\":{second}"), "\"seq\":-5");
        let text: String = poisoned.iter().map(|l| l.clone() + "\n").collect();
        let (seqs, _, invalid) = both_ways(&text);
        assert_eq!(seqs.len(), lines - 2);
        assert_eq!(invalid, 2);

        // A reading spread over lines across a chunk boundary, and `}{` without newlines.
        let spread = line(1).replace(",", ",\n");
        let mut text: String = (0..(CHUNK / line(0).len()) as u64 - 2)
            .map(|s| line(s + 10) + "\n")
            .collect();
        text.push_str(&spread);
        text.push('\n');
        text.push_str(&(0..5).map(|s| line(s + 100_000)).collect::<String>());
        let (seqs, _, invalid) = both_ways(&text);
        assert!(seqs.contains(&1) && seqs.contains(&100_004), "{invalid}");
        assert_eq!(invalid, 0);
    }
}
