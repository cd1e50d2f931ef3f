//! Subscribing: (re)subscribes on every connection and yields the messages.
//! Used by `tail mqtt`, and by the sink with manual acknowledgements.

use rumqttc::{Event, Packet, Publish, QoS, SubscribeFilter, SubscribeReasonCode};

use super::connection::{Link, LinkEvent};
use super::{ConnectFailure, MqttError, Session, Settings};

/// What a subscriber sees.
#[derive(Debug)]
pub enum Delivery {
    Message(Publish),
    /// Connected (again) and subscribed.
    Connected,
    /// The connection was lost; reconnecting with backoff.
    Lost(String),
}

/// Where a sink's messages come from: a broker it subscribes to, or the
/// embedded broker's ingest. Each is acknowledged once journaled.
#[allow(async_fn_in_trait)]
pub trait Deliveries {
    async fn next(&mut self) -> Result<Delivery, MqttError>;
    /// Acknowledges every message delivered so far (and not lost with a connection).
    async fn ack_delivered(&mut self);
    /// Where the messages come from, for the log.
    fn describe(&self) -> String;
    /// Ends the session politely, if there is one.
    async fn close(&mut self) {}
}

pub struct Subscriber {
    link: Link,
    filters: Vec<SubscribeFilter>,
    /// Delivered on this connection and not acknowledged yet: (packet id, QoS).
    delivered: Vec<(u16, QoS)>,
}

impl Subscriber {
    pub fn new(
        settings: Settings,
        filters: &[String],
        qos: QoS,
        session: Session,
    ) -> Result<Subscriber, MqttError> {
        for filter in filters {
            Settings::check_filter(filter)?;
        }
        Ok(Subscriber {
            link: Link::new(settings, session)?,
            filters: filters
                .iter()
                .map(|f| SubscribeFilter::new(f.clone(), qos))
                .collect(),
            delivered: Vec::new(),
        })
    }

    pub fn filters(&self) -> Vec<&str> {
        self.filters.iter().map(|f| f.path.as_str()).collect()
    }

    pub fn settings(&self) -> &Settings {
        self.link.settings()
    }

    pub async fn next(&mut self) -> Result<Delivery, MqttError> {
        let delivery = self.next_event().await?;
        match &delivery {
            Delivery::Message(publish) if publish.qos != QoS::AtMostOnce => {
                self.delivered.push((publish.pkid, publish.qos));
            }
            // The broker re-delivers what this connection did not acknowledge.
            Delivery::Lost(_) => self.delivered.clear(),
            _ => {}
        }
        Ok(delivery)
    }

    async fn next_event(&mut self) -> Result<Delivery, MqttError> {
        loop {
            match self.link.next().await? {
                LinkEvent::Event(Event::Incoming(Packet::Publish(publish))) => {
                    return Ok(Delivery::Message(publish));
                }
                LinkEvent::Event(Event::Incoming(Packet::ConnAck(_))) => {
                    // Subscriptions are restored on every connection, resumed session or not.
                    if let Some(client) = self.link.client() {
                        let _ = client.try_subscribe_many(self.filters.clone());
                    }
                }
                LinkEvent::Event(Event::Incoming(Packet::SubAck(ack))) => {
                    let refused: Vec<&str> = ack
                        .return_codes
                        .iter()
                        .zip(&self.filters)
                        .filter(|(code, _)| matches!(code, SubscribeReasonCode::Failure))
                        .map(|(_, filter)| filter.path.as_str())
                        .collect();
                    if !refused.is_empty() {
                        return Err(MqttError::Connect {
                            endpoint: self.link.settings().endpoint(),
                            reason: format!(
                                "the broker refused the subscription to {}",
                                refused.join(", ")
                            ),
                            kind: ConnectFailure::Auth,
                        });
                    }
                    return Ok(Delivery::Connected);
                }
                LinkEvent::Event(_) => {}
                LinkEvent::Lost { error, failure } => {
                    if failure != ConnectFailure::Transient {
                        return Err(MqttError::Connect {
                            endpoint: self.link.settings().endpoint(),
                            reason: error,
                            kind: failure,
                        });
                    }
                    return Ok(Delivery::Lost(error));
                }
            }
        }
    }

    /// Acknowledges a QoS 1 message (with manual acks: only once it is safe).
    /// Waits for room in the request channel rather than dropping the ack: a
    /// lost ack would leave the broker's window for this client stuck.
    pub async fn ack(&self, publish: &Publish) {
        if let Some(client) = self.link.client()
            && let Err(e) = client.ack(publish).await
        {
            // Only when the connection is gone; the broker re-delivers.
            tracing::debug!("could not acknowledge message {}: {e}", publish.pkid);
        }
    }

    /// Acknowledges every message delivered on this connection so far.
    pub async fn ack_delivered(&mut self) {
        for (pkid, qos) in std::mem::take(&mut self.delivered) {
            let mut publish = Publish::new("", qos, Vec::new());
            publish.pkid = pkid;
            self.ack(&publish).await;
        }
    }

    pub async fn disconnect(&mut self) {
        self.link.disconnect().await;
    }
}

impl Deliveries for Subscriber {
    async fn next(&mut self) -> Result<Delivery, MqttError> {
        Subscriber::next(self).await
    }
    async fn ack_delivered(&mut self) {
        Subscriber::ack_delivered(self).await;
    }
    fn describe(&self) -> String {
        format!("subscribed to {}", self.filters().join(", "))
    }
    async fn close(&mut self) {
        self.disconnect().await;
    }
}
