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

pub struct Subscriber {
    link: Link,
    filters: Vec<SubscribeFilter>,
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
        })
    }

    pub fn filters(&self) -> Vec<&str> {
        self.filters.iter().map(|f| f.path.as_str()).collect()
    }

    pub fn settings(&self) -> &Settings {
        self.link.settings()
    }

    pub async fn next(&mut self) -> Result<Delivery, MqttError> {
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

    pub async fn disconnect(&mut self) {
        self.link.disconnect().await;
    }
}
