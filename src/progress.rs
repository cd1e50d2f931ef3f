//! What a long step reports while it runs. The library calls these methods;
//! `output::progress` draws them (a bar or spinner on a terminal) and
//! [`Silent`] ignores them, so no stage decides how progress looks.

/// Progress of one piece of work: a batch of objects, a query, an ingestion.
pub trait Progress: Send + Sync {
    /// One more unit done (a raw object read), `bytes` long.
    fn advance(&self, _bytes: u64) {}
    /// What the work waits on now (a query's state), instead of a count.
    fn status(&self, _message: &str) {}
    /// The work ended: whatever was drawn goes away.
    fn finish(&self) {}
}

/// Reports nothing: for runs without a terminal and for tests.
pub struct Silent;

impl Progress for Silent {}
