//! h2c replica connections, one multiplexed HTTP/2 connection per replica.
//!
//! Apart from hyper-util's pooled client because that client derives both the pool
//! key and `:authority` from the request URI: to send the client's host as
//! `:authority` (HTTP/2 has no separate `Host`) while connecting to the replica the
//! throttler chose, the connection is picked by address and the URI carries the host.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::client::conn::http2::{self, SendRequest};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use parking_lot::Mutex;
use tokio::net::TcpStream;

use super::{CONNECT_TIMEOUT, UpstreamError};
use crate::request_body::RequestBody;

/// Pings keep an idle connection (and its NAT / conntrack entries) alive.
const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(30);

/// Open connections by replica. An entry leaves when its connection ends (the replica
/// went away or closed it), so the map is bounded by the live replicas.
#[derive(Debug, Clone, Default)]
pub(super) struct H2cConnections {
    by_addr: Arc<Mutex<HashMap<SocketAddr, SendRequest<RequestBody>>>>,
}

impl H2cConnections {
    /// Drops the connections to replicas not in `live` (a connection closes once its
    /// last sender is gone and its streams are done).
    pub(super) fn retain(&self, live: &std::collections::HashSet<SocketAddr>) {
        self.by_addr.lock().retain(|addr, _| live.contains(addr));
    }

    pub(super) fn forget(&self, addr: SocketAddr) {
        self.by_addr.lock().remove(&addr);
    }

    pub(super) async fn send(
        &self,
        addr: SocketAddr,
        request: Request<RequestBody>,
    ) -> Result<Response<Incoming>, UpstreamError> {
        let cached = self
            .by_addr
            .lock()
            .get(&addr)
            .filter(|sender| !sender.is_closed())
            .cloned();
        let mut sender = match cached {
            Some(sender) => sender,
            // Two requests racing here may both connect; the later insert wins and the
            // other connection closes once its requests are done.
            None => self.connect(addr).await?,
        };
        sender.ready().await.map_err(UpstreamError::Http)?;
        sender
            .send_request(request)
            .await
            .map_err(UpstreamError::Http)
    }

    async fn connect(&self, addr: SocketAddr) -> Result<SendRequest<RequestBody>, UpstreamError> {
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
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
        self.by_addr.lock().insert(addr, sender.clone());
        let by_addr = Arc::clone(&self.by_addr);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%addr, %error, "h2c replica connection ended");
            }
            let mut by_addr = by_addr.lock();
            // Only if no newer connection replaced this one.
            if by_addr.get(&addr).is_some_and(SendRequest::is_closed) {
                by_addr.remove(&addr);
            }
        });
        Ok(sender)
    }
}
