//! The follow loop every `tail` shares: stop after `-C` items, time out after
//! `-W` without one (exit 4), stop on Ctrl-C or SIGTERM (exit 130), and flush
//! piped output at least every 100 ms.

use std::time::Duration;

use tokio::time::Instant;

use crate::error::Exit;

/// What one call to [`Follower::next`] did.
pub(super) enum Step {
    /// Printed this many items (0: something else happened, e.g. a reconnect).
    Printed(u64),
    /// The source ended (every shard of a stream closed).
    #[cfg_attr(not(feature = "pipeline"), allow(dead_code))]
    Ended,
}

/// A source `tail` follows.
pub(super) trait Follower {
    /// Waits for what comes next and prints it, at most `remaining` items.
    /// Must be cancel-safe up to the point where it has something to print.
    async fn next(&mut self, remaining: Option<u64>) -> anyhow::Result<Step>;
    /// Pushes out what was printed (piped output is block-buffered).
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
    /// The error for `after` without a new item.
    fn timed_out(&self, after: Duration) -> anyhow::Error;
}

pub(super) async fn follow(
    source: &mut impl Follower,
    count: Option<u64>,
    timeout: Option<Duration>,
) -> anyhow::Result<Exit> {
    let cancel = crate::cmd::on_signals();
    let mut printed: u64 = 0;
    let mut last = Instant::now();
    let mut unflushed = false;
    let mut flush_tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        if count.is_some_and(|n| printed >= n) {
            return Ok(Exit::Ok);
        }
        let deadline = timeout.map(|t| last + t);
        let remaining = count.map(|n| n - printed);
        tokio::select! {
            () = cancel.cancelled() => return Ok(Exit::Interrupted),
            () = crate::deadline::sleep_until(deadline) => {
                return Err(source.timed_out(timeout.unwrap_or_default()));
            }
            _ = flush_tick.tick(), if unflushed => {
                source.flush()?;
                unflushed = false;
            }
            step = source.next(remaining) => match step? {
                Step::Printed(0) => {}
                Step::Printed(n) => {
                    printed += n;
                    last = Instant::now();
                    unflushed = true;
                }
                Step::Ended => return Ok(Exit::Ok),
            },
        }
    }
}
