//! Fenced leases in SQLite: a batch's, and a lock's (the compaction writer).
//! Taking or renewing one is a single transaction that checks the holder,
//! its fence and its expiry, as `Counter::lease` describes.

use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::SqliteCounter;
use crate::counter::{CounterError, Fence, LeaseState, expired, holder_is_gone};
use crate::payload::format_ts;

impl SqliteCounter {
    /// The lease of a batch or a lock, if one was ever taken.
    pub(super) fn lease_of(
        conn: &Connection,
        leased: Leased,
        id: &str,
    ) -> rusqlite::Result<Option<LeaseState>> {
        conn.query_row(
            &format!(
                "SELECT lease_owner, lease_until, fence FROM {} WHERE {} = ?1 \
                 AND lease_owner IS NOT NULL",
                leased.table(),
                leased.key()
            ),
            [id],
            |row| {
                Ok(LeaseState {
                    holder: row.get(0)?,
                    until: row.get(1)?,
                    fence: row.get::<_, i64>(2)?.max(0) as Fence,
                })
            },
        )
        .optional()
    }

    /// Takes or renews a fenced lease: see [`Counter::lease`].
    pub(super) fn fenced(
        &self,
        leased: Leased,
        id: &str,
        holder: &str,
        ttl: Duration,
        held: Option<Fence>,
    ) -> Result<Option<Fence>, CounterError> {
        let now = time::OffsetDateTime::now_utc();
        self.with(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if leased == Leased::Lock {
                tx.execute("INSERT OR IGNORE INTO locks (name) VALUES (?1)", [id])?;
            }
            let takeable: bool = tx.query_row(
                &format!(
                    "SELECT count(*) FROM {} WHERE {} = ?1 {}",
                    leased.table(),
                    leased.key(),
                    leased.only_when()
                ),
                [id],
                |row| row.get::<_, i64>(0),
            )? > 0;
            if !takeable {
                return Ok(None);
            }
            let lease = Self::lease_of(&tx, leased, id)?;
            let fence = match (held, &lease) {
                (None, None) => 1,
                (None, Some(l)) => {
                    let free =
                        l.holder == holder || expired(&l.until, now) || holder_is_gone(&l.holder);
                    if !free {
                        return Ok(None);
                    }
                    l.fence + 1
                }
                (Some(fence), Some(l))
                    if l.holder == holder && l.fence == fence && !expired(&l.until, now) =>
                {
                    fence
                }
                (Some(_), _) => return Ok(None),
            };
            tx.execute(
                &format!(
                    "UPDATE {} SET lease_owner = ?2, lease_until = ?3, fence = ?4 WHERE {} = ?1",
                    leased.table(),
                    leased.key()
                ),
                params![id, holder, format_ts(now + ttl), fence as i64],
            )?;
            tx.commit()?;
            Ok(Some(fence))
        })
    }
}

/// What a fenced lease is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Leased {
    Batch,
    Lock,
}

impl Leased {
    pub(super) fn table(self) -> &'static str {
        match self {
            Leased::Batch => "batches",
            Leased::Lock => "locks",
        }
    }

    pub(super) fn key(self) -> &'static str {
        match self {
            Leased::Batch => "id",
            Leased::Lock => "name",
        }
    }

    /// Only a batch still to compact is leased.
    pub(super) fn only_when(self) -> &'static str {
        match self {
            Leased::Batch => "AND state IN ('claimed', 'failed')",
            Leased::Lock => "",
        }
    }
}
