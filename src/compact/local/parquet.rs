//! Writing compacted readings: the Parquet schema, column encodings chosen for
//! this data, and a day's output written a row group at a time on an encoder
//! thread of its own.

use std::sync::Arc;

use arrow_array::builder::{
    Float64Builder, Int64Builder, StringBuilder, TimestampMillisecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use super::parse::{MEASUREMENTS, ParsedRow};
use crate::compact::CompactError;

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

/// `runs`: the batch's `(device_id, run_id)` pairs, which rows name by index.
fn to_record_batch(
    rows: &[ParsedRow],
    runs: &[(String, String)],
) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let n = rows.len();
    let mut device = StringBuilder::with_capacity(n, n * 12);
    let mut run = StringBuilder::with_capacity(n, n * 32);
    let mut seq = Int64Builder::with_capacity(n);
    let mut ts = TimestampMillisecondBuilder::with_capacity(n).with_timezone("UTC");
    // A sensor a device lacks is absent from every row: its column is built
    // null at once instead of a null at a time.
    let mut present = [false; MEASUREMENTS];
    for row in rows {
        for (seen, value) in present.iter_mut().zip(row.values) {
            *seen |= !value.is_nan();
        }
    }
    let mut measured: Vec<Option<Float64Builder>> = present
        .iter()
        .map(|&present| present.then(|| Float64Builder::with_capacity(n)))
        .collect();
    for row in rows {
        let (device_id, run_id) = &runs[row.run as usize];
        device.append_value(device_id);
        run.append_value(run_id);
        seq.append_value(i64::try_from(row.seq).unwrap_or(i64::MAX));
        ts.append_value(row.millis);
        for (builder, value) in measured.iter_mut().zip(row.values) {
            if let Some(builder) = builder {
                builder.append_option((!value.is_nan()).then_some(value));
            }
        }
    }
    // Schema v1 is all a stored row can be.
    let v = arrow_array::Int32Array::from_value(1, n);
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(v),
        Arc::new(device.finish()),
        Arc::new(run.finish()),
        Arc::new(seq.finish()),
        Arc::new(ts.finish()),
    ];
    columns.extend(measured.iter_mut().map(|builder| match builder {
        Some(builder) => Arc::new(builder.finish()) as ArrayRef,
        None => arrow_array::new_null_array(&DataType::Float64, n),
    }));
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

/// What the encoder thread is asked.
enum Job {
    /// A row group of a day's file.
    Rows(String, RecordBatch),
    /// The day's file, whole: its bytes, or why it could not be encoded.
    Finish(
        String,
        std::sync::mpsc::Sender<Result<Option<Vec<u8>>, CompactError>>,
    ),
}

/// Encodes and compresses every day's row groups of a batch on one thread of
/// its own, so that the next objects are parsed meanwhile; at most one row
/// group waits for it. One thread for all days, not one per day: a batch of
/// a backlog spans a dozen days, and each thread's allocations would stay in
/// an allocator arena of its own.
pub(super) struct Encoders {
    jobs: std::sync::mpsc::SyncSender<Job>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Encoders {
    pub(super) fn start(row_group_rows: usize) -> Result<Encoders, CompactError> {
        let (jobs, received) = std::sync::mpsc::sync_channel::<Job>(1);
        let thread = std::thread::Builder::new()
            .name("iotpipe-encode".into())
            .spawn(move || encode(received, row_group_rows))
            .map_err(engine_error)?;
        Ok(Encoders {
            jobs,
            thread: Some(thread),
        })
    }

    fn send(&self, job: Job) -> Result<(), CompactError> {
        self.jobs
            .send(job)
            .map_err(|_| CompactError::Engine("the Parquet encoder stopped".into()))
    }
}

impl Drop for Encoders {
    fn drop(&mut self) {
        // Closing the channel ends the thread; its files are dropped with it.
        let (closed, _) = std::sync::mpsc::sync_channel(0);
        drop(std::mem::replace(&mut self.jobs, closed));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The encoder thread: a writer per day, each row group flushed as it comes.
fn encode(jobs: std::sync::mpsc::Receiver<Job>, row_group_rows: usize) {
    let mut writers: std::collections::HashMap<String, Result<ArrowWriter<Vec<u8>>, CompactError>> =
        std::collections::HashMap::new();
    for job in jobs {
        match job {
            Job::Rows(day, batch) => {
                let writer = writers.entry(day).or_insert_with(|| {
                    ArrowWriter::try_new(
                        Vec::new(),
                        schema(),
                        Some(writer_properties(row_group_rows)),
                    )
                    .map_err(engine_error)
                });
                if let Ok(open) = writer {
                    // Each batch is a row group: what is encoded leaves memory.
                    let written = open.write(&batch).and_then(|()| open.flush());
                    if let Err(e) = written {
                        *writer = Err(engine_error(e));
                    }
                }
            }
            Job::Finish(day, reply) => {
                let file = match writers.remove(&day) {
                    None => Ok(None),
                    Some(writer) => writer
                        .and_then(|w| w.into_inner().map_err(engine_error))
                        .map(Some),
                };
                let _ = reply.send(file);
            }
        }
    }
}

/// One day's output of a batch, written a row group at a time.
pub(super) struct DayFile {
    /// `YYYY-MM-DD`
    pub(super) day: String,
    /// What the day held before this batch (other batches, the other engine).
    pub(super) elsewhere: crate::compact::day_index::KeyRanges,
    /// This batch's readings of the day, for the file's sidecar.
    pub(super) ranges: crate::compact::day_index::KeyRanges,
    pub(super) buffered: Vec<ParsedRow>,
    rows: u64,
}

impl DayFile {
    /// Day `day` (`YYYY-MM-DD`), which holds `elsewhere` already.
    pub(super) fn new(day: String, elsewhere: crate::compact::day_index::KeyRanges) -> DayFile {
        DayFile {
            day,
            elsewhere,
            ranges: Default::default(),
            buffered: Vec::new(),
            rows: 0,
        }
    }

    /// Hands the buffered rows, sorted by time, to the encoder as a row group.
    pub(super) fn flush(
        &mut self,
        runs: &[(String, String)],
        encoders: &Encoders,
    ) -> Result<(), CompactError> {
        if self.buffered.is_empty() {
            return Ok(());
        }
        let mut rows = std::mem::take(&mut self.buffered);
        let order = |a: &ParsedRow, b: &ParsedRow| {
            (a.millis, &runs[a.run as usize].0, a.seq).cmp(&(
                b.millis,
                &runs[b.run as usize].0,
                b.seq,
            ))
        };
        // Objects arrive in time order: most row groups need no sorting.
        if !rows.is_sorted_by(|a, b| order(a, b).is_le()) {
            rows.sort_by(order);
        }
        let batch = to_record_batch(&rows, runs).map_err(engine_error)?;
        drop(rows);
        self.rows += batch.num_rows() as u64;
        encoders.send(Job::Rows(self.day.clone(), batch))
    }

    /// The day's file (None if it has no rows), its rows and its readings.
    pub(super) fn finish(
        mut self,
        runs: &[(String, String)],
        encoders: &Encoders,
    ) -> Result<Option<(Vec<u8>, u64, crate::compact::day_index::KeyRanges)>, CompactError> {
        self.flush(runs, encoders)?;
        let (reply, file) = std::sync::mpsc::channel();
        encoders.send(Job::Finish(self.day.clone(), reply))?;
        let bytes = file
            .recv()
            .map_err(|_| CompactError::Engine("the Parquet encoder stopped".into()))??;
        Ok(bytes.map(|bytes| (bytes, self.rows, self.ranges)))
    }
}

/// The day number of a `YYYY-MM-DD` name (days since 1970-01-01).
pub(super) fn day_number(name: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(name, format).ok()?;
    Some((date - time::OffsetDateTime::UNIX_EPOCH.date()).whole_days())
}

/// `YYYY-MM-DD` of a day counted from 1970-01-01.
pub(super) fn day_name(number: i64) -> String {
    let date = time::OffsetDateTime::UNIX_EPOCH.date() + time::Duration::days(number);
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        date.month() as u8,
        date.day()
    )
}
