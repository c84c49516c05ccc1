//! h2c upstream connections, one multiplexed HTTP/2 connection per endpoint.
//!
//! Kept apart from hyper-util's pooled client because that client derives both the
//! pool key and `:authority` from the request URI: to send the client's host as
//! `:authority` (HTTP/2 has no separate Host) while connecting to a chosen endpoint,
//! the connection must be picked by endpoint and the URI left to carry the host.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper::client::conn::http2::{self, SendRequest};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpStream;

use super::{CONNECT_TIMEOUT, SendFailure, UpstreamError};

/// Pings keep an idle multiplexed connection (and its NAT / conntrack entries) alive.
const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Default)]
pub(super) struct H2cConnections {
    by_endpoint: Arc<DashMap<SocketAddr, SendRequest<Incoming>>>,
}

impl H2cConnections {
    /// Sends `request` (URI authority = the client's host) to `endpoint`, reusing its
    /// connection when it is still open.
    pub(super) async fn send(
        &self,
        endpoint: SocketAddr,
        request: Request<Incoming>,
    ) -> Result<Response<Incoming>, SendFailure> {
        let cached = self
            .by_endpoint
            .get(&endpoint)
            .map(|sender| sender.clone())
            .filter(|sender| !sender.is_closed());
        let mut sender = match cached {
            Some(sender) => sender,
            None => {
                // Two requests racing here may both connect; the later insert wins and
                // the other connection closes once its request is done.
                let sender = match connect(endpoint).await {
                    Ok(sender) => sender,
                    Err(error) => return Err(SendFailure::unsent(error, request)),
                };
                self.by_endpoint.insert(endpoint, sender.clone());
                sender
            }
        };
        if let Err(error) = sender.ready().await {
            return Err(SendFailure::unsent(UpstreamError::Http(error), request));
        }
        sender
            .send_request(request)
            .await
            .map_err(|error| SendFailure::sent(UpstreamError::Http(error)))
    }
}

async fn connect(endpoint: SocketAddr) -> Result<SendRequest<Incoming>, UpstreamError> {
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(endpoint))
        .await
        .map_err(|_| UpstreamError::ConnectTimeout)?
        .map_err(UpstreamError::Connect)?;
    let _ = stream.set_nodelay(true);
    let (sender, connection) = http2::Builder::new(TokioExecutor::new())
        .timer(TokioTimer::new())
        .keep_alive_interval(KEEP_ALIVE_INTERVAL)
        .handshake(TokioIo::new(stream))
        .await
        .map_err(UpstreamError::Http)?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(%endpoint, %error, "h2c upstream connection ended");
        }
    });
    Ok(sender)
}
