//! What objects hold: raw objects are JSON lines (gzip or not, delimited or
//! `}{`-joined as Firehose writes without a delimiter), compacted ones Parquet.

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
    if body.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(body.len() * 4);
        flate2::read::MultiGzDecoder::new(body).read_to_end(&mut out)?;
        Ok(out)
    } else {
        Ok(body.to_vec())
    }
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
