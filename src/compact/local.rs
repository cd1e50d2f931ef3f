//! The local compaction engine: reads a batch's raw objects (gzip or plain,
//! newline-delimited or `}{`-concatenated JSON), drops duplicate
//! `(device_id, run_id, seq)` — within the batch, and against what the day
//! already holds ([`super::day_index`]) — and writes one zstd Parquet file per
//! UTC day with typed columns (see docs/payload.md, "Compacted Parquet").
//!
//! Memory is bounded by settings, not by the batch: objects are fetched and
//! parsed a window at a time (two per thread), and the rows waiting to be
//! written, all days together, never exceed `row_group_rows`: the fullest
//! day's rows are then written out as a row group.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use arrow_array::builder::{
    Float64Builder, Int32Builder, Int64Builder, StringBuilder, TimestampMillisecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use super::{CompactError, Compaction, Compactor, Output, Progress, SetAside};
use crate::counter::Batch;
use crate::payload::Reading;
use crate::signal::Cancel;
use crate::store::{Store, StoreError};

pub struct LocalEngine {
    store: Arc<dyn Store>,
    threads: usize,
    row_group_rows: usize,
}

/// Rows per row group (and the most rows a day buffers) unless configured.
pub const ROW_GROUP_ROWS: usize = 16_384;

impl LocalEngine {
    /// `threads`: how many objects to parse at once (None: one per core).
    pub fn new(store: Arc<dyn Store>, threads: Option<usize>) -> LocalEngine {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        LocalEngine {
            store,
            threads: threads.unwrap_or(cores).max(1),
            row_group_rows: ROW_GROUP_ROWS,
        }
    }

    /// Rows per row group: what bounds the memory a day's rows take.
    pub fn with_row_group_rows(mut self, rows: usize) -> LocalEngine {
        self.row_group_rows = rows.max(1);
        self
    }
}

/// The Parquet schema of compacted readings.
pub fn schema() -> Arc<Schema> {
    let mut fields = vec![
        Field::new("v", DataType::Int32, false),
        Field::new("device_id", DataType::Utf8, false),
        Field::new("run_id", DataType::Utf8, false),
        Field::new("seq", DataType::Int64, false),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            false,
        ),
    ];
    fields.extend(
        crate::payload::measurement_names().map(|name| Field::new(name, DataType::Float64, true)),
    );
    Arc::new(Schema::new(fields))
}

/// One row ready for Parquet.
struct Row {
    reading: Reading,
    millis: i64,
}

fn to_record_batch(rows: &[Row]) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let n = rows.len();
    let mut v = Int32Builder::with_capacity(n);
    let mut device = StringBuilder::with_capacity(n, n * 12);
    let mut run = StringBuilder::with_capacity(n, n * 32);
    let mut seq = Int64Builder::with_capacity(n);
    let mut ts = TimestampMillisecondBuilder::with_capacity(n).with_timezone("UTC");
    let mut measured: Vec<Float64Builder> = (0..crate::payload::measurement_names().len())
        .map(|_| Float64Builder::with_capacity(n))
        .collect();
    for row in rows {
        let r = &row.reading;
        v.append_value(i32::try_from(r.v).unwrap_or(i32::MAX));
        device.append_value(&r.device_id);
        run.append_value(&r.run_id);
        seq.append_value(i64::try_from(r.seq).unwrap_or(i64::MAX));
        ts.append_value(row.millis);
        for (builder, (_, value)) in measured.iter_mut().zip(r.measurements()) {
            builder.append_option(value);
        }
    }
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(v.finish()),
        Arc::new(device.finish()),
        Arc::new(run.finish()),
        Arc::new(seq.finish()),
        Arc::new(ts.finish()),
    ];
    columns.extend(
        measured
            .iter_mut()
            .map(|b| Arc::new(b.finish()) as ArrayRef),
    );
    RecordBatch::try_new(schema(), columns)
}

fn engine_error(e: impl std::fmt::Display) -> CompactError {
    CompactError::Engine(e.to_string())
}

/// How each column is encoded: dictionaries (the default) for the ids and the
/// measurements, which repeat a few distinct values; deltas for the
/// ever-growing `seq` and `ts`.
fn writer_properties(row_group_rows: usize) -> WriterProperties {
    use parquet::basic::Encoding;
    use parquet::schema::types::ColumnPath;
    let mut props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).unwrap_or_default()))
        .set_max_row_group_size(row_group_rows)
        .set_created_by(format!("iotpipe {}", env!("CARGO_PKG_VERSION")));
    for name in ["seq", "ts"] {
        props = props
            .set_column_dictionary_enabled(ColumnPath::from(name), false)
            .set_column_encoding(ColumnPath::from(name), Encoding::DELTA_BINARY_PACKED);
    }
    props.build()
}

/// Encodes and compresses a day's row groups on a thread of its own, so that
/// the next objects are parsed meanwhile; at most one row group waits for it.
struct Encoder {
    batches: std::sync::mpsc::SyncSender<RecordBatch>,
    done: std::thread::JoinHandle<Result<Vec<u8>, CompactError>>,
}

impl Encoder {
    fn start(row_group_rows: usize) -> Result<Encoder, CompactError> {
        let mut writer = ArrowWriter::try_new(
            Vec::new(),
            schema(),
            Some(writer_properties(row_group_rows)),
        )
        .map_err(engine_error)?;
        let (batches, received) = std::sync::mpsc::sync_channel::<RecordBatch>(1);
        let done = std::thread::Builder::new()
            .name("iotpipe-encode".into())
            .spawn(move || {
                for batch in received {
                    writer.write(&batch).map_err(engine_error)?;
                    // Each batch is a row group: what is encoded leaves memory.
                    writer.flush().map_err(engine_error)?;
                }
                writer.into_inner().map_err(engine_error)
            })
            .map_err(engine_error)?;
        Ok(Encoder { batches, done })
    }

    fn finish(self) -> Result<Vec<u8>, CompactError> {
        drop(self.batches);
        self.done
            .join()
            .map_err(|_| CompactError::Engine("the Parquet encoder panicked".into()))?
    }
}

/// One day's output of a batch, written a row group at a time.
struct DayFile {
    /// `YYYY-MM-DD`
    day: String,
    /// What the day held before this batch (other batches, the other engine).
    elsewhere: super::day_index::KeyRanges,
    /// This batch's readings of the day, for the file's sidecar.
    ranges: super::day_index::KeyRanges,
    buffered: Vec<Row>,
    encoder: Option<Encoder>,
    rows: u64,
}

impl DayFile {
    /// Hands the buffered rows, sorted by time, to the encoder as a row group.
    fn flush(&mut self, row_group_rows: usize) -> Result<(), CompactError> {
        if self.buffered.is_empty() {
            return Ok(());
        }
        let mut rows = std::mem::take(&mut self.buffered);
        let order = |a: &Row, b: &Row| {
            (a.millis, &a.reading.device_id, a.reading.seq).cmp(&(
                b.millis,
                &b.reading.device_id,
                b.reading.seq,
            ))
        };
        // Objects arrive in time order: most row groups need no sorting.
        if !rows.is_sorted_by(|a, b| order(a, b).is_le()) {
            rows.sort_by(order);
        }
        let batch = to_record_batch(&rows).map_err(engine_error)?;
        drop(rows);
        let encoder = match &mut self.encoder {
            Some(encoder) => encoder,
            None => self.encoder.insert(Encoder::start(row_group_rows)?),
        };
        self.rows += batch.num_rows() as u64;
        if encoder.batches.send(batch).is_err() {
            // The encoder stopped on an error: finish() returns it.
            if let Some(encoder) = self.encoder.take() {
                encoder.finish()?;
            }
            return Err(CompactError::Engine("the Parquet encoder stopped".into()));
        }
        Ok(())
    }

    fn finish(
        mut self,
        row_group_rows: usize,
    ) -> Result<Option<(Vec<u8>, u64, super::day_index::KeyRanges)>, CompactError> {
        self.flush(row_group_rows)?;
        let Some(encoder) = self.encoder.take() else {
            return Ok(None);
        };
        let bytes = encoder.finish()?;
        let mut ranges = self.ranges;
        ranges.normalize();
        Ok(Some((bytes, self.rows, ranges)))
    }
}

/// `YYYY-MM-DD` of a day counted from 1970-01-01.
fn day_name(number: i64) -> String {
    let date = time::OffsetDateTime::UNIX_EPOCH.date() + time::Duration::days(number);
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        date.month() as u8,
        date.day()
    )
}

/// Small integer ids for repeated strings, so dedup keys need no allocation per row.
#[derive(Default)]
struct Interner {
    ids: std::collections::HashMap<String, u32, ahash::RandomState>,
    /// The last device and run asked for: consecutive readings share them.
    last: Option<(String, String, (u32, u32))>,
}

impl Interner {
    fn id(&mut self, text: &str) -> u32 {
        if let Some(id) = self.ids.get(text) {
            return *id;
        }
        let id = self.ids.len() as u32;
        self.ids.insert(text.to_string(), id);
        id
    }

    /// The ids of a device and run.
    fn pair(&mut self, device_id: &str, run_id: &str) -> (u32, u32) {
        if let Some((device, run, ids)) = &self.last
            && device == device_id
            && run == run_id
        {
            return *ids;
        }
        let ids = (self.id(device_id), self.id(run_id));
        self.last = Some((device_id.to_string(), run_id.to_string(), ids));
        ids
    }
}

/// One raw object, decoded: its valid rows (with their UTC day), the lines
/// that are not schema v1 (or not JSON), or why it cannot be read at all.
struct ParsedObject {
    /// With the UTC day of each (days since 1970-01-01).
    rows: Vec<(Row, i64)>,
    rows_in: u64,
    invalid: Vec<u8>,
    invalid_count: u64,
    /// Not even decodable (bad gzip): the whole object is set aside.
    unreadable: Option<String>,
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
        rows_in: 0,
        invalid: Vec::new(),
        invalid_count: 0,
        unreadable: None,
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
        match reading.validated_time() {
            Ok(at) => {
                let at = at.to_offset(time::UtcOffset::UTC);
                let millis = (at.unix_timestamp_nanos() / 1_000_000) as i64;
                let day = at.unix_timestamp().div_euclid(86_400);
                self.rows_in += 1;
                self.rows.push((Row { reading, millis }, day));
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
type Parsing = Vec<tokio::task::JoinHandle<(String, Vec<u8>, ParsedObject)>>;

fn parse_in_background(bodies: Vec<(String, Vec<u8>)>) -> Parsing {
    bodies
        .into_iter()
        .map(|(key, body)| {
            tokio::task::spawn_blocking(move || {
                let parsed = parse_object(&key, &body);
                (key, body, parsed)
            })
        })
        .collect()
}

/// The parsed objects, in their order.
async fn parsed(parsing: Parsing) -> Result<Vec<(String, Vec<u8>, ParsedObject)>, CompactError> {
    let mut out = Vec::with_capacity(parsing.len());
    for task in parsing {
        out.push(
            task.await
                .map_err(|_| CompactError::Engine("a parsing thread panicked".into()))?,
        );
    }
    Ok(out)
}

impl LocalEngine {
    /// Fetches a window of objects and starts parsing them; an object that is
    /// gone is set aside in `result`.
    async fn start_window(
        &self,
        window: &[String],
        result: &mut Compaction,
        progress: &Progress,
    ) -> Result<Parsing, CompactError> {
        let mut bodies = Vec::with_capacity(window.len());
        for key in window {
            let body = match self.store.get(key).await {
                Ok(body) => body,
                // Moved aside by hand, or deleted: the batch goes on without it.
                Err(StoreError::NotFound { .. }) => {
                    result.set_aside.push(SetAside {
                        key: key.clone(),
                        reason: "gone from the store (moved or deleted)".into(),
                        kept_at: None,
                    });
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            result.bytes_in += body.len() as u64;
            progress.object(body.len() as u64);
            bodies.push((key.clone(), body));
        }
        Ok(parse_in_background(bodies))
    }
}

#[async_trait::async_trait]
impl Compactor for LocalEngine {
    fn name(&self) -> &'static str {
        "local"
    }

    async fn compact(
        &self,
        batch: &Batch,
        progress: &Progress,
        // Nothing runs elsewhere to stop: the pipeline checks the lease before marking.
        _lost: &Cancel,
    ) -> Result<Compaction, CompactError> {
        let mut result = Compaction::default();
        let mut ids = Interner::default();
        let mut seen: HashSet<(u32, u32, u64), ahash::RandomState> = HashSet::default();
        let mut days: BTreeMap<i64, DayFile> = BTreeMap::new();
        // Rows waiting in the days' buffers, together at most `row_group_rows`.
        let mut buffered = 0;
        let mut invalid_lines: Vec<u8> = Vec::new();
        // A window of objects at a time, one per thread, so memory does not
        // grow with the batch.
        let windows: Vec<&[String]> = batch.keys.chunks(self.threads).collect();
        let mut next: Option<Parsing> = None;
        for (i, window) in windows.iter().enumerate() {
            let parsing = match next.take() {
                Some(parsing) => parsing,
                None => self.start_window(window, &mut result, progress).await?,
            };
            // The next window parses while this one is routed and encoded.
            if let Some(following) = windows.get(i + 1) {
                next = Some(self.start_window(following, &mut result, progress).await?);
            }
            let parsed = parsed(parsing).await?;
            for (_, _, object) in &parsed {
                for (_, number) in &object.rows {
                    if !days.contains_key(number) {
                        // What the day holds already (a sink that crashed re-lands
                        // what it had journaled; the other engine): kept there.
                        let day = day_name(*number);
                        let own = super::output_key(&day, &batch.id);
                        let elsewhere =
                            super::day_index::load(self.store.as_ref(), &day, &own).await?;
                        days.insert(
                            *number,
                            DayFile {
                                day,
                                elsewhere,
                                ranges: Default::default(),
                                buffered: Vec::new(),
                                encoder: None,
                                rows: 0,
                            },
                        );
                    }
                }
            }
            for (key, body, object) in parsed {
                if let Some(reason) = object.unreadable {
                    // Kept byte for byte before the raw object is deleted.
                    let kept = format!(
                        "{}compaction/batch-{}/{}",
                        crate::store::REJECTED,
                        batch.id,
                        key.rsplit('/').next().unwrap_or(&key)
                    );
                    self.store.put(&kept, &body).await?;
                    tracing::warn!("raw object {key} {reason}: set aside as {kept}");
                    result.set_aside.push(SetAside {
                        key,
                        reason,
                        kept_at: Some(kept),
                    });
                    continue;
                }
                result.rows_in += object.rows_in;
                result.invalid += object.invalid_count;
                invalid_lines.extend_from_slice(&object.invalid);
                for (row, day) in object.rows {
                    let r = &row.reading;
                    let Some(file) = days.get_mut(&day) else {
                        continue;
                    };
                    let (device, run) = ids.pair(&r.device_id, &r.run_id);
                    if !seen.insert((device, run, r.seq))
                        || (!file.elsewhere.is_empty()
                            && file.elsewhere.contains(&r.device_id, &r.run_id, r.seq))
                    {
                        result.duplicates += 1;
                        continue;
                    }
                    file.ranges.insert(&r.device_id, &r.run_id, r.seq);
                    file.buffered.push(row);
                    buffered += 1;
                    // One budget for all days (a batch may span many): the
                    // fullest day is written out first.
                    while buffered >= self.row_group_rows {
                        let Some(fullest) = days.values_mut().max_by_key(|f| f.buffered.len())
                        else {
                            break;
                        };
                        buffered -= fullest.buffered.len();
                        fullest.flush(self.row_group_rows)?;
                    }
                }
            }
        }
        for file in days.into_values() {
            let day = file.day.clone();
            let key = super::output_key(&day, &batch.id);
            match file.finish(self.row_group_rows)? {
                Some((bytes, rows, ranges)) => {
                    self.store.put(&key, &bytes).await?;
                    super::day_index::record(
                        self.store.as_ref(),
                        &day,
                        &key,
                        bytes.len() as u64,
                        ranges,
                    )
                    .await?;
                    result.rows_out += rows;
                    result.bytes_out += bytes.len() as u64;
                    result.outputs.push(Output { key, rows });
                }
                // An earlier attempt may have written this day before another
                // batch did: its rows now live there.
                None => {
                    self.store.delete(&key).await?;
                    self.store
                        .delete(&super::day_index::sidecar_key(&day, &key))
                        .await?;
                }
            }
        }
        if !invalid_lines.is_empty() {
            let key = format!(
                "{}compaction/batch-{}.jsonl",
                crate::store::REJECTED,
                batch.id
            );
            self.store.put(&key, &invalid_lines).await?;
            tracing::warn!(
                "{} rows of batch {} are not schema v1; kept in {key}",
                result.invalid,
                batch.id
            );
        }
        Ok(result)
    }
}
