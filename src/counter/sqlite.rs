//! The counter in SQLite (`<data_dir>/counter.sqlite3`). The objects table is
//! the exactly-once marker (its primary key); pending objects are those without
//! a batch. Claims run in an IMMEDIATE transaction, so concurrent claimers
//! (other processes too) serialize on SQLite's write lock.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{
    Batch, BatchState, Counted, Counter, CounterError, Pending, Recorded, holder_is_gone,
    new_batch_id,
};
use crate::payload::format_ts;

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
    lease_until TEXT
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
    // Leases came later: add their columns to an older database.
    for column in ["lease_owner", "lease_until"] {
        let present: bool = conn.query_row(
            "SELECT count(*) FROM pragma_table_info('batches') WHERE name = ?1",
            [column],
            |row| row.get::<_, i64>(0),
        )? > 0;
        if !present {
            let added = conn.execute(&format!("ALTER TABLE batches ADD COLUMN {column} TEXT"), []);
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
        }))
    }

    fn finish(
        &self,
        id: &str,
        holder: &str,
        state: BatchState,
        error: Option<&str>,
    ) -> Result<(), CounterError> {
        let changed = self.with(|conn| {
            conn.execute(
                "UPDATE batches SET state = ?2, done_at = ?3, error = ?4, lease_owner = NULL \
                 WHERE id = ?1 AND state IN ('claimed', 'failed') \
                 AND (lease_owner IS NULL OR lease_owner = ?5)",
                params![id, state.to_string(), now(), error, holder],
            )
        })?;
        if changed == 0 {
            let current = self.with(|conn| {
                Ok((
                    Self::load_batch(conn, id)?,
                    Self::lease_of(conn, id)?.map(|(owner, _)| owner),
                ))
            })?;
            return Err(match current {
                (Some(batch), _) if batch.state == BatchState::Compacted => {
                    CounterError::WrongState {
                        id: id.to_string(),
                        state: batch.state,
                    }
                }
                (Some(_), Some(owner)) => CounterError::LeaseLost {
                    id: id.to_string(),
                    holder: owner,
                },
                (Some(batch), None) => CounterError::WrongState {
                    id: id.to_string(),
                    state: batch.state,
                },
                (None, _) => CounterError::NoBatch(id.to_string()),
            });
        }
        Ok(())
    }

    /// The batch's lease holder and expiry, if it has one.
    fn lease_of(conn: &Connection, id: &str) -> rusqlite::Result<Option<(String, String)>> {
        conn.query_row(
            "SELECT lease_owner, lease_until FROM batches WHERE id = ?1 AND lease_owner IS NOT NULL",
            [id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()
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

    async fn lease_holder(&self, id: &str) -> Result<Option<String>, CounterError> {
        Ok(self
            .with(|conn| Self::lease_of(conn, id))?
            .map(|(owner, _)| owner))
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

    async fn lease(&self, id: &str, holder: &str, ttl: Duration) -> Result<bool, CounterError> {
        let now = time::OffsetDateTime::now_utc();
        let until = format_ts(now + ttl);
        self.with(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let free = match Self::lease_of(&tx, id)? {
                None => true,
                Some((owner, _)) if owner == holder => true,
                Some((owner, expires)) => expires < format_ts(now) || holder_is_gone(&owner),
            };
            let taken = free
                && tx.execute(
                    "UPDATE batches SET lease_owner = ?2, lease_until = ?3 \
                     WHERE id = ?1 AND state IN ('claimed', 'failed')",
                    params![id, holder, until],
                )? == 1;
            tx.commit()?;
            Ok(taken)
        })
    }

    async fn mark_compacted(&self, id: &str, holder: &str) -> Result<(), CounterError> {
        self.finish(id, holder, BatchState::Compacted, None)
    }

    async fn mark_failed(&self, id: &str, holder: &str, error: &str) -> Result<(), CounterError> {
        self.finish(id, holder, BatchState::Failed, Some(error))
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
