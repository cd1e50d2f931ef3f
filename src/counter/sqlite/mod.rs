//! The counter in SQLite (`<data_dir>/counter.sqlite3`). The objects table is
//! the exactly-once marker (its primary key); pending objects are those without
//! a batch. Claims run in an IMMEDIATE transaction, so concurrent claimers
//! (other processes too) serialize on SQLite's write lock.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{
    Batch, BatchState, Counted, Counter, CounterError, Fence, Hold, LeaseState, Pending, Recorded,
    WRITER, expired, new_batch_id,
};
use crate::payload::format_ts;
use lease::Leased;

mod lease;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS objects (
    key TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    recorded_at TEXT NOT NULL,
    batch_id TEXT REFERENCES batches(id)
);
CREATE INDEX IF NOT EXISTS objects_pending ON objects(key) WHERE batch_id IS NULL;
CREATE INDEX IF NOT EXISTS objects_by_batch ON objects(batch_id);
CREATE TABLE IF NOT EXISTS batches (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL CHECK (state IN ('claimed', 'compacted', 'failed')),
    claimed_at TEXT NOT NULL,
    done_at TEXT,
    error TEXT,
    lease_owner TEXT,
    lease_until TEXT,
    fence INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS locks (
    name TEXT PRIMARY KEY,
    lease_owner TEXT,
    lease_until TEXT,
    fence INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS checkpoints (
    name TEXT PRIMARY KEY,
    key TEXT NOT NULL
);
";

/// The pending objects in the order claims take them: `claim` and the
/// `--dry-run` plan both read this.
const PENDING_IN_CLAIM_ORDER: &str =
    "SELECT key, size FROM objects WHERE batch_id IS NULL ORDER BY key";

pub struct SqliteCounter {
    path: PathBuf,
    conn: Mutex<Connection>,
}

/// WAL, durable commits, the schema, and the columns later versions added.
fn prepare(conn: &Connection) -> rusqlite::Result<()> {
    // WAL lets readers (`iotpipe counters`) run beside the sink; FULL makes a
    // committed record survive power loss too.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.execute_batch(SCHEMA)?;
    // Leases and their fences came later: add their columns to an older database.
    for (column, kind) in [
        ("lease_owner", "TEXT"),
        ("lease_until", "TEXT"),
        ("fence", "INTEGER NOT NULL DEFAULT 0"),
    ] {
        let present: bool = conn.query_row(
            "SELECT count(*) FROM pragma_table_info('batches') WHERE name = ?1",
            [column],
            |row| row.get::<_, i64>(0),
        )? > 0;
        if !present {
            let added = conn.execute(
                &format!("ALTER TABLE batches ADD COLUMN {column} {kind}"),
                [],
            );
            match added {
                Ok(_) => {}
                // Another process opening the same old database added it first.
                Err(e) if e.to_string().contains("duplicate column") => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

impl SqliteCounter {
    pub fn open(path: &Path) -> Result<SqliteCounter, CounterError> {
        let fail = |e: rusqlite::Error| {
            let read_only = matches!(
                &e,
                rusqlite::Error::SqliteFailure(f, _)
                    if matches!(f.code, rusqlite::ErrorCode::ReadOnly | rusqlite::ErrorCode::CannotOpen)
            );
            if read_only {
                CounterError::ReadOnly {
                    path: path.display().to_string(),
                    message: e.to_string(),
                }
            } else {
                CounterError::Database {
                    path: path.display().to_string(),
                    message: e.to_string(),
                }
            }
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| CounterError::Database {
                path: path.display().to_string(),
                message: if dir.exists() && !dir.is_dir() {
                    format!("the data dir {} is a file, not a directory", dir.display())
                } else {
                    e.to_string()
                },
            })?;
        }
        let conn = Connection::open(path).map_err(fail)?;
        conn.busy_timeout(Duration::from_secs(30)).map_err(fail)?;
        // Switching to WAL and creating the schema can meet SQLITE_BUSY without
        // the busy handler being asked (another process doing the same at that
        // moment): try again for a while before calling the database locked.
        let mut attempt = 0;
        loop {
            match prepare(&conn) {
                Ok(()) => break,
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if matches!(
                        e.code,
                        rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                    ) && attempt < 100 =>
                {
                    attempt += 1;
                    std::thread::sleep(Duration::from_millis(fastrand::u64(5..=50)));
                }
                Err(e) => return Err(fail(e)),
            }
        }
        Ok(SqliteCounter {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
        })
    }

    fn fail(&self, e: rusqlite::Error) -> CounterError {
        CounterError::Database {
            path: self.path.display().to_string(),
            message: e.to_string(),
        }
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, CounterError> {
        let mut conn = self
            .conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut conn).map_err(|e| self.fail(e))
    }

    fn load_batch(conn: &Connection, id: &str) -> rusqlite::Result<Option<Batch>> {
        let head = conn
            .query_row(
                "SELECT state, claimed_at, done_at, error FROM batches WHERE id = ?1",
                [id],
                |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, Option<String>>(2)?,
                        row.get::<_, Option<String>>(3)?,
                    ))
                },
            )
            .optional()?;
        let Some((state, claimed_at, done_at, error)) = head else {
            return Ok(None);
        };
        let mut stmt =
            conn.prepare_cached("SELECT key, size FROM objects WHERE batch_id = ?1 ORDER BY key")?;
        let mut keys = Vec::new();
        let mut bytes = 0u64;
        for row in stmt.query_map([id], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
        })? {
            let (key, size) = row?;
            keys.push(key);
            bytes += size.max(0) as u64;
        }
        Ok(Some(Batch {
            id: id.to_string(),
            state: state.parse().unwrap_or(BatchState::Failed),
            keys,
            bytes,
            claimed_at,
            done_at,
            error,
            // SQLite keeps every row: nothing to expire.
            retired: true,
        }))
    }

    /// Marks batch `id` `state` under `hold`: see [`Counter::mark_compacted`]
    /// and [`Counter::mark_failed`].
    fn finish(
        &self,
        id: &str,
        hold: &Hold,
        state: BatchState,
        error: Option<&str>,
    ) -> Result<(), CounterError> {
        let now = time::OffsetDateTime::now_utc();
        let compacted = state == BatchState::Compacted;
        self.with(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            // The state alone: a batch's keys are not needed to mark it.
            let current: Option<String> = tx
                .query_row("SELECT state FROM batches WHERE id = ?1", [id], |row| {
                    row.get(0)
                })
                .optional()?;
            let Some(current) = current else {
                return Ok(Err(CounterError::NoBatch(id.to_string())));
            };
            if current == "compacted" {
                return Ok(Err(CounterError::WrongState {
                    id: id.to_string(),
                    state: BatchState::Compacted,
                }));
            }
            let lease = Self::lease_of(&tx, Leased::Batch, id)?;
            let holds = |lease: &Option<LeaseState>, fence: Fence, unexpired: bool| {
                lease.as_ref().is_some_and(|l| {
                    l.holder == hold.holder
                        && l.fence == fence
                        && !(unexpired && expired(&l.until, now))
                })
            };
            let writer_held = !compacted || {
                let writer = Self::lease_of(&tx, Leased::Lock, WRITER)?;
                hold.writer.is_some_and(|fence| holds(&writer, fence, true))
            };
            if !holds(&lease, hold.batch, compacted) || !writer_held {
                return Ok(Err(CounterError::LeaseLost {
                    id: id.to_string(),
                    holder: lease.map_or_else(|| "nobody".into(), |l| l.holder),
                }));
            }
            tx.execute(
                "UPDATE batches SET state = ?2, done_at = ?3, error = ?4, \
                 lease_until = CASE WHEN ?2 = 'failed' THEN ?3 ELSE lease_until END \
                 WHERE id = ?1",
                params![id, state.to_string(), format_ts(now), error],
            )?;
            tx.commit()?;
            Ok(Ok(()))
        })?
    }
}

fn now() -> String {
    format_ts(time::OffsetDateTime::now_utc())
}

#[async_trait::async_trait]
impl Counter for SqliteCounter {
    async fn record(&self, key: &str, size: u64) -> Result<Recorded, CounterError> {
        if let Some(reason) = super::not_an_object(key) {
            return Ok(Recorded::NotAnObject(reason));
        }
        let inserted = self.with(|conn| {
            conn.execute(
                "INSERT INTO objects (key, size, recorded_at) VALUES (?1, ?2, ?3) ON CONFLICT(key) DO NOTHING",
                params![key, size as i64, now()],
            )
        })?;
        Ok(if inserted == 1 {
            Recorded::New
        } else {
            Recorded::Duplicate
        })
    }

    async fn pending(&self) -> Result<u64, CounterError> {
        self.with(|conn| {
            conn.query_row(
                "SELECT count(*) FROM objects WHERE batch_id IS NULL",
                [],
                |r| r.get::<_, i64>(0),
            )
        })
        .map(|n| n.max(0) as u64)
    }

    async fn claim(&self, n: u32) -> Result<Option<Batch>, CounterError> {
        self.with(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let keys: Vec<String> = {
                let mut stmt = tx.prepare_cached(&format!("{PENDING_IN_CLAIM_ORDER} LIMIT ?1"))?;
                stmt.query_map([n], |row| row.get(0))?
                    .collect::<rusqlite::Result<_>>()?
            };
            if keys.len() < n as usize || n == 0 {
                return Ok(None);
            }
            let id = new_batch_id();
            tx.execute(
                "INSERT INTO batches (id, state, claimed_at) VALUES (?1, 'claimed', ?2)",
                params![id, now()],
            )?;
            let mut claimed = 0;
            {
                let mut stmt = tx.prepare_cached(
                    "UPDATE objects SET batch_id = ?1 WHERE key = ?2 AND batch_id IS NULL",
                )?;
                for key in &keys {
                    claimed += stmt.execute(params![id, key])?;
                }
            }
            if claimed != keys.len() {
                // Cannot happen under the write lock; refuse rather than claim part.
                return Ok(None);
            }
            tx.commit()?;
            Self::load_batch(conn, &id)
        })
    }

    async fn pending_objects(&self) -> Result<Vec<Pending>, CounterError> {
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(PENDING_IN_CLAIM_ORDER)?;
            stmt.query_map([], |row| {
                Ok(Pending {
                    key: row.get(0)?,
                    size: row.get::<_, i64>(1)?.max(0) as u64,
                })
            })?
            .collect::<rusqlite::Result<_>>()
        })
    }

    async fn lease_holder(&self, id: &str) -> Result<Option<LeaseState>, CounterError> {
        self.with(|conn| Self::lease_of(conn, Leased::Batch, id))
    }

    async fn batch(&self, id: &str) -> Result<Batch, CounterError> {
        self.with(|conn| Self::load_batch(conn, id))?
            .ok_or_else(|| CounterError::NoBatch(id.to_string()))
    }

    async fn batches(&self) -> Result<Vec<Batch>, CounterError> {
        self.with(|conn| {
            let ids: Vec<String> = conn
                .prepare("SELECT id FROM batches ORDER BY claimed_at DESC, id DESC")?
                .query_map([], |row| row.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(batch) = Self::load_batch(conn, &id)? {
                    out.push(batch);
                }
            }
            Ok(out)
        })
    }

    async fn lease(
        &self,
        id: &str,
        holder: &str,
        ttl: Duration,
        held: Option<Fence>,
    ) -> Result<Option<Fence>, CounterError> {
        self.fenced(Leased::Batch, id, holder, ttl, held)
    }

    async fn lock(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
        held: Option<Fence>,
    ) -> Result<Option<Fence>, CounterError> {
        self.fenced(Leased::Lock, name, holder, ttl, held)
    }

    async fn unlock(&self, name: &str, holder: &str, fence: Fence) -> Result<(), CounterError> {
        self.with(|conn| {
            conn.execute(
                "UPDATE locks SET lease_until = ?4 WHERE name = ?1 AND lease_owner = ?2 \
                 AND fence = ?3",
                params![name, holder, fence as i64, now()],
            )
        })?;
        Ok(())
    }

    async fn mark_compacted(&self, id: &str, hold: &Hold) -> Result<(), CounterError> {
        self.finish(id, hold, BatchState::Compacted, None)
    }

    async fn mark_failed(&self, id: &str, hold: &Hold, error: &str) -> Result<(), CounterError> {
        self.finish(id, hold, BatchState::Failed, Some(error))
    }

    async fn counted(&self) -> Result<Vec<Counted>, CounterError> {
        self.with(|conn| {
            conn.prepare(
                "SELECT o.key, b.state = 'compacted' FROM objects o LEFT JOIN batches b ON o.batch_id = b.id \
                 ORDER BY o.key",
            )?
            .query_map([], |row| {
                Ok(Counted {
                    key: row.get(0)?,
                    compacted: row.get::<_, Option<bool>>(1)?.unwrap_or(false),
                })
            })?
            .collect()
        })
    }

    async fn checkpoint(&self, name: &str) -> Result<Option<String>, CounterError> {
        self.with(|conn| {
            conn.query_row(
                "SELECT key FROM checkpoints WHERE name = ?1",
                [name],
                |row| row.get::<_, String>(0),
            )
            .optional()
        })
    }

    async fn set_checkpoint(&self, name: &str, key: &str) -> Result<(), CounterError> {
        self.with(|conn| {
            conn.execute(
                "INSERT INTO checkpoints (name, key) VALUES (?1, ?2) \
                 ON CONFLICT(name) DO UPDATE SET key = excluded.key",
                [name, key],
            )
            .map(|_| ())
        })
    }

    fn describe(&self) -> String {
        self.path.display().to_string()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::counter::suite;

    fn opener(dir: &tempfile::TempDir) -> suite::Open {
        let path = dir.path().join("counter.sqlite3");
        Arc::new(move || Box::new(SqliteCounter::open(&path).unwrap()) as Box<dyn Counter>)
    }

    #[tokio::test]
    async fn records_exactly_once_and_claims_in_order() {
        let dir = tempfile::tempdir().unwrap();
        suite::records_exactly_once_and_claims_in_order(opener(&dir)).await;
    }

    #[tokio::test]
    async fn keys_that_are_not_objects_are_never_recorded() {
        let dir = tempfile::tempdir().unwrap();
        suite::keys_that_are_not_objects_are_never_recorded(opener(&dir)).await;
    }

    #[tokio::test]
    async fn claims_of_any_size() {
        let dir = tempfile::tempdir().unwrap();
        suite::claims_of_any_size(opener(&dir), 150, 320).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 8)]
    async fn concurrent_records_and_claims_never_overlap() {
        let dir = tempfile::tempdir().unwrap();
        suite::concurrent_records_and_claims_never_overlap(opener(&dir), 1000).await;
    }
}
