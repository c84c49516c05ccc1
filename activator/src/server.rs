//! The activator's listener: HTTP/1.1 and h2c (prior knowledge) on one port, each
//! connection served until shutdown, then drained.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use crate::handler::Handler;
use conn_guard::FirstBytesDeadline;

/// Back off briefly when accept fails (e.g. out of file descriptors) instead of
/// spinning on the error.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(50);

/// Connections accepted until `shutdown`, still being served.
#[derive(Debug)]
pub(crate) struct Draining {
    connections: GracefulShutdown,
}

/// Accepts and serves connections until `shutdown` resolves; the listener is closed
/// on return, the accepted connections keep going until [`Draining::finish`].
pub(crate) async fn accept_until(
    listener: TcpListener,
    handler: Arc<Handler>,
    header_read_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) -> Draining {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // A head trickled byte by byte (slowloris) is cut after `header_read_timeout`.
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout.max(Duration::from_millis(1)));
    builder.http2().timer(TokioTimer::new());
    let connections = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let handler = Arc::clone(&handler);
        let service = service_fn(move |request| {
            let handler = Arc::clone(&handler);
            async move { Ok::<_, Infallible>(handler.handle(request).await) }
        });
        let connection = builder
            .serve_connection(
                TokioIo::new(FirstBytesDeadline::new(stream, header_read_timeout)),
                service,
            )
            .into_owned();
        let connection = connections.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%peer, %error, "client connection ended");
            }
        });
    }
    Draining { connections }
}

impl Draining {
    /// Lets in-flight requests finish (idle connections close at once), for at most
    /// `within`; what is left is dropped with the runtime.
    pub(crate) async fn finish(self, within: Duration) {
        if tokio::time::timeout(within, self.connections.shutdown())
            .await
            .is_err()
        {
            tracing::warn!(?within, "connections still busy after the drain timeout");
        }
    }
}
