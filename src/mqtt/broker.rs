//! The embedded broker of `iotpipe up`: rumqttd, on loopback unless told
//! otherwise, in a thread of its own, for a pipeline that needs no broker installed.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use anyhow::Context as _;

/// rumqttd keeps what was published in an in-memory log of this many segments
/// of this size per topic filter, dropping the oldest segment when full: 32 MiB
/// in all, a bound for `up` running for weeks (100 MiB x 10 grew by every
/// reading for days), and still minutes of backlog for a sink that falls behind
/// at 1,000 readings/s.
const SEGMENT_BYTES: usize = 2 << 20;
const SEGMENTS: usize = 16;

/// Starts rumqttd on `address`:`port` in a thread of its own.
pub fn start(address: IpAddr, port: u16) -> anyhow::Result<()> {
    let listen = SocketAddr::new(address, port);
    // rumqttd logs a failed bind and goes on without the listener: bind first
    // to report a port in use as such.
    TcpListener::bind(listen)
        .with_context(|| format!("the embedded broker cannot listen on {listen}"))?;
    let config = format!(
        r#"
id = 0
[router]
id = 0
max_connections = 1010
max_outgoing_packet_count = 200
max_segment_size = {segment}
max_segment_count = {segments}

[v4.1]
name = "iotpipe-up"
listen = "{listen}"
next_connection_delay_ms = 1
    [v4.1.connections]
    connection_timeout_ms = 60000
    max_payload_size = {max}
    max_inflight_count = 100
    dynamic_filters = true
"#,
        max = crate::mqtt::IOT_MAX_PAYLOAD * 8,
        segment = SEGMENT_BYTES,
        segments = SEGMENTS,
    );
    let config: rumqttd::Config =
        toml::from_str(&config).context("embedded broker configuration")?;
    std::thread::Builder::new()
        .name("broker".into())
        .spawn(move || {
            let mut broker = rumqttd::Broker::new(config);
            if let Err(e) = broker.start() {
                tracing::error!("the embedded broker stopped: {e}");
            }
        })
        .context("starting the embedded broker")?;
    // Ready once it accepts connections.
    let reach = if address.is_unspecified() {
        SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port)
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
