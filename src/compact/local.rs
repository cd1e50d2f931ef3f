//! The local compaction engine: reads a batch's raw objects (gzip or plain,
//! newline-delimited or `}{`-concatenated JSON), drops duplicate
//! `(device_id, run_id, seq)`, and writes one zstd Parquet file per UTC day
//! with typed columns (see docs/payload.md, "Compacted Parquet").

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
use crate::payload::{Reading, ReadingKey};
use crate::signal::Cancel;
use crate::store::content::reading_keys;
use crate::store::{Store, StoreError};

pub struct LocalEngine {
    store: Arc<dyn Store>,
    threads: usize,
}

impl LocalEngine {
    /// `threads`: how many objects to parse at once (None: one per core).
    pub fn new(store: Arc<dyn Store>, threads: Option<usize>) -> LocalEngine {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        LocalEngine {
            store,
            threads: threads.unwrap_or(cores).max(1),
        }
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

fn write_parquet(rows: &[Row]) -> Result<Vec<u8>, CompactError> {
    let batch = to_record_batch(rows).map_err(|e| CompactError::Engine(e.to_string()))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).unwrap_or_default()))
        .set_created_by(format!("iotpipe {}", env!("CARGO_PKG_VERSION")))
        .build();
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, schema(), Some(props))
        .map_err(|e| CompactError::Engine(e.to_string()))?;
    writer
        .write(&batch)
        .map_err(|e| CompactError::Engine(e.to_string()))?;
    writer
        .close()
        .map_err(|e| CompactError::Engine(e.to_string()))?;
    Ok(out)
}

impl LocalEngine {
    /// The `(device_id, run_id, seq)` of every row in the day's other batches.
    async fn keys_compacted_elsewhere(
        &self,
        day: &str,
        batch_id: &str,
    ) -> Result<HashSet<ReadingKey>, CompactError> {
        let own = super::output_key(day, batch_id);
        let mut keys = HashSet::new();
        for object in self
            .store
            .list(&format!("{}dt={day}/", crate::store::COMPACTED))
            .await?
        {
            // Athena names its files without a suffix; Athena and Hive skip
            // names starting with `_` or `.`, and so does this.
            let name = object.key.rsplit('/').next().unwrap_or_default();
            if object.key == own || name.is_empty() || name.starts_with(['_', '.']) {
                continue;
            }
            let body = self.store.get(&object.key).await?;
            reading_keys(body, &mut keys).map_err(|reason| CompactError::Corrupt {
                key: object.key.clone(),
                reason,
            })?;
        }
        Ok(keys)
    }
}

/// Small integer ids for repeated strings, so dedup keys need no allocation per row.
#[derive(Default)]
struct Interner(std::collections::HashMap<String, u32>);

impl Interner {
    fn id(&mut self, text: &str) -> u32 {
        if let Some(id) = self.0.get(text) {
            return *id;
        }
        let id = self.0.len() as u32;
        self.0.insert(text.to_string(), id);
        id
    }
}

/// One raw object, decoded: its valid rows (with their UTC day), the lines
/// that are not schema v1 (or not JSON), or why it cannot be read at all.
struct ParsedObject {
    rows: Vec<(Row, String)>,
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
        let checked = serde_json::from_str::<Reading>(raw)
            .map_err(|e| e.to_string())
            .and_then(|r| {
                r.validated_time()
                    .map(|at| (r, at))
                    .map_err(|e| e.to_string())
            });
        match checked {
            Ok((reading, at)) => {
                let at = at.to_offset(time::UtcOffset::UTC);
                let millis = (at.unix_timestamp_nanos() / 1_000_000) as i64;
                let day = format!("{:04}-{:02}-{:02}", at.year(), at.month() as u8, at.day());
                self.rows_in += 1;
                self.rows.push((Row { reading, millis }, day));
            }
            Err(reason) => self.reject(key, &reason, raw),
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

/// Parses objects on `threads` threads, keeping their order.
fn parse_parallel(
    bodies: &[(&str, Vec<u8>)],
    threads: usize,
) -> Result<Vec<ParsedObject>, CompactError> {
    let threads = threads.min(bodies.len().max(1));
    let chunk = bodies.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = bodies
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|(key, body)| parse_object(key, body))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(bodies.len());
        for worker in workers {
            let parsed = worker
                .join()
                .map_err(|_| CompactError::Engine("a parsing thread panicked".into()))?;
            out.extend(parsed);
        }
        Ok(out)
    })
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
        let mut bodies = Vec::with_capacity(batch.keys.len());
        for key in &batch.keys {
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
            bodies.push((key.as_str(), body));
        }
        // Decoding and parsing is the work: spread the objects over the cores.
        let parsed = parse_parallel(&bodies, self.threads)?;

        let mut ids = Interner::default();
        let mut seen: HashSet<(u32, u32, u64)> = HashSet::new();
        // Rows per UTC day: one output file each.
        let mut days: BTreeMap<String, Vec<Row>> = BTreeMap::new();
        let mut invalid_lines: Vec<u8> = Vec::new();
        for (object, (key, body)) in parsed.into_iter().zip(&bodies) {
            if let Some(reason) = object.unreadable {
                // Kept byte for byte before the raw object is deleted.
                let kept = format!(
                    "{}compaction/batch-{}/{}",
                    crate::store::REJECTED,
                    batch.id,
                    key.rsplit('/').next().unwrap_or(key)
                );
                self.store.put(&kept, body).await?;
                tracing::warn!("raw object {key} {reason}: set aside as {kept}");
                result.set_aside.push(SetAside {
                    key: key.to_string(),
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
                if !seen.insert((ids.id(&r.device_id), ids.id(&r.run_id), r.seq)) {
                    result.duplicates += 1;
                    continue;
                }
                days.entry(day).or_default().push(row);
            }
        }
        for (day, mut rows) in days {
            // Rows already compacted by another batch of the same day (a sink that
            // crashed re-lands what it had journaled) stay where they are.
            let elsewhere = self.keys_compacted_elsewhere(&day, &batch.id).await?;
            if !elsewhere.is_empty() {
                let before = rows.len();
                rows.retain(|row| !elsewhere.contains(&row.reading.key()));
                result.duplicates += (before - rows.len()) as u64;
            }
            if rows.is_empty() {
                // An earlier attempt may have written this day before the other
                // batch existed: its rows now live there.
                self.store
                    .delete(&super::output_key(&day, &batch.id))
                    .await?;
                continue;
            }
            rows.sort_by(|a, b| {
                (a.millis, &a.reading.device_id, a.reading.seq).cmp(&(
                    b.millis,
                    &b.reading.device_id,
                    b.reading.seq,
                ))
            });
            let bytes = write_parquet(&rows)?;
            let key = super::output_key(&day, &batch.id);
            self.store.put(&key, &bytes).await?;
            result.rows_out += rows.len() as u64;
            result.bytes_out += bytes.len() as u64;
            result.outputs.push(Output {
                key,
                rows: rows.len() as u64,
            });
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
