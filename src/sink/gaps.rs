//! Readings a run skipped: the one sign of a broker that dropped messages it
//! had acknowledged (mosquitto drops for a subscriber whose queue is full,
//! `max_queued_messages`, and its `$SYS` counters do not say so for a
//! persistent session that was away). A run numbers its readings one after
//! another, so a hole that stays open is a loss, named at once.

use std::time::Duration;

use crate::payload::KeyRanges;

#[derive(Debug, Default)]
pub struct Gaps {
    seen: KeyRanges,
    /// The holes at the last check: one still open a check later is reported
    /// (an outbox or a redelivery may fill it in between).
    earlier: KeyRanges,
    reported: KeyRanges,
}

impl Gaps {
    pub fn saw(&mut self, device_id: &str, run_id: &str, seq: u64) {
        self.seen.insert(device_id, run_id, seq);
    }

    /// Warns of holes open since the last check, `waited` ago (one buffer
    /// interval); returns how many readings it reported now, and how many
    /// reported so far have not arrived since.
    pub fn check(&mut self, waited: Duration) -> (u64, u64) {
        let holes = self.seen.holes();
        let new = holes.intersection(&self.earlier).difference(&self.reported);
        let reported_now = new.len();
        if !new.is_empty() {
            let ranges: Vec<String> = new
                .ranges()
                .map(|(device, run, lo, hi)| format!("{device} run {run} seq {lo}..={hi}"))
                .collect();
            tracing::warn!(
                "{} readings never arrived (still missing after {}): {}{}; a broker drops \
                 messages it acknowledged when a subscriber's queue is full (mosquitto: \
                 max_queued_messages, max_queued_bytes; `iotpipe doctor` checks them)",
                new.len(),
                humantime::format_duration(Duration::from_secs(waited.as_secs().max(1))),
                ranges[..ranges.len().min(5)].join(", "),
                if ranges.len() > 5 { ", ..." } else { "" }
            );
            self.reported.extend(new);
        }
        let missing = holes.intersection(&self.reported).len();
        self.earlier = holes;
        (reported_now, missing)
    }
}
