//! One broker connection at a time, replaced by a fresh one after a failure.
//!
//! rumqttc's event loop runs in its own task (awaiting a request from the task
//! that polls deadlocks once the channel is full) and forwards its events,
//! tagged with the connection's generation so late events of a dead connection
//! are ignored. Reconnects back off exponentially with full jitter.

use std::time::Duration;

use rumqttc::{AsyncClient, ConnectReturnCode, ConnectionError, Event};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::{ConnectFailure, MqttError, Session, Settings};

const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// What the link reports.
#[derive(Debug)]
pub enum LinkEvent {
    /// An MQTT event on the current connection (ConnAck first).
    Event(Event),
    /// The current connection failed; a new one is attempted after a backoff.
    Lost {
        error: String,
        failure: ConnectFailure,
    },
}

pub struct Link {
    settings: Settings,
    session: Session,
    tx: mpsc::UnboundedSender<(u64, Result<Event, ConnectionError>)>,
    rx: mpsc::UnboundedReceiver<(u64, Result<Event, ConnectionError>)>,
    generation: u64,
    client: Option<AsyncClient>,
    task: Option<JoinHandle<()>>,
    reconnect_at: Option<Instant>,
    failures: u32,
    pub connects: u64,
}

impl Link {
    /// Prepares a link; checks the options (TLS files) without connecting.
    pub fn new(settings: Settings, session: Session) -> Result<Link, MqttError> {
        settings.options(session)?;
        let (tx, rx) = mpsc::unbounded_channel();
        Ok(Link {
            settings,
            session,
            tx,
            rx,
            generation: 0,
            client: None,
            task: None,
            reconnect_at: Some(Instant::now()),
            failures: 0,
            connects: 0,
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The client of the current connection, once connected.
    pub fn client(&self) -> Option<&AsyncClient> {
        self.client.as_ref()
    }

    fn spawn(&mut self) -> Result<(), MqttError> {
        self.drop_connection();
        self.generation += 1;
        let mut options = self.settings.options(self.session)?;
        options.set_request_channel_capacity(usize::from(self.settings.max_inflight) + 16);
        let (client, mut eventloop) =
            AsyncClient::new(options, usize::from(self.settings.max_inflight) + 16);
        let tx = self.tx.clone();
        let generation = self.generation;
        self.task = Some(tokio::spawn(async move {
            loop {
                let event = eventloop.poll().await;
                let failed = event.is_err();
                if tx.send((generation, event)).is_err() || failed {
                    break;
                }
            }
        }));
        self.client = Some(client);
        Ok(())
    }

    fn drop_connection(&mut self) {
        self.client = None;
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    /// The next event of the current connection, connecting (again) when due.
    pub async fn next(&mut self) -> Result<LinkEvent, MqttError> {
        loop {
            if let Some(at) = self.reconnect_at {
                tokio::time::sleep_until(at).await;
                self.reconnect_at = None;
                self.spawn()?;
            }
            let Some((generation, event)) = self.rx.recv().await else {
                // Unreachable while self.tx lives; treat as a lost connection.
                self.schedule_reconnect();
                continue;
            };
            if generation != self.generation {
                continue;
            }
            match event {
                Ok(event) => {
                    if matches!(event, Event::Incoming(rumqttc::Packet::ConnAck(_))) {
                        self.failures = 0;
                        self.connects += 1;
                    }
                    return Ok(LinkEvent::Event(event));
                }
                Err(error) => {
                    self.drop_connection();
                    let failure = classify(&error);
                    self.schedule_reconnect();
                    return Ok(LinkEvent::Lost {
                        error: describe(&error),
                        failure,
                    });
                }
            }
        }
    }

    fn schedule_reconnect(&mut self) {
        let ceiling = BACKOFF_START
            .saturating_mul(1 << self.failures.min(10))
            .min(BACKOFF_MAX);
        self.failures += 1;
        let delay = ceiling.mul_f64(fastrand::f64());
        self.reconnect_at = Some(Instant::now() + delay);
    }

    /// Asks the broker for a clean disconnect and waits briefly for it to go out.
    pub async fn disconnect(&mut self) {
        if let Some(client) = self.client.take() {
            let _ = client.try_disconnect();
            let wait = async {
                while let Some((generation, event)) = self.rx.recv().await {
                    let done = matches!(
                        event,
                        Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) | Err(_)
                    );
                    if generation == self.generation && done {
                        break;
                    }
                }
            };
            let _ = tokio::time::timeout(Duration::from_secs(2), wait).await;
        }
        self.drop_connection();
        self.reconnect_at = None;
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.drop_connection();
    }
}

fn classify(error: &ConnectionError) -> ConnectFailure {
    match error {
        ConnectionError::ConnectionRefused(
            ConnectReturnCode::BadUserNamePassword
            | ConnectReturnCode::NotAuthorized
            | ConnectReturnCode::BadClientId
            | ConnectReturnCode::RefusedProtocolVersion,
        ) => ConnectFailure::Auth,
        ConnectionError::Tls(rumqttc::TlsError::Io(io)) if !is_tls_failure(io) => {
            ConnectFailure::Transient
        }
        ConnectionError::Tls(_) => ConnectFailure::Tls,
        ConnectionError::Io(io) if is_tls_failure(io) => ConnectFailure::Tls,
        _ => ConnectFailure::Transient,
    }
}

/// rustls reports certificate problems through io::Error with a rustls::Error inside.
fn is_tls_failure(io: &std::io::Error) -> bool {
    io.get_ref()
        .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some())
}

/// A one-line description of a connection error: its deepest cause, which is
/// the informative part ("Connection reset by peer"), not the wrapping layers.
pub fn describe(error: &ConnectionError) -> String {
    if let ConnectionError::ConnectionRefused(code) = error {
        return format!("the broker refused the connection ({code:?})");
    }
    let mut deepest: &dyn std::error::Error = error;
    while let Some(source) = deepest.source() {
        deepest = source;
    }
    // io::Error wrapping a rustls error: the rustls text says what was wrong.
    if let Some(io) = deepest.downcast_ref::<std::io::Error>()
        && let Some(inner) = io.get_ref()
    {
        return inner.to_string();
    }
    deepest.to_string()
}

/// How a broker answered a connection attempt (`doctor`).
pub enum Probe {
    Connected,
    Refused {
        error: String,
        failure: ConnectFailure,
    },
    NoAnswer,
}

/// Connects once with a clean session and disconnects; `timeout` bounds the wait.
pub async fn probe(settings: Settings, timeout: Duration) -> Result<Probe, MqttError> {
    let mut link = Link::new(settings, Session::Clean)?;
    let outcome = tokio::time::timeout(timeout, async {
        loop {
            match link.next().await {
                Ok(LinkEvent::Event(Event::Incoming(rumqttc::Packet::ConnAck(_)))) => {
                    return Probe::Connected;
                }
                Ok(LinkEvent::Event(_)) => continue,
                Ok(LinkEvent::Lost { error, failure }) => return Probe::Refused { error, failure },
                Err(error) => {
                    return Probe::Refused {
                        error: error.to_string(),
                        failure: ConnectFailure::Tls,
                    };
                }
            }
        }
    })
    .await
    .unwrap_or(Probe::NoAnswer);
    if matches!(outcome, Probe::Connected) {
        link.disconnect().await;
    }
    Ok(outcome)
}
