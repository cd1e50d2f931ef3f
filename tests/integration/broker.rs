//! `up`'s embedded broker behaves as MQTT 3.1.1 says a server must, seen from
//! a client that writes its own packets (rumqttc's codec, no client logic):
//! keep alive 0, persistent sessions and their queued messages, retained
//! messages, wills, `$` topics.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::BytesMut;
use rumqttc::{
    ConnAck, Connect, ConnectReturnCode, LastWill, Packet, PubAck, Publish, QoS, Subscribe,
};

use crate::common::{Running, iotpipe, temp_dir};

/// `up --devices 0` on a port of its own; returns it with the port.
fn embedded_broker(dir: &std::path::Path) -> (Running, u16) {
    let up = iotpipe(dir)
        .args(["up", "--devices", "0", "--data-dir", "data"])
        .start();
    let port = up.embedded_broker_port();
    (up, port)
}

/// A client that sends and reads packets, nothing more.
struct RawClient {
    stream: TcpStream,
    input: BytesMut,
}

impl RawClient {
    fn connect(port: u16, connect: Connect) -> (RawClient, ConnAck) {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connects");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut client = RawClient {
            stream,
            input: BytesMut::new(),
        };
        client.send(Packet::Connect(connect));
        match client.recv() {
            Some(Packet::ConnAck(ack)) => (client, ack),
            other => panic!("CONNACK expected, got {other:?}"),
        }
    }

    fn send(&mut self, packet: Packet) {
        let mut out = BytesMut::new();
        packet.write(&mut out, 1 << 20).unwrap();
        self.stream.write_all(&out).unwrap();
    }

    /// The next packet; None when the server closed the connection or said
    /// nothing for 5 s.
    fn recv(&mut self) -> Option<Packet> {
        loop {
            match Packet::read(&mut self.input, 1 << 20) {
                Ok(packet) => return Some(packet),
                Err(rumqttc::mqttbytes::Error::InsufficientBytes(_)) => {}
                Err(e) => panic!("malformed packet from the broker: {e}"),
            }
            let mut buf = [0u8; 4096];
            match self.stream.read(&mut buf) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.input.extend_from_slice(&buf[..n]),
            }
        }
    }

    /// The next PUBLISH, acknowledged if QoS 1.
    fn message(&mut self) -> Option<Publish> {
        loop {
            match self.recv()? {
                Packet::Publish(publish) => {
                    if publish.qos == QoS::AtLeastOnce {
                        self.send(Packet::PubAck(PubAck::new(publish.pkid)));
                    }
                    return Some(publish);
                }
                _ => continue,
            }
        }
    }

    fn subscribe(&mut self, filter: &str) {
        let mut subscribe = Subscribe::new(filter, QoS::AtLeastOnce);
        subscribe.pkid = 1;
        self.send(Packet::Subscribe(subscribe));
        assert!(matches!(self.recv(), Some(Packet::SubAck(_))));
    }

    fn publish(&mut self, topic: &str, payload: &str, retain: bool, pkid: u16) {
        let mut publish = Publish::new(topic, QoS::AtLeastOnce, payload.as_bytes());
        publish.pkid = pkid;
        publish.retain = retain;
        self.send(Packet::Publish(publish));
        assert!(matches!(self.recv(), Some(Packet::PubAck(PubAck { pkid: p })) if p == pkid));
    }
}

fn connect_packet(id: &str, clean: bool, keep_alive: u16) -> Connect {
    let mut connect = Connect::new(id);
    connect.clean_session = clean;
    connect.keep_alive = keep_alive;
    connect
}

#[test]
fn keep_alive_zero_is_accepted_and_never_expires() {
    let dir = temp_dir();
    let (mut up, port) = embedded_broker(dir.path());
    // MQTT 3.1.1 section 3.1.2.10: zero turns keep alive off.
    let (mut client, ack) = RawClient::connect(port, connect_packet("ka0", true, 0));
    assert_eq!(ack.code, ConnectReturnCode::Success);
    std::thread::sleep(Duration::from_secs(3));
    client.send(Packet::PingReq);
    assert_eq!(client.recv(), Some(Packet::PingResp));
    // A persistent session needs a client id (3.1.3-8).
    let (_, refused) = RawClient::connect(port, connect_packet("", false, 0));
    assert_eq!(refused.code, ConnectReturnCode::BadClientId);
    // A keep alive of 1 s not kept: closed after 1.5 s, and the will goes out.
    let (mut watcher, _) = RawClient::connect(port, connect_packet("watcher", true, 0));
    watcher.subscribe("test/will");
    let mut silent = connect_packet("silent", true, 1);
    silent.last_will = Some(LastWill::new("test/will", "gone", QoS::AtLeastOnce, false));
    let (mut silent, _) = RawClient::connect(port, silent);
    let will = watcher.message().expect("the will of a client gone silent");
    assert_eq!(&will.payload[..], b"gone");
    assert_eq!(silent.recv(), None, "closed by the broker");
    up.interrupt();
}

#[test]
fn sessions_queue_while_away_and_retained_messages_wait_for_subscribers() {
    let dir = temp_dir();
    let (mut up, port) = embedded_broker(dir.path());
    let (mut away, ack) = RawClient::connect(port, connect_packet("away", false, 60));
    assert!(!ack.session_present);
    away.subscribe("test/queue");
    away.send(Packet::Disconnect);
    drop(away);

    let (mut publisher, _) = RawClient::connect(port, connect_packet("pub", true, 60));
    for (pkid, text) in [(1, "one"), (2, "two"), (3, "three")] {
        publisher.publish("test/queue", text, false, pkid);
    }
    publisher.publish("test/retained", "kept", true, 4);
    publisher.publish("$internal/x", "not for #", false, 5);

    let (mut back, ack) = RawClient::connect(port, connect_packet("away", false, 60));
    assert!(ack.session_present, "the session outlived the connection");
    let queued: Vec<Vec<u8>> = (0..3)
        .map(|_| back.message().expect("a queued message").payload.to_vec())
        .collect();
    assert_eq!(
        queued,
        [b"one".to_vec(), b"two".to_vec(), b"three".to_vec()]
    );

    let (mut late, _) = RawClient::connect(port, connect_packet("late", true, 60));
    late.subscribe("#");
    let retained = late.message().expect("the retained message");
    assert_eq!(
        (
            retained.topic.as_str(),
            &retained.payload[..],
            retained.retain
        ),
        ("test/retained", &b"kept"[..], true)
    );
    // Section 4.7.2: `#` does not match a topic starting with `$`.
    publisher.publish("$internal/y", "still not", false, 6);
    publisher.publish("test/after", "live", false, 7);
    let live = late.message().expect("a live message");
    assert_eq!((live.topic.as_str(), live.retain), ("test/after", false));
    up.interrupt();
}
