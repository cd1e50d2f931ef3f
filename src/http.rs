//! `--http ADDR`: what a long-running command serves while it runs:
//! `/metrics` (OpenMetrics text), `/healthz` (200, or 503 naming what is
//! wrong) and, for `up` and `refresh-dashboard --serve`, the live dashboard
//! at `/`. HTTP/1.1 by hyper, already in the tree for the AWS SDK.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};

use crate::metrics::Section;

/// Builds the page served at `/`.
pub type PageFn =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<String, String>> + Send>> + Send + Sync>;

/// What a command serves.
#[derive(Clone)]
pub struct Endpoints {
    pub sections: Vec<Section>,
    pub page: Option<PageFn>,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot serve HTTP on {addr}: {source}")]
pub struct HttpError {
    pub addr: SocketAddr,
    pub source: std::io::Error,
}

impl crate::error::Diagnose for HttpError {
    fn hint(&self) -> Option<String> {
        Some(format!(
            "is something else listening on {}? (`ss -ltnp` shows it); give another address \
             with --http, or port 0 for any free one",
            self.addr
        ))
    }
}

/// Binds `addr` (port 0: any free one), so the caller can print where
/// before anything runs.
pub fn bind(addr: SocketAddr) -> Result<std::net::TcpListener, HttpError> {
    let failed = |source| HttpError { addr, source };
    let listener = std::net::TcpListener::bind(addr).map_err(failed)?;
    listener.set_nonblocking(true).map_err(failed)?;
    Ok(listener)
}

/// Serves `endpoints` on `listener` until the process ends.
pub async fn serve(listener: std::net::TcpListener, endpoints: Endpoints) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(e) => {
            tracing::error!("the HTTP endpoint stopped: {e}");
            return;
        }
    };
    let endpoints = Arc::new(endpoints);
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!("the HTTP endpoint could not accept a connection: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let endpoints = endpoints.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let endpoints = endpoints.clone();
                async move { Ok::<_, Infallible>(respond(&endpoints, &request).await) }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await
            {
                tracing::debug!("an HTTP connection ended: {e}");
            }
        });
    }
}

async fn respond(endpoints: &Endpoints, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return text(StatusCode::METHOD_NOT_ALLOWED, "GET only\n");
    }
    match (request.uri().path(), &endpoints.page) {
        ("/metrics", _) => reply(
            StatusCode::OK,
            // The OpenMetrics text format, as Prometheus negotiates it.
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            crate::metrics::encode(&endpoints.sections),
        ),
        ("/healthz", _) => {
            let problems = crate::metrics::health().problems();
            if problems.is_empty() {
                text(StatusCode::OK, "ok\n")
            } else {
                text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &format!("{}\n", problems.join("\n")),
                )
            }
        }
        ("/", Some(page)) => match page().await {
            Ok(html) => reply(StatusCode::OK, "text/html; charset=utf-8", html),
            Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, &format!("{e}\n")),
        },
        ("/", None) => text(StatusCode::OK, "/metrics and /healthz\n"),
        _ => text(StatusCode::NOT_FOUND, "not found: /metrics, /healthz\n"),
    }
}

fn text(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    reply(status, "text/plain; charset=utf-8", body.to_string())
}

fn reply(status: StatusCode, content_type: &str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    if let Ok(value) = hyper::header::HeaderValue::from_str(content_type) {
        response
            .headers_mut()
            .insert(hyper::header::CONTENT_TYPE, value);
    }
    response
}
