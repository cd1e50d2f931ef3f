//! Ctrl-C and SIGTERM (what systemd sends to stop a service), the same way for
//! every long-running command: the first one cancels, and the command stops at
//! its next safe point (flushing, stopping an Athena query, draining acks) and
//! exits 130; a second one quits at once. Library code only ever sees a
//! [`Cancel`] token and returns its own "interrupted" error.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

/// A cancellation token: cheap to clone, fired once by a signal (or by hand).
#[derive(Clone)]
pub struct Cancel {
    fired: watch::Receiver<bool>,
    sender: Arc<watch::Sender<bool>>,
    /// Also fired from this wall-clock time on (milliseconds since the
    /// epoch; 0: never): a lease that ran out while the process was frozen is
    /// seen as lost by the very next check, before any timer runs.
    deadline: Arc<AtomicU64>,
}

impl Cancel {
    /// A token no signal fires (a Lambda invocation, a dry run); [`Cancel::fire`] still does.
    pub fn never() -> Cancel {
        let (sender, fired) = watch::channel(false);
        Cancel {
            fired,
            sender: Arc::new(sender),
            deadline: Arc::new(AtomicU64::new(0)),
        }
    }

    /// A token fired by the first Ctrl-C or SIGTERM. The second one calls
    /// `quit` (the binary's edge exits there). Call inside the runtime.
    pub fn on_signals(quit: fn()) -> Cancel {
        let cancel = Cancel::never();
        let sender = cancel.sender.clone();
        tokio::spawn(async move {
            let mut signals = Signals::new();
            let mut received = 0u32;
            while signals.next().await {
                received += 1;
                if received > 1 {
                    quit();
                }
                let _ = sender.send(true);
            }
        });
        cancel
    }

    pub fn fire(&self) {
        let _ = self.sender.send(true);
    }

    /// Counts as fired from `at` on, by the wall clock (moved on each renewal).
    pub fn fire_at(&self, at: SystemTime) {
        let millis = at
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_millis() as u64);
        self.deadline.store(millis.max(1), Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        let deadline = self.deadline.load(Ordering::Relaxed);
        *self.fired.borrow()
            || (deadline > 0
                && SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .is_ok_and(|now| now.as_millis() as u64 >= deadline))
    }

    /// Resolves once the token is fired.
    pub async fn cancelled(&self) {
        let mut fired = self.fired.clone();
        let _ = fired.wait_for(|fired| *fired).await;
    }
}

/// Ctrl-C and SIGTERM, listened to from creation on so none is missed between two.
struct Signals {
    #[cfg(unix)]
    unix: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Signals {
    fn new() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let unix = signal(SignalKind::interrupt())
                .and_then(|int| Ok((int, signal(SignalKind::terminate())?)))
                .ok();
            Signals { unix }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    /// Waits for the next signal; false when signals cannot be watched.
    async fn next(&mut self) -> bool {
        #[cfg(unix)]
        if let Some((int, term)) = &mut self.unix {
            return tokio::select! {
                received = int.recv() => received.is_some(),
                received = term.recv() => received.is_some(),
            };
        }
        tokio::signal::ctrl_c().await.is_ok()
    }
}
