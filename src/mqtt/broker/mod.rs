//! The embedded broker of `iotpipe up`: an MQTT 3.1.1 server on loopback
//! unless told otherwise, for a pipeline that needs no broker installed.
//!
//! Publishes to the ingest filter (the readings' topic) are handed to the
//! sink, and a QoS 1 PUBACK (QoS 2 PUBREC) goes back only once the sink has
//! synced them to its journal: an acknowledged reading is a landed reading,
//! and a burst slows publishers down instead of being dropped. What waits
//! for the journal is bounded in bytes (`sink.ingest_bytes`); past it the
//! broker stops reading from publishers, and their outboxes hold the rest.
//!
//! Every other topic is routed to subscribers (`tail mqtt`) with what a
//! server must do by the standard: retained messages, wills, persistent
//! sessions with their queued messages, redelivery on reconnect, keep alive
//! (0 turns it off, section 3.1.2.10).
//!
//! Packets are read and written by rumqttc's MQTT 3.1.1 codec; this module
//! decides only what a broker decides: when to acknowledge and whom to send to.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use rumqttc::{Publish, QoS};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc, oneshot};

use super::subscribe::{Deliveries, Delivery};
use super::topic;

mod connection;

/// How the embedded broker runs.
#[derive(Debug, Clone)]
pub struct BrokerOptions {
    pub listen: SocketAddr,
    /// Publishes matching this filter go to the [`Ingest`], acknowledged once journaled.
    pub ingest_filter: String,
    /// Bytes of payload handed to the ingest and not journaled yet, at most.
    pub ingest_bytes: u64,
    /// Messages queued for one subscriber (online or away with a persistent
    /// session) before the oldest is dropped, with a warning and a count.
    pub max_queued: usize,
}

impl BrokerOptions {
    pub fn new(listen: SocketAddr, ingest_filter: &str, ingest_bytes: u64) -> BrokerOptions {
        BrokerOptions {
            listen,
            ingest_filter: ingest_filter.to_string(),
            ingest_bytes,
            max_queued: 10_000,
        }
    }
}

/// The largest packet accepted: a reading is at most 128 KiB (IoT Core's
/// limit), other topics get eight times that.
const MAX_PACKET: usize = crate::mqtt::IOT_MAX_PAYLOAD * 8;

/// What the broker counted since it started.
#[derive(Debug, Default)]
pub struct BrokerStats {
    /// Ingest publishes acknowledged (QoS 1 and 2) after the journal had them.
    pub ingest_acknowledged: AtomicU64,
    /// Ingest publishes at QoS 0, journaled with no acknowledgement to send.
    pub ingest_unacknowledged: AtomicU64,
    /// Messages to subscribers dropped because a queue was full.
    pub dropped: AtomicU64,
    pub connections: AtomicU64,
}

/// The running broker; it runs until the process ends.
pub struct Broker {
    pub stats: Arc<BrokerStats>,
}

/// A publish the broker took on the ingest filter, holding its share of
/// `ingest_bytes` until it is dropped.
#[derive(Debug)]
pub struct Ingested {
    pub publish: Publish,
    /// Completed once the journal has it (QoS 1 and 2): the broker then
    /// acknowledges it. Dropped without completing: the connection is closed
    /// unacknowledged and the publisher sends it again.
    pub ack: Option<oneshot::Sender<()>>,
    _held: OwnedSemaphorePermit,
}

/// The sink's end of the broker: the publishes on the ingest filter, in the
/// order each publisher sent them.
pub struct Ingest {
    rx: mpsc::UnboundedReceiver<Ingested>,
    filter: String,
    announced: bool,
    /// Acknowledgements of what was delivered and not acknowledged yet.
    unacked: Vec<oneshot::Sender<()>>,
}

impl Deliveries for Ingest {
    async fn next(&mut self) -> Result<Delivery, crate::mqtt::MqttError> {
        if !self.announced {
            self.announced = true;
            return Ok(Delivery::Connected);
        }
        match self.rx.recv().await {
            Some(Ingested { publish, ack, .. }) => {
                self.unacked.extend(ack);
                Ok(Delivery::Message(publish))
            }
            // The broker lives as long as the process.
            None => std::future::pending().await,
        }
    }

    async fn ack_delivered(&mut self) {
        for ack in self.unacked.drain(..) {
            let _ = ack.send(());
        }
    }

    fn describe(&self) -> String {
        format!("taking {} from the embedded broker", self.filter)
    }
}

/// Starts the broker on `options.listen`, in a thread of its own, and
/// returns it with the ingest the sink reads.
pub fn start(options: BrokerOptions) -> anyhow::Result<(Broker, Ingest)> {
    let listen = options.listen;
    let listener = TcpListener::bind(listen)
        .with_context(|| format!("the embedded broker cannot listen on {listen}"))?;
    listener
        .set_nonblocking(true)
        .context("the embedded broker's socket")?;
    let (tx, rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        state: Mutex::new(State::default()),
        ingest: IngestSide {
            filter: options.ingest_filter.clone(),
            tx,
            room: Arc::new(Semaphore::new(
                usize::try_from(options.ingest_bytes).unwrap_or(usize::MAX),
            )),
            limit: options.ingest_bytes,
        },
        max_queued: options.max_queued,
        stats: Arc::new(BrokerStats::default()),
    });
    let stats = shared.stats.clone();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("the embedded broker's runtime")?;
    std::thread::Builder::new()
        .name("broker".into())
        .spawn(move || runtime.block_on(accept(listener, shared)))
        .context("starting the embedded broker")?;
    wait_listening(listen)?;
    let ingest = Ingest {
        rx,
        filter: options.ingest_filter,
        announced: false,
        unacked: Vec::new(),
    };
    Ok((Broker { stats }, ingest))
}

async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(e) => {
            tracing::error!("the embedded broker stopped: {e}");
            return;
        }
    };
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                shared.stats.connections.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(connection::serve(shared.clone(), stream, peer));
            }
            // Out of file descriptors and the like: pass, and try again.
            Err(e) => {
                tracing::warn!("the embedded broker could not accept a connection: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

fn wait_listening(listen: SocketAddr) -> anyhow::Result<()> {
    let reach = if listen.ip().is_unspecified() {
        SocketAddr::new(Ipv4Addr::LOCALHOST.into(), listen.port())
    } else {
        listen
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(reach).is_err() {
        if std::time::Instant::now() > deadline {
            anyhow::bail!("the embedded broker did not start listening on {listen}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}

/// `preferred` if it is free on `address`, else any free port.
pub fn free_port(address: IpAddr, preferred: u16) -> anyhow::Result<u16> {
    if TcpListener::bind((address, preferred)).is_ok() {
        return Ok(preferred);
    }
    let listener = TcpListener::bind((address, 0)).context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// What every connection shares.
struct Shared {
    state: Mutex<State>,
    ingest: IngestSide,
    max_queued: usize,
    stats: Arc<BrokerStats>,
}

struct IngestSide {
    filter: String,
    tx: mpsc::UnboundedSender<Ingested>,
    /// Permits are bytes of payload not journaled yet.
    room: Arc<Semaphore>,
    limit: u64,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends `publish` to every subscription that matches it, and keeps it
    /// as the topic's retained message if it says so.
    fn route(&self, publish: &Publish) {
        let mut state = self.state();
        if publish.retain {
            if publish.payload.is_empty() {
                state.retained.remove(&publish.topic);
            } else {
                state.retained.insert(
                    publish.topic.clone(),
                    (publish.payload.clone(), publish.qos),
                );
            }
        }
        let mut dropped = 0;
        for session in state.sessions.values_mut() {
            let granted = session
                .subscriptions
                .iter()
                .filter(|(filter, _)| topic::matches(&publish.topic, filter))
                .map(|(_, qos)| *qos)
                .max_by_key(|qos| *qos as u8);
            let Some(granted) = granted else { continue };
            let qos = lower(publish.qos, granted);
            if session.online.is_none() && (session.clean || qos == QoS::AtMostOnce) {
                continue;
            }
            let mut copy = Publish::from_bytes(publish.topic.clone(), qos, publish.payload.clone());
            copy.retain = false;
            dropped += session.enqueue(copy, self.max_queued);
        }
        drop(state);
        if dropped > 0 {
            let total = self.stats.dropped.fetch_add(dropped, Ordering::Relaxed) + dropped;
            if total == dropped || total % 1000 < dropped {
                tracing::warn!(
                    "the embedded broker dropped {total} messages so far for subscribers whose \
                     queue of {} was full (the sink's readings are not among them)",
                    self.max_queued
                );
            }
        }
    }

    /// The retained messages `filter` matches, marked retained.
    fn retained_for(&self, filter: &str, granted: QoS) -> Vec<Publish> {
        self.state()
            .retained
            .iter()
            .filter(|(topic, _)| topic::matches(topic, filter))
            .map(|(topic, (payload, qos))| {
                let mut publish =
                    Publish::from_bytes(topic.clone(), lower(*qos, granted), payload.clone());
                publish.retain = true;
                publish
            })
            .collect()
    }
}

fn lower(a: QoS, b: QoS) -> QoS {
    if (a as u8) <= (b as u8) { a } else { b }
}

#[derive(Default)]
struct State {
    sessions: HashMap<String, Session>,
    retained: BTreeMap<String, (Bytes, QoS)>,
    next_connection: u64,
}

/// A client's session: what it subscribed to and what it is owed. A clean
/// session ends with its connection; a persistent one stays for the next.
#[derive(Default)]
struct Session {
    clean: bool,
    subscriptions: Vec<(String, QoS)>,
    /// To send: QoS 0 only while connected, QoS 1 and 2 also while away.
    queued: VecDeque<Publish>,
    /// Sent at QoS 1 or 2 and not yet acknowledged, by packet id.
    inflight: BTreeMap<u16, Outgoing>,
    last_pkid: u16,
    online: Option<Online>,
}

enum Outgoing {
    Publish(Publish),
    /// PUBREC received, PUBREL sent, PUBCOMP awaited.
    Released,
}

struct Online {
    connection: u64,
    /// Something was queued.
    wake: Arc<Notify>,
    /// Another connection took the client id over (3.1.4-2).
    taken_over: Arc<Notify>,
}

impl Session {
    /// Queues `publish`; returns 1 if the oldest had to be dropped for room.
    fn enqueue(&mut self, publish: Publish, max_queued: usize) -> u64 {
        let mut dropped = 0;
        if self.queued.len() >= max_queued {
            self.queued.pop_front();
            dropped = 1;
        }
        self.queued.push_back(publish);
        if let Some(online) = &self.online {
            online.wake.notify_one();
        }
        dropped
    }

    fn next_pkid(&mut self) -> u16 {
        loop {
            self.last_pkid = self.last_pkid.wrapping_add(1).max(1);
            if !self.inflight.contains_key(&self.last_pkid) {
                return self.last_pkid;
            }
        }
    }
}
