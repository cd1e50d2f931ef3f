//! One client's connection to the embedded broker, from CONNECT to the end:
//! its publishes (the ingest's acknowledged once journaled, in the order
//! received, as section 4.6 requires), its subscriptions, what it is sent.

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::BytesMut;
use rumqttc::mqttbytes::Error as CodecError;
use rumqttc::{
    ConnAck, Connect, ConnectReturnCode, LastWill, Packet, PubAck, PubComp, PubRec, PubRel,
    Publish, QoS, SubAck, SubscribeReasonCode, UnsubAck,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::{Notify, oneshot};
use tokio::time::Instant;

use super::{Ingested, MAX_PACKET, Online, Outgoing, Session, Shared};
use crate::mqtt::topic;

/// How long a new connection has to send CONNECT.
const CONNECT_WAIT: Duration = Duration::from_secs(10);
/// Publishes of one connection waiting for their acknowledgement, at most;
/// past it the connection is not read until the journal catches up.
const MAX_AWAITING: usize = 1024;
/// Messages sent to a subscriber at QoS 1 or 2 and not acknowledged, at most.
const MAX_INFLIGHT_OUT: usize = 100;

#[derive(Debug, thiserror::Error)]
enum ConnectionError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("malformed packet: {0}")]
    Codec(#[from] CodecError),
    #[error("{0}")]
    Protocol(String),
    #[error("the sink stopped before journaling a publish")]
    SinkGone,
}

/// How a connection ended: with DISCONNECT (the will is discarded) or not.
#[derive(PartialEq)]
enum End {
    Disconnected,
    Dropped,
}

/// A publish whose acknowledgement waits its turn (and, for the ingest, the journal).
struct Awaiting {
    pkid: u16,
    qos: QoS,
    /// Handed to the ingest, so counted among the readings acknowledged.
    ingest: bool,
    /// Completes once journaled; None once it has (or when never to be).
    journaled: Option<oneshot::Receiver<()>>,
}

struct Connection {
    shared: Arc<Shared>,
    stream: TcpStream,
    input: BytesMut,
    output: BytesMut,
    client_id: String,
    number: u64,
    awaiting: VecDeque<Awaiting>,
    /// QoS 2 packet ids received and not yet released by PUBREL.
    received_qos2: HashSet<u16>,
}

pub(super) async fn serve(shared: Arc<Shared>, stream: TcpStream, peer: SocketAddr) {
    let mut connection = Connection {
        shared,
        stream,
        input: BytesMut::with_capacity(16 * 1024),
        output: BytesMut::with_capacity(16 * 1024),
        client_id: String::new(),
        number: 0,
        awaiting: VecDeque::new(),
        received_qos2: HashSet::new(),
    };
    let connect = match connection.handshake().await {
        Ok(Some(connect)) => connect,
        Ok(None) => return,
        Err(e) => {
            tracing::debug!("{peer}: closed before connecting: {e}");
            return;
        }
    };
    let (wake, taken_over) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let end = match connection.open(&connect, &wake, &taken_over).await {
        Ok(()) => {
            let keep_alive = (connect.keep_alive > 0)
                .then(|| Duration::from_millis(u64::from(connect.keep_alive) * 1500));
            connection.run(keep_alive, &wake, &taken_over).await
        }
        Err(e) => Err(e),
    };
    let end = end.unwrap_or_else(|e| {
        tracing::debug!("{peer} ({}): {e}", connection.client_id);
        End::Dropped
    });
    if end == End::Dropped
        && let Some(will) = connect.last_will
    {
        connection.shared.route(&will_publish(will));
    }
    connection.close();
}

fn will_publish(will: LastWill) -> Publish {
    let mut publish = Publish::from_bytes(will.topic, will.qos, will.message);
    publish.retain = will.retain;
    publish
}

impl Connection {
    /// Reads CONNECT; refuses what MQTT 3.1.1 says to refuse with a CONNACK
    /// naming why (None then).
    async fn handshake(&mut self) -> Result<Option<Connect>, ConnectionError> {
        let first = tokio::time::timeout(CONNECT_WAIT, self.read_packet()).await;
        let refuse = match first {
            Err(_) => return Err(ConnectionError::Protocol("no CONNECT in time".into())),
            Ok(Ok(Some(Packet::Connect(connect)))) => {
                if connect.protocol != rumqttc::Protocol::V4 {
                    ConnectReturnCode::RefusedProtocolVersion
                } else if connect.client_id.is_empty() && !connect.clean_session {
                    // 3.1.3-8: a persistent session needs an id to find it again.
                    ConnectReturnCode::BadClientId
                } else if connect
                    .last_will
                    .as_ref()
                    .is_some_and(|will| !topic::valid_name(&will.topic))
                {
                    return Err(ConnectionError::Protocol(
                        "a will topic with wildcards".into(),
                    ));
                } else {
                    return Ok(Some(connect));
                }
            }
            // 3.1.2.2: a protocol level this server does not speak.
            Ok(Err(ConnectionError::Codec(
                CodecError::InvalidProtocol | CodecError::InvalidProtocolLevel(_),
            ))) => ConnectReturnCode::RefusedProtocolVersion,
            Ok(Ok(Some(_))) => return Err(ConnectionError::Protocol("no CONNECT first".into())),
            Ok(Ok(None)) => return Ok(None),
            Ok(Err(e)) => return Err(e),
        };
        self.write(Packet::ConnAck(ConnAck::new(refuse, false)));
        self.flush().await?;
        Ok(None)
    }

    /// Takes the client's session over (or starts one), acknowledges the
    /// connection and sends what the session is owed.
    async fn open(
        &mut self,
        connect: &Connect,
        wake: &Arc<Notify>,
        taken_over: &Arc<Notify>,
    ) -> Result<(), ConnectionError> {
        self.client_id = if connect.client_id.is_empty() {
            format!("iotpipe-{}", uuid::Uuid::new_v4().simple())
        } else {
            connect.client_id.clone()
        };
        let (present, owed) = {
            let mut state = self.shared.state();
            state.next_connection += 1;
            self.number = state.next_connection;
            let existed = state.sessions.contains_key(&self.client_id);
            let session = state.sessions.entry(self.client_id.clone()).or_default();
            if let Some(earlier) = session.online.take() {
                earlier.taken_over.notify_one();
            }
            let present = existed && !connect.clean_session && !session.clean;
            if !present {
                *session = Session::default();
            }
            session.clean = connect.clean_session;
            session.online = Some(Online {
                connection: self.number,
                wake: wake.clone(),
                taken_over: taken_over.clone(),
            });
            // 4.4: unacknowledged messages are sent again, PUBLISH with DUP set.
            let owed: Vec<Packet> = session
                .inflight
                .iter()
                .map(|(pkid, outgoing)| match outgoing {
                    Outgoing::Publish(publish) => {
                        let mut again = publish.clone();
                        again.dup = true;
                        Packet::Publish(again)
                    }
                    Outgoing::Released => Packet::PubRel(PubRel::new(*pkid)),
                })
                .collect();
            (present, owed)
        };
        self.write(Packet::ConnAck(ConnAck::new(
            ConnectReturnCode::Success,
            present,
        )));
        for packet in owed {
            self.write(packet);
        }
        self.send_queued();
        self.flush().await
    }

    async fn run(
        &mut self,
        keep_alive: Option<Duration>,
        wake: &Notify,
        taken_over: &Notify,
    ) -> Result<End, ConnectionError> {
        let mut last_heard = Instant::now();
        loop {
            // 3.1.2.10: silent for one and a half keep alives: gone.
            let expiry = keep_alive.map(|keep_alive| last_heard + keep_alive);
            tokio::select! {
                () = taken_over.notified() => return Ok(End::Dropped),
                () = wake.notified() => self.send_queued(),
                journaled = front_journaled(&mut self.awaiting), if !self.awaiting.is_empty() => {
                    if !journaled {
                        return Err(ConnectionError::SinkGone);
                    }
                    if let Some(front) = self.awaiting.front_mut() {
                        front.journaled = None;
                    }
                    self.acknowledge_journaled();
                }
                read = self.stream.read_buf(&mut self.input), if self.awaiting.len() < MAX_AWAITING => {
                    if read? == 0 {
                        return Ok(End::Dropped);
                    }
                    last_heard = Instant::now();
                    while let Some(packet) = self.parse()? {
                        if self.handle(packet).await? {
                            self.flush().await?;
                            return Ok(End::Disconnected);
                        }
                    }
                }
                () = crate::deadline::sleep_until(expiry), if expiry.is_some() => {
                    return Err(ConnectionError::Protocol("keep alive expired".into()));
                }
            }
            self.flush().await?;
        }
    }

    /// Handles one packet; true at DISCONNECT.
    async fn handle(&mut self, packet: Packet) -> Result<bool, ConnectionError> {
        match packet {
            Packet::Publish(publish) => self.receive(publish).await?,
            Packet::PubRel(release) => {
                self.received_qos2.remove(&release.pkid);
                self.write(Packet::PubComp(PubComp::new(release.pkid)));
            }
            Packet::PubAck(PubAck { pkid }) | Packet::PubComp(PubComp { pkid }) => {
                self.session(|session| session.inflight.remove(&pkid));
                self.send_queued();
            }
            Packet::PubRec(PubRec { pkid }) => {
                self.session(|session| session.inflight.insert(pkid, Outgoing::Released));
                self.write(Packet::PubRel(PubRel::new(pkid)));
            }
            Packet::Subscribe(subscribe) => {
                let mut codes = Vec::new();
                let mut retained = Vec::new();
                for filter in subscribe.filters {
                    if !topic::valid_filter(&filter.path) {
                        codes.push(SubscribeReasonCode::Failure);
                        continue;
                    }
                    codes.push(SubscribeReasonCode::Success(filter.qos));
                    retained.extend(self.shared.retained_for(&filter.path, filter.qos));
                    self.session(|session| {
                        session
                            .subscriptions
                            .retain(|(path, _)| *path != filter.path);
                        session.subscriptions.push((filter.path, filter.qos));
                    });
                }
                self.write(Packet::SubAck(SubAck::new(subscribe.pkid, codes)));
                // 3.3.1.3: retained messages follow the SUBACK, flagged retained.
                let max_queued = self.shared.max_queued;
                self.session(|session| {
                    for publish in retained {
                        session.enqueue(publish, max_queued);
                    }
                });
                self.send_queued();
            }
            Packet::Unsubscribe(unsubscribe) => {
                self.session(|session| {
                    session
                        .subscriptions
                        .retain(|(path, _)| !unsubscribe.topics.contains(path));
                });
                self.write(Packet::UnsubAck(UnsubAck::new(unsubscribe.pkid)));
            }
            Packet::PingReq => self.write(Packet::PingResp),
            Packet::Disconnect => return Ok(true),
            other => {
                return Err(ConnectionError::Protocol(format!(
                    "a client may not send {other:?}"
                )));
            }
        }
        Ok(false)
    }

    /// A publish from the client: to the ingest (acknowledged once
    /// journaled) if its topic is the readings', and to subscribers.
    async fn receive(&mut self, publish: Publish) -> Result<(), ConnectionError> {
        if !topic::valid_name(&publish.topic) {
            return Err(ConnectionError::Protocol(format!(
                "a publish to {:?}, which is not a topic name",
                publish.topic
            )));
        }
        // 4.3.3: a QoS 2 publish sent again before PUBREL is not a new message.
        let repeat = publish.qos == QoS::ExactlyOnce && !self.received_qos2.insert(publish.pkid);
        let mut journaled = None;
        if !repeat {
            // To the sink before any subscriber: a publish the sink cannot
            // take is not acknowledged, and reaches nobody.
            if topic::matches(&publish.topic, &self.shared.ingest.filter) {
                journaled = Some(self.ingest(publish.clone()).await?);
            }
            self.shared.route(&publish);
        }
        if publish.qos != QoS::AtMostOnce {
            self.awaiting.push_back(Awaiting {
                pkid: publish.pkid,
                qos: publish.qos,
                ingest: journaled.is_some(),
                journaled: journaled.flatten(),
            });
        }
        Ok(())
    }

    /// Hands `publish` to the sink once there is room for it; the receiver
    /// completes when it is journaled (None at QoS 0: nobody to tell).
    async fn ingest(
        &mut self,
        publish: Publish,
    ) -> Result<Option<oneshot::Receiver<()>>, ConnectionError> {
        let ingest = &self.shared.ingest;
        // A payload larger than the whole allowance goes alone.
        let bytes = (publish.payload.len() as u64).clamp(1, ingest.limit.max(1));
        let held = ingest
            .room
            .clone()
            .acquire_many_owned(u32::try_from(bytes).unwrap_or(u32::MAX))
            .await
            .map_err(|_| ConnectionError::SinkGone)?;
        let (ack, journaled) = match publish.qos {
            QoS::AtMostOnce => {
                let stats = &self.shared.stats;
                stats.ingest_unacknowledged.fetch_add(1, Ordering::Relaxed);
                (None, None)
            }
            _ => {
                let (tx, rx) = oneshot::channel();
                (Some(tx), Some(rx))
            }
        };
        let ingested = Ingested {
            publish,
            ack,
            _held: held,
        };
        ingest
            .tx
            .send(ingested)
            .map_err(|_| ConnectionError::SinkGone)?;
        Ok(journaled)
    }

    /// Writes the acknowledgements now due, in the order the publishes came.
    fn acknowledge_journaled(&mut self) {
        while let Some(front) = self.awaiting.front_mut() {
            let ready = match &mut front.journaled {
                None => true,
                Some(rx) => match rx.try_recv() {
                    Ok(()) => true,
                    Err(oneshot::error::TryRecvError::Empty) => false,
                    // Dropped unjournaled: the next wait on it ends the connection.
                    Err(oneshot::error::TryRecvError::Closed) => false,
                },
            };
            if !ready {
                break;
            }
            let Some(Awaiting {
                pkid, qos, ingest, ..
            }) = self.awaiting.pop_front()
            else {
                break;
            };
            if ingest {
                let stats = &self.shared.stats;
                stats.ingest_acknowledged.fetch_add(1, Ordering::Relaxed);
            }
            self.write(match qos {
                QoS::ExactlyOnce => Packet::PubRec(PubRec::new(pkid)),
                _ => Packet::PubAck(PubAck::new(pkid)),
            });
        }
    }

    /// Moves queued messages to the wire, up to the inflight window.
    fn send_queued(&mut self) {
        let packets = self.session(|session| {
            let mut packets = Vec::new();
            while session.inflight.len() < MAX_INFLIGHT_OUT {
                let Some(mut publish) = session.queued.pop_front() else {
                    break;
                };
                if publish.qos != QoS::AtMostOnce {
                    publish.pkid = session.next_pkid();
                    session
                        .inflight
                        .insert(publish.pkid, Outgoing::Publish(publish.clone()));
                }
                packets.push(Packet::Publish(publish));
            }
            packets
        });
        for packet in packets.into_iter().flatten() {
            self.write(packet);
        }
    }

    /// Runs `f` on this connection's session, if it still holds it.
    fn session<T>(&self, f: impl FnOnce(&mut Session) -> T) -> Option<T> {
        let mut state = self.shared.state();
        let session = state.sessions.get_mut(&self.client_id)?;
        let ours = session
            .online
            .as_ref()
            .is_some_and(|online| online.connection == self.number);
        ours.then(|| f(session))
    }

    /// Lets the session go: a clean one ends, a persistent one waits for the
    /// client's next connection.
    fn close(&mut self) {
        let mut state = self.shared.state();
        let Some(session) = state.sessions.get_mut(&self.client_id) else {
            return;
        };
        if session
            .online
            .as_ref()
            .is_some_and(|online| online.connection == self.number)
        {
            session.online = None;
            if session.clean {
                state.sessions.remove(&self.client_id);
            } else {
                // QoS 0 is not kept for a client that is away.
                session
                    .queued
                    .retain(|publish| publish.qos != QoS::AtMostOnce);
            }
        }
    }

    async fn read_packet(&mut self) -> Result<Option<Packet>, ConnectionError> {
        loop {
            if let Some(packet) = self.parse()? {
                return Ok(Some(packet));
            }
            if self.stream.read_buf(&mut self.input).await? == 0 {
                return Ok(None);
            }
        }
    }

    fn parse(&mut self) -> Result<Option<Packet>, ConnectionError> {
        match Packet::read(&mut self.input, MAX_PACKET) {
            Ok(packet) => Ok(Some(packet)),
            Err(CodecError::InsufficientBytes(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn write(&mut self, packet: Packet) {
        if let Err(e) = packet.write(&mut self.output, MAX_PACKET) {
            tracing::warn!("the embedded broker could not send a packet: {e}");
        }
    }

    async fn flush(&mut self) -> Result<(), ConnectionError> {
        if !self.output.is_empty() {
            self.stream.write_all(&self.output).await?;
            self.output.clear();
        }
        Ok(())
    }
}

/// Resolves when the oldest awaiting publish may be acknowledged: false if
/// the sink dropped it unjournaled.
async fn front_journaled(awaiting: &mut VecDeque<Awaiting>) -> bool {
    match awaiting.front_mut().map(|front| front.journaled.as_mut()) {
        Some(Some(rx)) => rx.await.is_ok(),
        Some(None) => true,
        None => std::future::pending().await,
    }
}
