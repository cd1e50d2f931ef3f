//! Talking to systemd when it runs iotpipe as a `Type=notify` unit: READY
//! once started, STOPPING at shutdown, and watchdog pings from the loop that
//! does the work, so a hung loop is restarted. Without `NOTIFY_SOCKET`
//! nothing is sent.

use std::time::Duration;

use sd_notify::NotifyState;

pub fn ready() {
    send(&[NotifyState::Ready]);
}

pub fn stopping() {
    send(&[NotifyState::Stopping]);
}

fn send(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::debug!("could not notify systemd: {e}");
    }
}

/// Pings the watchdog at half its timeout (`WatchdogSec`), when the unit has one.
pub struct Watchdog {
    every: Option<tokio::time::Interval>,
}

impl Watchdog {
    pub fn new() -> Watchdog {
        Watchdog {
            every: sd_notify::watchdog_enabled().map(|timeout| {
                let mut every = tokio::time::interval((timeout / 2).max(Duration::from_millis(10)));
                every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                every
            }),
        }
    }

    /// Resolves when a ping is due; never without a watchdog.
    pub async fn due(&mut self) {
        match self.every.as_mut() {
            Some(every) => {
                every.tick().await;
            }
            None => std::future::pending().await,
        }
    }

    pub fn ping(&self) {
        send(&[NotifyState::Watchdog]);
    }
}

impl Default for Watchdog {
    fn default() -> Watchdog {
        Watchdog::new()
    }
}
