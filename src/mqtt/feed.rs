//! What `publish` sends: one message repeated, or lines of stdin or a file
//! read like `mosquitto_pub -l` (batched, paced, checked against the broker's
//! limits and, for `--replay`, schema v1); and readings from a source, paced.

use std::io::{BufRead, Read};
use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::publish::Input;
use super::{MqttError, Settings};
use crate::payload;

/// Sends `message` `count` times.
pub fn repeat(message: String, count: u64, tx: mpsc::Sender<Input>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        for _ in 0..count {
            if tx
                .send(Input::Payload(message.clone().into_bytes()))
                .await
                .is_err()
            {
                break;
            }
        }
    })
}

/// Lines to publish, read like `mosquitto_pub -l`: one message per line, empty
/// lines skipped; a line that cannot be sent stops the run after the ones before it.
pub struct Lines {
    pub path: Option<PathBuf>,
    pub count: Option<u64>,
    pub rate: Option<f64>,
    /// Check each line against schema v1 (`--replay`).
    pub validate: bool,
    pub settings: Settings,
}

impl Lines {
    /// Reads on a thread of its own (reads block); the thread stops at its
    /// next send once the publisher stops listening.
    pub fn spawn(self, tx: mpsc::Sender<Input>) {
        std::thread::spawn(move || self.read(&tx));
    }

    fn read(self, tx: &mpsc::Sender<Input>) {
        let fail = |message: String| {
            let _ = tx.blocking_send(Input::Fail(MqttError::Limit(message)));
        };
        let input: Box<dyn std::io::Read> = match &self.path {
            Some(path) => match std::fs::File::open(path) {
                Ok(file) => Box::new(file),
                Err(e) => return fail(format!("cannot read {}: {e}", path.display())),
            },
            None => Box::new(std::io::stdin()),
        };
        let mut reader = std::io::BufReader::with_capacity(256 * 1024, input);
        let name = self
            .path
            .as_ref()
            .map_or("stdin".to_string(), |p| p.display().to_string());
        let at = |index: usize| format!("{name} line {}", index + 1);
        let started = std::time::Instant::now();
        let mut sent: u64 = 0;
        let mut batch: Vec<Vec<u8>> = Vec::new();
        let mut index = 0;
        loop {
            if self.count.is_some_and(|n| sent >= n) {
                break;
            }
            let mut line = Vec::new();
            // At most one byte past the largest payload (and its line end): a
            // line that never ends (`--file /dev/zero`) is refused, not buffered.
            let limit = self.settings.max_payload() as u64 + 3;
            match (&mut reader).take(limit).read_until(b'\n', &mut line) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => return fail(format!("reading {} failed: {e}", at(index))),
            }
            if line.len() as u64 == limit && line.last() != Some(&b'\n') {
                let _ = tx.blocking_send(Input::Payloads(std::mem::take(&mut batch)));
                return fail(format!(
                    "{} runs past {} bytes without a line end, more than a message can hold \
                     (the lines before it were sent)",
                    at(index),
                    self.settings.max_payload()
                ));
            }
            index += 1;
            if line.last() == Some(&b'\n') {
                line.pop();
            }
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            if line.is_empty() {
                continue;
            }
            if let Err(too_big) = self.settings.check_payload(line.len()) {
                let _ = tx.blocking_send(Input::Payloads(std::mem::take(&mut batch)));
                return fail(format!(
                    "{}: {too_big} (the lines before it were sent)",
                    at(index - 1)
                ));
            }
            if self.validate
                && let Err(invalid) = payload::Reading::parse(&line)
            {
                let _ = tx.blocking_send(Input::Payloads(std::mem::take(&mut batch)));
                return fail(format!(
                    "{} is not a schema v1 reading: {invalid} (the lines before it were sent)",
                    at(index - 1)
                ));
            }
            if let Some(rate) = self.rate {
                let due = started + Duration::from_secs_f64(sent as f64 / rate);
                std::thread::sleep(due.saturating_duration_since(std::time::Instant::now()));
            }
            batch.push(line);
            sent += 1;
            // Hand over a batch when it is full, paced, or nothing more is buffered
            // (an interactive stdin must not wait for 256 lines).
            let hand_over = batch.len() >= 256 || self.rate.is_some() || reader.buffer().is_empty();
            if hand_over
                && tx
                    .blocking_send(Input::Payloads(std::mem::take(&mut batch)))
                    .is_err()
            {
                return;
            }
        }
        if !batch.is_empty() {
            let _ = tx.blocking_send(Input::Payloads(batch));
        }
    }
}

/// Feeds readings from `readings` into `tx` at `rate` per second (several per
/// wake-up at high rates, on a fixed schedule so the rate does not drift),
/// until `count` readings or until the engine stops listening.
pub async fn paced(
    mut readings: Box<dyn crate::sense::Source>,
    rate: f64,
    count: Option<u64>,
    tx: mpsc::Sender<Input>,
) {
    let started = Instant::now();
    let mut produced: u64 = 0;
    loop {
        let due = (started.elapsed().as_secs_f64() * rate) as u64 + 1;
        while produced < due && count.is_none_or(|n| produced < n) {
            let input = match readings.next_reading() {
                Ok(reading) => Input::Payload(reading.to_json().into_bytes()),
                Err(e) => {
                    tracing::error!("reading the sensors failed: {e}");
                    return;
                }
            };
            if tx.send(input).await.is_err() {
                return;
            }
            produced += 1;
        }
        if count.is_some_and(|n| produced >= n) {
            return;
        }
        tokio::time::sleep_until(started + Duration::from_secs_f64(produced as f64 / rate)).await;
    }
}
