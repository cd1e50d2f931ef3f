//! The publishing engine: sends messages, counts acknowledgements, re-sends what
//! a lost connection left unacknowledged, and keeps the outbox in step.
//!
//! Packet ids: rumqttc reports `Outgoing::Publish(pkid)` in the order requests
//! were submitted on a connection, so a FIFO of submitted ids maps each packet
//! id back to its message; an id is reused only after its PUBACK, so runs past
//! 65,535 messages lose nothing. A new connection starts with an empty FIFO and
//! everything unacknowledged is re-sent in id order.

use crate::payload::{KeyRanges, ReadingKey};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use rumqttc::{Event, Outgoing, Packet, QoS};
use serde::Serialize;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::connection::{Link, LinkEvent};
use super::{ConnectFailure, MqttError};
use crate::journal::{Journal, JournalError};

/// What a source hands the engine.
#[derive(Debug)]
pub enum Input {
    Payload(Vec<u8>),
    /// Several at once: fewer wake-ups for fast sources (lines from a file).
    Payloads(Vec<Vec<u8>>),
    /// The source cannot go on (e.g. an oversize line); stop after what was sent.
    Fail(MqttError),
}

pub struct PublishOptions {
    pub topic: String,
    pub qos: QoS,
    /// Give up after being unable to reach the broker this long (None: never).
    pub retry_for: Option<Duration>,
    /// After Ctrl-C, how long to wait for outstanding acknowledgements.
    pub drain_for: Duration,
    /// Keep the key of every acknowledged reading (`up` checks they all land).
    pub track_acked: bool,
    /// Publish with the retain flag: the broker keeps the last for new subscribers.
    pub retain: bool,
}

/// In the queue of ids waiting for a packet id: the birth message, which is
/// no reading and no outbox entry.
const BIRTH: u64 = u64::MAX;

/// The outcome of a run, printed as the summary.
#[derive(Debug, Default, Serialize)]
pub struct PublishReport {
    /// Messages to deliver (from the outbox and from the source).
    pub total: u64,
    /// Of those, taken over from an earlier run's outbox.
    pub from_outbox: u64,
    /// Written to the broker at least once.
    pub sent: u64,
    /// Acknowledged (QoS 1) or written (QoS 0).
    pub acknowledged: u64,
    /// Re-sent after a lost connection.
    pub resent: u64,
    pub reconnects: u64,
    /// Dropped because the outbox reached its cap.
    pub dropped: u64,
    /// With `track_acked`: the readings the broker acknowledged.
    #[serde(skip)]
    pub acked_keys: KeyRanges,
    pub seconds: f64,
    pub per_second: f64,
    pub interrupted: bool,
    /// The source was read to its end.
    pub input_complete: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

impl PublishReport {
    /// One line for stderr: what was sent, acknowledged, resent, dropped.
    pub fn summary(&self, endpoint: &str, qos: rumqttc::QoS) -> String {
        let report = self;
        let acked = if qos == rumqttc::QoS::AtMostOnce {
            "written (QoS 0)"
        } else {
            "acknowledged"
        };
        let mut text = format!(
            "published {} of {} messages to {}: {} {acked}, {} not, {} resent, {} reconnects; {:.0} msgs/s over {:.2} s",
            report.sent,
            report.total,
            endpoint,
            report.acknowledged,
            report.unacknowledged(),
            report.resent,
            report.reconnects,
            report.per_second,
            report.seconds,
        );
        if report.from_outbox > 0 {
            text.push_str(&format!("; {} came from the outbox", report.from_outbox));
        }
        if report.dropped > 0 {
            text.push_str(&format!("; {} dropped at the outbox cap", report.dropped));
        }
        text
    }

    /// Messages neither acknowledged nor dropped: each message is counted in
    /// at most one of the two (an in-flight message acknowledged after the
    /// cap dropped it from the outbox was delivered, not dropped).
    pub fn unacknowledged(&self) -> u64 {
        self.total
            .saturating_sub(self.acknowledged)
            .saturating_sub(self.dropped)
    }
}

#[derive(Debug)]
struct Message {
    id: u64,
    topic: Arc<str>,
    payload: Arc<[u8]>,
    sent_before: bool,
}

/// A message the outbox held: not sent by this run yet.
impl From<crate::journal::Entry> for Message {
    fn from(entry: crate::journal::Entry) -> Message {
        Message {
            id: entry.id,
            topic: Arc::from(entry.topic.as_str()),
            payload: Arc::from(entry.payload),
            sent_before: false,
        }
    }
}

struct Engine {
    link: Link,
    options: PublishOptions,
    outbox: Option<Journal>,
    queue: VecDeque<Message>,
    /// Submitted and not yet acknowledged, by id.
    inflight: BTreeMap<u64, Message>,
    /// Submitted ids waiting for their packet id, in submission order.
    awaiting_pkid: VecDeque<u64>,
    pkids: HashMap<u16, u64>,
    connected: bool,
    unreachable_since: Option<Instant>,
    /// Said once per outage, not at every retry.
    warned_unreachable: bool,
    next_id: u64,
    report: PublishReport,
    /// A connection failure that retrying cannot fix: stop at once.
    fatal: Option<MqttError>,
    /// The source failed: deliver what came before it, then stop.
    input_failure: Option<MqttError>,
    topic: Arc<str>,
    /// With an outbox: the first id kept only on disk, while the queue in
    /// memory is full (an outage); read back as the queue drains.
    spilled: Option<u64>,
    /// What the metrics were last told: total, acknowledged, dropped.
    exported: (u64, u64, u64),
    /// Connected and the status topic's birth message not sent yet.
    birth_due: bool,
}

/// How many messages to hold in memory ahead of the connection.
const QUEUE_AHEAD: usize = 4096;

/// Publishes everything `input` yields (and first what the outbox holds) until
/// the input ends and all is acknowledged, the broker stays unreachable past
/// `retry_for`, or `interrupt` fires.
pub async fn run(
    link: Link,
    options: PublishOptions,
    outbox: Option<(Journal, Vec<crate::journal::Entry>)>,
    mut input: mpsc::Receiver<Input>,
    interrupt: impl std::future::Future<Output = ()>,
) -> Outcome {
    let started = Instant::now();
    let mut engine = Engine::new(link, options, outbox, started);
    tokio::pin!(interrupt);
    let mut input_open = true;
    let mut drain_deadline: Option<Instant> = None;
    let mut ticker = tokio::time::interval(Duration::from_millis(250));
    let mut watchdog = crate::systemd::Watchdog::new();
    loop {
        if let Err(e) = engine.refill() {
            engine.fatal = Some(e.into());
        }
        engine.submit();
        let idle =
            engine.queue.is_empty() && engine.inflight.is_empty() && engine.spilled.is_none();
        if (!input_open && idle) || engine.fatal.is_some() {
            break;
        }
        if drain_deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        if engine.gave_up() {
            break;
        }
        // With an outbox, sampling never waits for the broker: what does not
        // fit in memory goes to disk only (up to the outbox's cap).
        let want_input =
            input_open && (engine.queue.len() < QUEUE_AHEAD || engine.outbox.is_some());
        tokio::select! {
            () = &mut interrupt, if !engine.report.interrupted => {
                engine.report.interrupted = true;
                input_open = false;
                input.close();
                // Unsent messages stay unsent (they are safe in the outbox, if any);
                // what is in flight gets a moment to be acknowledged.
                engine.queue.clear();
                engine.spilled = None;
                drain_deadline = Some(Instant::now() + engine.options.drain_for);
            }
            received = input.recv(), if want_input => match received {
                Some(first) => {
                    if let Err(e) = engine.accept_batch(first, &mut input) {
                        engine.fatal = Some(e.into());
                    }
                }
                None => input_open = false,
            },
            event = engine.link.next() => {
                let handled = match event {
                    Ok(event) => engine.handle(event).map_err(MqttError::from),
                    Err(e) => Err(e),
                };
                if let Err(e) = handled {
                    engine.fatal = Some(e);
                }
            }
            _ = ticker.tick() => {
                if let Some(Err(e)) = engine.outbox.as_mut().map(Journal::save_cursor) {
                    engine.fatal = Some(e.into());
                }
                engine.export_metrics();
            }
            () = watchdog.due() => watchdog.ping(),
        }
    }

    engine.link.disconnect().await;
    engine.export_metrics();
    engine.finish(started, input_open)
}

/// A run's report, and the error that ended it early, if any.
pub struct Outcome {
    pub report: PublishReport,
    pub error: Option<MqttError>,
}

impl Engine {
    /// Brings the process's metrics up to this publisher's report.
    fn export_metrics(&mut self) {
        let metrics = &crate::metrics::get().publishing;
        let report = &self.report;
        let (total, acked, dropped) = self.exported;
        metrics.published.inc_by(report.total.saturating_sub(total));
        metrics
            .acknowledged
            .inc_by(report.acknowledged.saturating_sub(acked));
        metrics
            .outbox_dropped
            .inc_by(report.dropped.saturating_sub(dropped));
        let backlog_before = total.saturating_sub(acked).saturating_sub(dropped);
        let backlog = report.unacknowledged();
        metrics
            .outbox_backlog
            .inc_by(backlog as i64 - backlog_before as i64);
        self.exported = (report.total, report.acknowledged, report.dropped);
    }

    /// A publisher on `link`, with what the outbox holds queued first.
    fn new(
        link: Link,
        options: PublishOptions,
        outbox: Option<(Journal, Vec<crate::journal::Entry>)>,
        started: Instant,
    ) -> Engine {
        let topic: Arc<str> = Arc::from(options.topic.as_str());
        let (outbox, backlog) = match outbox {
            Some((outbox, backlog)) => (Some(outbox), backlog),
            None => (None, Vec::new()),
        };
        let mut engine = Engine {
            link,
            options,
            outbox,
            queue: VecDeque::new(),
            inflight: BTreeMap::new(),
            awaiting_pkid: VecDeque::new(),
            pkids: HashMap::new(),
            connected: false,
            unreachable_since: Some(started),
            warned_unreachable: false,
            next_id: 0,
            report: PublishReport::default(),
            exported: (0, 0, 0),
            birth_due: false,
            fatal: None,
            input_failure: None,
            topic,
            spilled: None,
        };
        engine.report.from_outbox = backlog.len() as u64;
        engine.report.total = backlog.len() as u64;
        engine.queue.extend(backlog.into_iter().map(Message::from));
        engine
    }

    /// Closes the outbox and completes the report: what was dropped at the
    /// cap, reconnects, the rate, and whether the input was sent whole.
    fn finish(mut self, started: Instant, input_open: bool) -> Outcome {
        let mut error = self.fatal.or(self.input_failure);
        if let Some(outbox) = self.outbox.as_mut() {
            if let Err(closing) = outbox.close() {
                error.get_or_insert(closing.into());
            }
            // Dropped at the cap and still waiting: queued, or in flight when the
            // run ended without their acknowledgement.
            let gone = self
                .queue
                .iter()
                .map(|m| m.id)
                .chain(self.inflight.keys().copied())
                .filter(|id| outbox.is_gone(*id))
                .count() as u64;
            self.report.dropped += gone;
        }
        self.report.reconnects = self.link.connects.saturating_sub(1);
        self.report.seconds = started.elapsed().as_secs_f64();
        self.report.per_second = self.report.acknowledged as f64 / self.report.seconds.max(1e-9);
        self.report.input_complete = !input_open && !self.report.interrupted && error.is_none();
        Outcome {
            report: self.report,
            error,
        }
    }

    /// Takes the first input and whatever else is ready, appends the batch to the
    /// outbox with one sync, then queues it.
    fn accept_batch(
        &mut self,
        first: Input,
        input: &mut mpsc::Receiver<Input>,
    ) -> Result<(), JournalError> {
        // At most about 1,024 payloads per sync, counting those inside batches.
        let size = |input: &Input| match input {
            Input::Payloads(payloads) => payloads.len(),
            _ => 1,
        };
        let mut taken = size(&first);
        let mut batch = vec![first];
        while taken < 1024 {
            match input.try_recv() {
                Ok(more) => {
                    taken += size(&more);
                    batch.push(more);
                }
                Err(_) => break,
            }
        }
        for item in batch {
            match item {
                Input::Payload(payload) => self.enqueue(payload)?,
                Input::Payloads(payloads) => {
                    for payload in payloads {
                        self.enqueue(payload)?;
                    }
                }
                Input::Fail(error) => {
                    self.input_failure = Some(error);
                    input.close();
                    break;
                }
            }
        }
        if let Some(outbox) = self.outbox.as_mut() {
            outbox.sync()?;
        }
        Ok(())
    }

    fn enqueue(&mut self, payload: Vec<u8>) -> Result<(), JournalError> {
        let id = match self.outbox.as_mut() {
            Some(outbox) => outbox.append(&self.topic, &payload)?,
            None => {
                self.next_id += 1;
                self.next_id - 1
            }
        };
        self.report.total += 1;
        if self.outbox.is_some() && (self.spilled.is_some() || self.queue.len() >= QUEUE_AHEAD) {
            self.spilled.get_or_insert(id);
            return Ok(());
        }
        self.queue.push_back(Message {
            id,
            topic: self.topic.clone(),
            payload: Arc::from(payload),
            sent_before: false,
        });
        Ok(())
    }

    /// Submits queued messages while the window has room.
    /// Reads spilled messages back from the outbox once the queue has room
    /// again; those the outbox's cap dropped meanwhile are counted as dropped.
    fn refill(&mut self) -> Result<(), JournalError> {
        let (Some(from), Some(outbox)) = (self.spilled, self.outbox.as_mut()) else {
            return Ok(());
        };
        if self.queue.len() >= QUEUE_AHEAD / 2 {
            return Ok(());
        }
        let entries = outbox.read_from(from, QUEUE_AHEAD - self.queue.len())?;
        let next = entries.last().map_or(outbox.next_id(), |e| e.id + 1);
        let first = entries.first().map_or(next, |e| e.id);
        self.report.dropped += first - from;
        self.queue.extend(entries.into_iter().map(Message::from));
        self.spilled = (next < outbox.next_id()).then_some(next);
        Ok(())
    }

    fn submit(&mut self) {
        if !self.connected {
            return;
        }
        let Some(client) = self.link.client() else {
            return;
        };
        if std::mem::take(&mut self.birth_due)
            && let Some(status) = &self.link.settings().status
            && let Some(birth) = &status.birth
        {
            // First on every connection, so the status says online before any reading.
            if client
                .try_publish(&status.topic, status.qos, status.retain, birth.clone())
                .is_ok()
            {
                self.awaiting_pkid.push_back(BIRTH);
            } else {
                self.birth_due = true;
            }
        }
        let window = usize::from(self.link.settings().max_inflight);
        while self.awaiting_pkid.len() + self.pkids.len() < window {
            let Some(mut message) = self.queue.pop_front() else {
                break;
            };
            if self.outbox.as_ref().is_some_and(|o| o.is_gone(message.id)) {
                // Dropped at the outbox cap: counted once, here, never sent again.
                self.report.dropped += 1;
                continue;
            }
            let sent = client.try_publish(
                message.topic.as_ref(),
                self.options.qos,
                self.options.retain,
                message.payload.to_vec(),
            );
            if sent.is_err() {
                self.queue.push_front(message);
                break;
            }
            if message.sent_before {
                self.report.resent += 1;
            } else {
                message.sent_before = true;
                self.report.sent += 1;
            }
            self.awaiting_pkid.push_back(message.id);
            self.inflight.insert(message.id, message);
        }
    }

    fn handle(&mut self, event: LinkEvent) -> Result<(), JournalError> {
        match event {
            LinkEvent::Event(Event::Incoming(Packet::ConnAck(_))) => {
                crate::metrics::health().ok("broker");
                self.connected = true;
                self.birth_due = true;
                self.unreachable_since = None;
                self.warned_unreachable = false;
            }
            LinkEvent::Event(Event::Outgoing(Outgoing::Publish(pkid))) => {
                let Some(id) = self.awaiting_pkid.pop_front() else {
                    return Ok(());
                };
                if id == BIRTH {
                    return Ok(());
                }
                if self.options.qos == QoS::AtMostOnce {
                    self.acknowledged(id)?;
                } else {
                    self.pkids.insert(pkid, id);
                }
            }
            LinkEvent::Event(Event::Incoming(Packet::PubAck(ack))) => {
                if let Some(id) = self.pkids.remove(&ack.pkid) {
                    self.acknowledged(id)?;
                }
            }
            LinkEvent::Event(_) => {}
            LinkEvent::Lost { error, failure } => {
                if self.connected {
                    tracing::warn!(
                        "lost the connection to {}: {error}; reconnecting",
                        self.link.settings().endpoint()
                    );
                } else {
                    tracing::info!(
                        "cannot reach {}: {error}; retrying",
                        self.link.settings().endpoint()
                    );
                }
                self.connected = false;
                crate::metrics::health().fail("broker", format!("unreachable: {error}"));
                self.unreachable_since.get_or_insert_with(Instant::now);
                self.report.last_error = Some(error.clone());
                // Everything unacknowledged goes back to the front, in id order.
                self.awaiting_pkid.clear();
                self.pkids.clear();
                let unacked = std::mem::take(&mut self.inflight);
                for (_, message) in unacked.into_iter().rev() {
                    self.queue.push_front(message);
                }
                if failure != ConnectFailure::Transient {
                    self.fatal = Some(MqttError::Connect {
                        endpoint: self.link.settings().endpoint(),
                        reason: error,
                        kind: failure,
                    });
                }
            }
        }
        Ok(())
    }

    fn acknowledged(&mut self, id: u64) -> Result<(), JournalError> {
        if let Some(message) = self.inflight.remove(&id) {
            self.report.acknowledged += 1;
            if self.options.track_acked
                && let Some(key) = ReadingKey::of(&message.payload)
            {
                self.report.acked_keys.insert_key(&key);
            }
            if let Some(outbox) = self.outbox.as_mut() {
                outbox.ack(id)?;
            }
        }
        Ok(())
    }

    /// True when the broker has been unreachable for longer than allowed while
    /// there is something to deliver.
    fn gave_up(&self) -> bool {
        let (Some(since), Some(limit)) = (self.unreachable_since, self.options.retry_for) else {
            return false;
        };
        since.elapsed() >= limit
    }
}
