//! Minimal HTTP/1.1 on loopback, to drive and read the test doubles.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::time::Duration;

/// The body of an HTTP response.
pub fn http_body(response: &str) -> &str {
    response.split_once("\r\n\r\n").map_or("", |(_, body)| body)
}

/// A minimal HTTP/1.1 GET on loopback, returning the whole response.
pub fn http_get(port: u16, path: &str) -> Option<String> {
    http_request(port, "GET", path, "")
}

/// POSTs a JSON body; panics when the server cannot be reached.
#[track_caller]
pub fn http_post(port: u16, path: &str, body: &str) -> String {
    http_request(port, "POST", path, body).expect("POST to a test service")
}

fn http_request(port: u16, method: &str, path: &str, body: &str) -> Option<String> {
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}
