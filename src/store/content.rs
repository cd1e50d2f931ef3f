//! What objects hold: raw objects are JSON lines (gzip or not, delimited or
//! `}{`-joined as Firehose writes without a delimiter), compacted ones Parquet.

use arrow_array::{Array, RecordBatch};

use super::Store;

/// The rows of a raw object: gunzipped when it is gzip, lines (or `}{`-joined
/// JSON objects, as Firehose writes without a delimiter) counted.
pub fn count_rows(body: &[u8]) -> std::io::Result<u64> {
    let data = decode(body)?;
    let mut rows = 0;
    for value in serde_json::Deserializer::from_slice(&data).into_iter::<serde::de::IgnoredAny>() {
        value.map_err(std::io::Error::other)?;
        rows += 1;
    }
    Ok(rows)
}

/// The bytes of a raw object, gunzipped if they are gzip.
pub fn decode(body: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    if is_gzip(body) {
        // The trailer's ISIZE (RFC 1952: the last member's size mod 2^32)
        // sizes the buffer once, instead of doubling it three or four times
        // for JSON that compresses twentyfold.
        let stated = gzip_size(body).unwrap_or(0);
        let capacity = stated.clamp(body.len() * 4, body.len().saturating_mul(1032).max(1 << 20));
        let mut out = Vec::with_capacity(capacity);
        flate2::read::MultiGzDecoder::new(body).read_to_end(&mut out)?;
        Ok(out)
    } else {
        Ok(body.to_vec())
    }
}

/// Whether a raw object is gzip (RFC 1952's magic bytes).
pub fn is_gzip(body: &[u8]) -> bool {
    body.starts_with(&[0x1f, 0x8b])
}

/// What a gzip object's trailer says its text's size is (RFC 1952, ISIZE:
/// the last member's size mod 2^32).
pub fn gzip_size(body: &[u8]) -> Option<usize> {
    body.len()
        .checked_sub(4)
        .and_then(|at| body.get(at..))
        .and_then(|tail| <[u8; 4]>::try_from(tail).ok())
        .map(|size| u32::from_le_bytes(size) as usize)
}

/// Rows in a Parquet file, from its footer.
pub fn parquet_rows(body: &[u8]) -> Result<u64, String> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let reader = SerializedFileReader::new(bytes::Bytes::copy_from_slice(body))
        .map_err(|e| e.to_string())?;
    Ok(reader.metadata().file_metadata().num_rows().max(0) as u64)
}

/// `data` gzipped, as the sink writes raw objects.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 4),
        flate2::Compression::default(),
    );
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(data);
    encoder.finish().unwrap_or_default()
}

/// The record batches of a Parquet body, read with only `columns`.
pub fn parquet_columns(
    body: Vec<u8>,
    columns: &[&str],
) -> Result<impl Iterator<Item = Result<RecordBatch, String>>, String> {
    use parquet::arrow::ProjectionMask;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(body))
        .map_err(|e| e.to_string())?;
    let mask = ProjectionMask::columns(builder.parquet_schema(), columns.iter().copied());
    let reader = builder
        .with_projection(mask)
        .build()
        .map_err(|e| e.to_string())?;
    Ok(reader.map(|batch| batch.map_err(|e| e.to_string())))
}

/// Column `name` of `batch` as the array type `T`, or why not.
pub fn column<'b, T: Array + 'static>(batch: &'b RecordBatch, name: &str) -> Result<&'b T, String> {
    batch
        .column_by_name(name)
        .ok_or_else(|| format!("no column {name}"))?
        .as_any()
        .downcast_ref::<T>()
        .ok_or_else(|| format!("{name} is not a {}", std::any::type_name::<T>()))
}

/// Rows in a raw (JSON lines, maybe gzip) or compacted (Parquet) object.
pub async fn object_rows(store: &dyn Store, key: &str) -> Result<u64, String> {
    let body = store.get(key).await.map_err(|e| e.to_string())?;
    if key.ends_with(".parquet") {
        parquet_rows(&body)
    } else {
        count_rows(&body).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_counted_with_or_without_delimiters() {
        assert_eq!(count_rows(b"{\"a\":1}\n{\"a\":2}\n").unwrap(), 2);
        assert_eq!(count_rows(b"{\"a\":1}{\"a\":2}{\"a\":3}").unwrap(), 3);
        assert_eq!(count_rows(&gzip(b"{\"a\":1}\n")).unwrap(), 1);
        assert!(count_rows(b"{\"a\":").is_err());
    }
}
