//! MQTT over WebSockets to AWS IoT Core, each connection's URL signed with
//! SigV4 (`--sigv4`): the transport side; the signing is `aws::iot_ws`.

use std::sync::Arc;

use rumqttc::{MqttOptions, TlsConfiguration, Transport};

use super::{MQTT_MAX_PACKET, MqttError, Settings, Tls};

impl Settings {
    /// `options` over WebSockets (TLS, the system's or `mqtt.cafile`'s CAs, no
    /// client certificate), each connection's URL signed anew with SigV4.
    pub(super) fn websocket_options(
        &self,
        options: MqttOptions,
        sigv4: &crate::aws::iot_ws::SigV4,
    ) -> Result<MqttOptions, MqttError> {
        let tls = Tls {
            cafile: self.tls.as_ref().and_then(|tls| tls.cafile.clone()),
            cert: None,
            key: None,
            alpn: false,
        };
        let config = tls.client_config()?;
        let url = format!("wss://{}:{}/mqtt", self.host, self.port);
        let mut websocket = MqttOptions::new(options.client_id(), url, self.port);
        websocket
            .set_keep_alive(options.keep_alive())
            .set_clean_session(options.clean_session())
            .set_manual_acks(options.manual_acks())
            .set_inflight(options.inflight())
            .set_max_packet_size(MQTT_MAX_PACKET, self.max_payload() + u16::MAX as usize + 4);
        if let Some(will) = options.last_will() {
            websocket.set_last_will(will);
        }
        websocket.set_transport(Transport::Wss(TlsConfiguration::Rustls(Arc::new(config))));
        let (sigv4, host, port) = (sigv4.clone(), self.host.clone(), self.port);
        websocket.set_request_modifier(move |mut request: hyper::Request<()>| {
            let (sigv4, host) = (sigv4.clone(), host.clone());
            async move {
                match sigv4.url(&host, port).await.map(|url| url.parse()) {
                    Ok(Ok(uri)) => *request.uri_mut() = uri,
                    Ok(Err(e)) => tracing::warn!("the signed WebSocket URL does not parse: {e}"),
                    Err(e) => tracing::warn!("{e}"),
                }
                request
            }
        });
        Ok(websocket)
    }
}
