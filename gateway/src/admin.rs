//! The admin port every fnmesh component serves, apart from any traffic port so clients
//! cannot reach it: `GET /metrics` (Prometheus text), `GET /healthz` (the process
//! answers: Kubernetes' liveness probe) and `GET /readyz` (it is ready to do its work:
//! the readiness probe). The gateway's lives here because it came first; the other
//! components serve the same one.

use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use prometheus::{Encoder, TextEncoder};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::GatewayConfig;
use crate::server::accept_until;

/// Serves the gateway's `/metrics` (and always-ready probes) on `listener` until
/// `shutdown` completes.
pub async fn serve_metrics(
    listener: TcpListener,
    config: Arc<GatewayConfig>,
    shutdown: impl Future<Output = ()>,
) {
    let ready = watch::channel(true).1;
    serve_admin(listener, config.registry().clone(), ready, shutdown).await;
}

/// Serves `/metrics` from `registry`, `/healthz`, and `/readyz` (200 while `ready`
/// holds true, else 503) on `listener` until `shutdown` completes.
pub async fn serve_admin(
    listener: TcpListener,
    registry: prometheus::Registry,
    ready: watch::Receiver<bool>,
    shutdown: impl Future<Output = ()>,
) {
    let builder = Arc::new(hyper::server::conn::http1::Builder::new());
    accept_until(listener, shutdown, |stream, peer, signal| {
        let registry = registry.clone();
        let ready = ready.clone();
        let builder = Arc::clone(&builder);
        let service = service_fn(move |request| {
            let response = admin_response(&registry, &ready, &request);
            async move { Ok::<_, Infallible>(response) }
        });
        tokio::spawn(async move {
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            let mut connection = pin!(connection);
            let ended = tokio::select! {
                ended = connection.as_mut() => ended,
                () = signal.stopped() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(error) = ended {
                tracing::debug!(%peer, %error, "admin connection ended with an error");
            }
        });
    })
    .await;
}

const TEXT: &str = "text/plain; charset=utf-8";

fn admin_response(
    registry: &prometheus::Registry,
    ready: &watch::Receiver<bool>,
    request: &Request<Incoming>,
) -> Response<Full<Bytes>> {
    let (status, content_type, body) = match (request.method(), request.uri().path()) {
        (&Method::GET, "/metrics") => {
            let mut out = Vec::with_capacity(4096);
            match TextEncoder::new().encode(&registry.gather(), &mut out) {
                Ok(()) => (StatusCode::OK, prometheus::TEXT_FORMAT, Bytes::from(out)),
                Err(error) => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    TEXT,
                    Bytes::from(format!("{error}\n")),
                ),
            }
        }
        (&Method::GET, "/healthz") => (StatusCode::OK, TEXT, Bytes::from_static(b"ok\n")),
        (&Method::GET, "/readyz") if *ready.borrow() => {
            (StatusCode::OK, TEXT, Bytes::from_static(b"ok\n"))
        }
        (&Method::GET, "/readyz") => (
            StatusCode::SERVICE_UNAVAILABLE,
            TEXT,
            Bytes::from_static(b"not ready\n"),
        ),
        _ => (
            StatusCode::NOT_FOUND,
            TEXT,
            Bytes::from_static(b"GET /metrics, /healthz and /readyz are served here\n"),
        ),
    };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    response
}
