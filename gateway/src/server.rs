//! Listeners: the proxy (HTTP/1.1 and h2c on one port) and the admin port serving
//! `/metrics`. Both drain gracefully: on shutdown they stop accepting, let in-flight
//! requests finish, then return.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};

use crate::config::GatewayConfig;
use crate::forwarded::ClientForwarding;
use crate::framing::{FramingGuard, MAX_HEAD_BYTES, MAX_HEADERS};
use crate::pool::{IDLE_SWEEP_INTERVAL, sweep_clock};
use crate::proxy::Proxy;

/// A client must finish sending a request head within this (slowloris guard).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Back-off after a failed `accept` (e.g. out of file descriptors) instead of spinning.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Serves the proxy on `listener` until `shutdown` completes, then stops accepting and
/// waits for in-flight requests (bounded by their revisions' timeouts) to finish.
/// Upgraded (WebSocket) connections are not waited for.
pub async fn serve(
    listener: TcpListener,
    config: Arc<GatewayConfig>,
    shutdown: impl Future<Output = ()>,
) {
    let _sweeper = AbortOnDrop(tokio::spawn(evict_idle_upstreams(Arc::clone(&config))));
    let proxy = Arc::new(Proxy::new(config));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(MAX_HEAD_BYTES)
        .max_headers(MAX_HEADERS);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(MAX_HEAD_BYTES as u32);
    accept_until(listener, shutdown, |stream, peer, graceful| {
        let connection = Arc::new(ClientConnection {
            proxy: Arc::clone(&proxy),
            client: ClientForwarding::new(peer.ip()),
        });
        let service = service_fn(move |request| {
            let connection = Arc::clone(&connection);
            async move {
                let response = connection.proxy.handle(request, &connection.client).await;
                Ok::<_, Infallible>(response)
            }
        });
        let io = TokioIo::new(FramingGuard::new(stream));
        let connection = builder
            .serve_connection_with_upgrades(io, service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%peer, %error, "proxy connection ended with an error");
            }
        });
    })
    .await;
}

/// Stops a background task when whoever started it finishes or is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What every request on one client connection shares.
struct ClientConnection {
    proxy: Arc<Proxy>,
    client: ClientForwarding,
}

/// Closes idle upstream connections past their timeout even when no request comes
/// to notice them.
async fn evict_idle_upstreams(config: Arc<GatewayConfig>) {
    let mut tick = tokio::time::interval(IDLE_SWEEP_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        config.snapshot().evict_idle(sweep_clock());
    }
}

/// Serves `GET /metrics` (Prometheus text format) from `config`'s registry on
/// `listener`, kept apart from the proxy port so clients cannot reach it, until
/// `shutdown` completes.
pub async fn serve_metrics(
    listener: TcpListener,
    config: Arc<GatewayConfig>,
    shutdown: impl Future<Output = ()>,
) {
    let builder = hyper::server::conn::http1::Builder::new();
    accept_until(listener, shutdown, |stream, peer, graceful| {
        let config = Arc::clone(&config);
        let service = service_fn(move |request| {
            let response = admin_response(&config, &request);
            async move { Ok::<_, Infallible>(response) }
        });
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%peer, %error, "admin connection ended with an error");
            }
        });
    })
    .await;
}

fn admin_response(config: &GatewayConfig, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    let (status, content_type, body) = match (request.method(), request.uri().path()) {
        (&Method::GET, "/metrics") => match config.encode_metrics() {
            Ok(text) => (StatusCode::OK, prometheus::TEXT_FORMAT, Bytes::from(text)),
            Err(error) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "text/plain; charset=utf-8",
                Bytes::from(format!("{error}\n")),
            ),
        },
        _ => (
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            Bytes::from_static(b"only GET /metrics is served here\n"),
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

/// Accepts connections, handing each to `on_connection`, until `shutdown`; then waits
/// for every connection registered with the graceful watcher to finish.
async fn accept_until(
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
    mut on_connection: impl FnMut(TcpStream, SocketAddr, &GracefulShutdown),
) {
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    // Small request/response writes must not wait for Nagle.
                    let _ = stream.set_nodelay(true);
                    on_connection(stream, peer, &graceful);
                }
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
        }
    }
    drop(listener);
    graceful.shutdown().await;
}
