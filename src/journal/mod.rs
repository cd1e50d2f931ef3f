//! A durable journal of messages: appended (and synced) before anything is done
//! with them, forgotten only once acknowledged. `publish` uses it as its outbox
//! (forgotten after the broker's PUBACK); the sink as its write-ahead log
//! (forgotten once the message is in a durable raw object). After a crash, what
//! is still in the journal comes back, in order.
//!
//! Layout: segment files `seg-<first id>.log` of records
//! `len u32 | crc32 u32 | id u64 | topic_len u16 | topic | payload` (little
//! endian; the CRC covers everything after it), and `acked`, the id below which
//! everything was acknowledged. A torn record at the end of the last segment
//! (a crash mid-write) fails its CRC and is cut off. The cursor is saved at most
//! every second, so a crash re-sends up to a second of acknowledged messages:
//! at-least-once, which readers deduplicate on `(device_id, run_id, seq)`.
//!
//! Size cap: when the segments would exceed `max_bytes`, the oldest segment is
//! dropped (newest data is kept, as a sensor log wants) with a warning that says
//! how many messages were lost.

mod segment;

use std::collections::{BTreeSet, VecDeque};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use segment::{SegmentRead, read_segment};

const HEADER: usize = 4 + 4 + 8 + 2;
/// Segment size: small enough that dropping one at the cap loses little.
const SEGMENT_BYTES: u64 = 1024 * 1024;
const CURSOR_EVERY: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
#[error("journal {}: {action}: {source}", .dir.display())]
pub struct JournalError {
    pub dir: PathBuf,
    pub action: &'static str,
    pub source: io::Error,
}

impl JournalError {
    /// Another process holds the journal.
    pub fn is_busy(&self) -> bool {
        self.source.kind() == io::ErrorKind::WouldBlock
    }
}

/// A message kept in the journal.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub id: u64,
    pub topic: String,
    pub payload: Vec<u8>,
}

#[derive(Debug)]
struct Segment {
    first_id: u64,
    /// One past the last id written to it.
    end_id: u64,
    bytes: u64,
    path: PathBuf,
}

pub struct Journal {
    dir: PathBuf,
    max_bytes: u64,
    segments: VecDeque<Segment>,
    writer: Option<BufWriter<File>>,
    next_id: u64,
    /// Everything below this id is acknowledged (or dropped at the cap).
    acked_below: u64,
    /// Acknowledged ids above `acked_below` (acks may come out of order).
    acked_above: BTreeSet<u64>,
    saved_cursor: u64,
    cursor_saved_at: Instant,
    unsynced: bool,
    pub dropped: u64,
    /// Held while this process owns the journal.
    _lock: File,
}

impl Journal {
    /// Opens (or creates) the journal and returns the messages not yet acknowledged.
    pub fn open(dir: &Path, max_bytes: u64) -> Result<(Journal, Vec<Entry>), JournalError> {
        let err = |action| failed(dir, action);
        if !dir.exists() {
            fs::create_dir_all(dir).map_err(err("creating the directory"))?;
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                sync_dir(parent).map_err(err("syncing the parent directory"))?;
            }
        }
        // One process per journal, taken before anything is read or repaired:
        // a second writer would interleave records and cut the other's tail.
        let lock = lock(dir)?;
        let acked_below = match fs::read_to_string(dir.join("acked")) {
            Ok(text) => text.trim().parse().unwrap_or(0),
            Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
            Err(e) => return Err(err("reading the cursor")(e)),
        };
        let paths = segment_paths(dir)?;
        let mut outbox = Journal {
            dir: dir.to_path_buf(),
            max_bytes: max_bytes.max(SEGMENT_BYTES),
            segments: VecDeque::new(),
            writer: None,
            next_id: acked_below,
            acked_below,
            acked_above: BTreeSet::new(),
            saved_cursor: acked_below,
            cursor_saved_at: Instant::now(),
            unsynced: false,
            dropped: 0,
            _lock: lock,
        };
        let mut pending = Vec::new();
        let count = paths.len();
        for (index, (first_id, path)) in paths.into_iter().enumerate() {
            let last = index + 1 == count;
            pending.extend(outbox.load_segment(first_id, path, last)?);
        }
        Ok((outbox, pending))
    }

    /// Takes back one segment: cuts a torn tail, removes it when everything
    /// in it was acknowledged (unless it is the `last`, still written to),
    /// and returns its records not acknowledged yet.
    fn load_segment(
        &mut self,
        first_id: u64,
        path: PathBuf,
        last: bool,
    ) -> Result<Vec<Entry>, JournalError> {
        let err = |action| failed(&self.dir, action);
        let SegmentRead {
            records,
            valid_bytes,
            total_bytes,
            skipped,
        } = read_segment(&path).map_err(err("reading a segment"))?;
        for (offset, bytes) in skipped {
            tracing::warn!(
                "journal segment {} has a corrupt record at offset {offset}: skipped {bytes} \
                 bytes, the records after it are kept",
                path.display()
            );
        }
        if valid_bytes < total_bytes {
            tracing::warn!(
                "outbox segment {} ends in a torn record (a crash mid-write); cutting {} bytes",
                path.display(),
                total_bytes - valid_bytes
            );
            let file = OpenOptions::new()
                .write(true)
                .open(&path)
                .map_err(err("repairing a segment"))?;
            file.set_len(valid_bytes)
                .map_err(err("repairing a segment"))?;
        }
        let end_id = records.last().map_or(first_id, |r| r.id + 1);
        self.next_id = self.next_id.max(end_id);
        if end_id <= self.acked_below && !last {
            fs::remove_file(&path).map_err(err("removing a sent segment"))?;
            return Ok(Vec::new());
        }
        let acked_below = self.acked_below;
        self.segments.push_back(Segment {
            first_id,
            end_id,
            bytes: valid_bytes,
            path,
        });
        Ok(records
            .into_iter()
            .filter(|r| r.id >= acked_below)
            .collect())
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn error(&self, action: &'static str) -> impl FnOnce(io::Error) -> JournalError {
        failed(&self.dir, action)
    }

    /// Appends a message and returns its id. Call [`Outbox::sync`] before publishing it.
    pub fn append(&mut self, topic: &str, payload: &[u8]) -> Result<u64, JournalError> {
        let id = self.next_id;
        let body_len = 8 + 2 + topic.len() + payload.len();
        let record_len = (4 + 4 + body_len) as u64;
        let needs_new = match self.segments.back() {
            Some(last) => self.writer.is_none() || last.bytes + record_len > SEGMENT_BYTES,
            None => true,
        };
        if needs_new {
            self.roll(id)?;
        }
        self.enforce_cap(record_len);

        let topic_len = u16::try_from(topic.len()).unwrap_or(u16::MAX);
        let mut body = Vec::with_capacity(body_len);
        body.extend_from_slice(&id.to_le_bytes());
        body.extend_from_slice(&topic_len.to_le_bytes());
        body.extend_from_slice(&topic.as_bytes()[..topic_len as usize]);
        body.extend_from_slice(payload);
        let crc = crc32fast::hash(&body);
        let writer = self.writer.as_mut().ok_or_else(|| JournalError {
            dir: self.dir.clone(),
            action: "appending",
            source: io::Error::other("no open segment"),
        })?;
        let write = |w: &mut BufWriter<File>| -> io::Result<()> {
            w.write_all(&u32::try_from(body.len()).unwrap_or(u32::MAX).to_le_bytes())?;
            w.write_all(&crc.to_le_bytes())?;
            w.write_all(&body)
        };
        write(writer).map_err(|source| JournalError {
            dir: self.dir.clone(),
            action: "appending",
            source,
        })?;
        if let Some(last) = self.segments.back_mut() {
            last.bytes += record_len;
            last.end_id = id + 1;
        }
        self.next_id = id + 1;
        self.unsynced = true;
        Ok(id)
    }

    /// Makes appended messages durable (flush + fdatasync), once per batch.
    pub fn sync(&mut self) -> Result<(), JournalError> {
        if !self.unsynced {
            return Ok(());
        }
        let dir = self.dir.clone();
        if let Some(writer) = self.writer.as_mut() {
            writer
                .flush()
                .and_then(|()| writer.get_ref().sync_data())
                .map_err(|source| JournalError {
                    dir,
                    action: "syncing",
                    source,
                })?;
        }
        self.unsynced = false;
        Ok(())
    }

    fn roll(&mut self, first_id: u64) -> Result<(), JournalError> {
        self.sync()?;
        let path = self.dir.join(format!("seg-{first_id:020}.log"));
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(self.error("creating a segment"))?;
        let bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
        if bytes == 0 {
            // A new segment: its directory entry must be as durable as its records.
            sync_dir(&self.dir).map_err(self.error("syncing the directory"))?;
        }
        self.writer = Some(BufWriter::with_capacity(64 * 1024, file));
        if self.segments.back().is_none_or(|s| s.path != path) {
            self.segments.push_back(Segment {
                first_id,
                end_id: first_id,
                bytes,
                path,
            });
        }
        Ok(())
    }

    fn enforce_cap(&mut self, incoming: u64) {
        let total = |segments: &VecDeque<Segment>| segments.iter().map(|s| s.bytes).sum::<u64>();
        while self.segments.len() > 1 && total(&self.segments) + incoming > self.max_bytes {
            let Some(oldest) = self.segments.pop_front() else {
                break;
            };
            let unacked = (oldest.first_id.max(self.acked_below)..oldest.end_id)
                .filter(|id| !self.acked_above.contains(id))
                .count() as u64;
            if unacked > 0 {
                tracing::warn!(
                    "journal {} reached its cap of {} bytes: dropped the {unacked} oldest unacknowledged \
                     messages (ids {}..{}); raise its max_bytes to keep more during an outage",
                    self.dir.display(),
                    self.max_bytes,
                    oldest.first_id,
                    oldest.end_id
                );
                self.dropped += unacked;
            }
            self.advance_to(oldest.end_id);
            let _ = fs::remove_file(&oldest.path);
        }
    }

    fn advance_to(&mut self, id: u64) {
        if id > self.acked_below {
            self.acked_below = id;
            self.acked_above = self.acked_above.split_off(&id);
        }
    }

    /// Whether `id` was dropped at the cap (so an ack for it is moot).
    pub fn is_gone(&self, id: u64) -> bool {
        id < self.acked_below
    }

    /// Records an acknowledgement; removes segments that are fully acknowledged.
    pub fn ack(&mut self, id: u64) -> Result<(), JournalError> {
        if id < self.acked_below {
            return Ok(());
        }
        self.acked_above.insert(id);
        while self.acked_above.first() == Some(&self.acked_below) {
            self.acked_above.pop_first();
            self.acked_below += 1;
        }
        let mut removed = false;
        while self.segments.len() > 1
            && self
                .segments
                .front()
                .is_some_and(|s| s.end_id <= self.acked_below)
        {
            if let Some(done) = self.segments.pop_front() {
                fs::remove_file(&done.path).map_err(self.error("removing a sent segment"))?;
                removed = true;
            }
        }
        if removed || self.cursor_saved_at.elapsed() >= CURSOR_EVERY {
            self.save_cursor()?;
        }
        Ok(())
    }

    /// Writes the acknowledged-below cursor (temp file + rename, so it is never torn).
    pub fn save_cursor(&mut self) -> Result<(), JournalError> {
        self.cursor_saved_at = Instant::now();
        if self.saved_cursor == self.acked_below {
            return Ok(());
        }
        let tmp = self.dir.join("acked.tmp");
        fs::write(&tmp, format!("{}\n", self.acked_below))
            .map_err(self.error("saving the cursor"))?;
        fs::rename(&tmp, self.dir.join("acked")).map_err(self.error("saving the cursor"))?;
        sync_dir(&self.dir).map_err(self.error("saving the cursor"))?;
        self.saved_cursor = self.acked_below;
        Ok(())
    }

    /// The id the next append gets.
    pub fn next_id(&self) -> u64 {
        self.next_id
    }

    /// Up to `limit` messages from id `from` on, read back from the segments
    /// (those dropped at the cap are gone: the first id returned may be later).
    pub fn read_from(&mut self, from: u64, limit: usize) -> Result<Vec<Entry>, JournalError> {
        if let Some(writer) = self.writer.as_mut() {
            writer.flush().map_err(self.error("writing a segment"))?;
        }
        let mut entries = Vec::new();
        for segment in self.segments.iter().filter(|s| s.end_id > from) {
            let read = read_segment(&segment.path).map_err(self.error("reading a segment"))?;
            let room = limit - entries.len();
            entries.extend(read.records.into_iter().filter(|r| r.id >= from).take(room));
            if entries.len() >= limit {
                break;
            }
        }
        Ok(entries)
    }

    /// Messages appended but not yet acknowledged.
    pub fn unacked(&self) -> u64 {
        self.next_id - self.acked_below - self.acked_above.len() as u64
    }

    /// Saves the cursor and syncs: call on the way out.
    pub fn close(&mut self) -> Result<(), JournalError> {
        self.sync()?;
        self.save_cursor()
    }
}

/// A journal error of `action` in `dir`.
fn failed(dir: &Path, action: &'static str) -> impl FnOnce(io::Error) -> JournalError {
    let dir = dir.to_path_buf();
    move |source| JournalError {
        dir,
        action,
        source,
    }
}

/// Takes the journal's lock file; another process holding it is an error.
fn lock(dir: &Path) -> Result<File, JournalError> {
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("lock"))
        .map_err(failed(dir, "opening the lock"))?;
    match lock.try_lock() {
        Ok(()) => Ok(lock),
        Err(fs::TryLockError::WouldBlock) => Err(failed(dir, "locking")(io::Error::new(
            io::ErrorKind::WouldBlock,
            "in use by another process",
        ))),
        Err(fs::TryLockError::Error(e)) => Err(failed(dir, "locking")(e)),
    }
}

/// The segments in `dir` (`seg-<first id>.log`), oldest first.
fn segment_paths(dir: &Path) -> Result<Vec<(u64, PathBuf)>, JournalError> {
    let mut paths: Vec<(u64, PathBuf)> = fs::read_dir(dir)
        .map_err(failed(dir, "listing"))?
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let name = path.file_name()?.to_str()?;
            let first = name
                .strip_prefix("seg-")?
                .strip_suffix(".log")?
                .parse()
                .ok()?;
            Some((first, path))
        })
        .collect();
    paths.sort();
    Ok(paths)
}

/// Makes a directory's entries (a new file, a rename) durable: without it a
/// synced file can vanish with its directory entry after a power cut.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests;
