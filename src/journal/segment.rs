//! Reading a journal segment back: every whole record with a matching CRC,
//! a corrupt record in the middle skipped, a torn tail found.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use super::{Entry, HEADER};

/// A segment's records, and where it must be cut.
pub(super) struct SegmentRead {
    pub records: Vec<Entry>,
    /// The end of the last valid record: what follows is a torn tail.
    pub valid_bytes: u64,
    pub total_bytes: u64,
    /// Corrupt stretches skipped in the middle: (offset, bytes).
    pub skipped: Vec<(u64, u64)>,
}

/// The record at `at`, if one is there whole with a matching CRC.
fn record_at(bytes: &[u8], at: usize) -> Option<(Entry, usize)> {
    let len = u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(bytes.get(at + 4..at + 8)?.try_into().ok()?);
    if len < HEADER - 8 {
        return None;
    }
    let body = bytes.get(at + 8..at + 8 + len)?;
    if crc32fast::hash(body) != crc {
        return None;
    }
    let id = u64::from_le_bytes(body[..8].try_into().ok()?);
    let topic_len = u16::from_le_bytes(body[8..10].try_into().ok()?) as usize;
    let topic = body.get(10..10 + topic_len)?;
    let record = Entry {
        id,
        topic: String::from_utf8_lossy(topic).into_owned(),
        payload: body[10 + topic_len..].to_vec(),
    };
    Some((record, 8 + len))
}

/// Reads a segment's valid records. A corrupt record in the middle (a bad
/// sector, a flipped bit) is skipped: the next valid record after it is found
/// by its length, id and CRC, and everything from there on is kept. Only
/// bytes after the last valid record are a torn tail.
pub(super) fn read_segment(path: &Path) -> io::Result<SegmentRead> {
    let mut bytes = Vec::new();
    File::open(path)?.read_to_end(&mut bytes)?;
    let mut records: Vec<Entry> = Vec::new();
    let mut skipped = Vec::new();
    let mut at = 0usize;
    let mut valid_end = 0usize;
    while at + 8 <= bytes.len() {
        if let Some((record, len)) = record_at(&bytes, at) {
            records.push(record);
            at += len;
            valid_end = at;
            continue;
        }
        // Ids only grow: a candidate must come after the last good record.
        let after = records.last().map_or(0, |r| r.id + 1);
        let next = (at + 1..bytes.len().saturating_sub(8)).find(|&candidate| {
            bytes
                .get(candidate + 8..candidate + 16)
                .and_then(|id| id.try_into().ok())
                .map(u64::from_le_bytes)
                .is_some_and(|id| id >= after && id < after.saturating_add(1 << 32))
                && record_at(&bytes, candidate).is_some()
        });
        match next {
            Some(next) => {
                skipped.push((at as u64, (next - at) as u64));
                at = next;
            }
            None => break,
        }
    }
    Ok(SegmentRead {
        records,
        valid_bytes: valid_end as u64,
        total_bytes: bytes.len() as u64,
        skipped,
    })
}
