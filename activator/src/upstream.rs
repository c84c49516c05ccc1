//! Connections to revision replicas: HTTP/1.1 through hyper-util's keep-alive pool,
//! h2c through one multiplexed connection per replica (see `h2c`).

mod h2c;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use parking_lot::RwLock;

use crate::request_body::RequestBody;
use crate::revision_settings::Protocol;

/// A dead replica should fail fast (and be retried or answered 502) rather than use up
/// the request's timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Idle keep-alive connections close after this; below common function-side idle
/// timeouts, so the activator closes first and does not race a request into a close.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a replica gave no response head.
#[derive(Debug, thiserror::Error)]
pub(crate) enum UpstreamError {
    #[error("connect: {0}")]
    Connect(std::io::Error),
    #[error("connect timed out")]
    ConnectTimeout,
    #[error(transparent)]
    Pooled(hyper_util::client::legacy::Error),
    #[error(transparent)]
    Http(hyper::Error),
}

/// Every replica connection of the activator, shared by all requests. HTTP/1.1 keeps one
/// pooled client per replica, so that the idle connections to a replica that left can
/// be closed at once ([`Upstreams::retain`]).
#[derive(Debug, Clone)]
pub(crate) struct Upstreams {
    http1: Arc<RwLock<HashMap<SocketAddr, Client<HttpConnector, RequestBody>>>>,
    h2c: h2c::H2cConnections,
}

// === impl UpstreamError ===

impl UpstreamError {
    /// Nothing was sent: the request may go to a replica again.
    pub(crate) fn is_connect(&self) -> bool {
        match self {
            Self::Connect(_) | Self::ConnectTimeout => true,
            Self::Pooled(e) => e.is_connect(),
            Self::Http(_) => false,
        }
    }
}

// === impl Upstreams ===

impl Upstreams {
    pub(crate) fn new() -> Self {
        Self {
            http1: Arc::default(),
            h2c: h2c::H2cConnections::default(),
        }
    }

    /// Closes the idle connections to every replica not in `live`; requests in flight
    /// keep theirs until they finish.
    pub(crate) fn retain(&self, live: &HashSet<SocketAddr>) {
        self.http1.write().retain(|addr, _| live.contains(addr));
        self.h2c.retain(live);
    }

    /// Closes the idle connections to `addr` after one of its exchanges broke: the
    /// replica may have died, and its other idle sockets would then fail the next
    /// requests one by one (sent into a socket whose close the activator has not
    /// seen yet). A new connection to a dead replica is refused instead, which the
    /// handler retries elsewhere; to a live one it simply works.
    pub(crate) fn forget(&self, addr: SocketAddr) {
        self.http1.write().remove(&addr);
        self.h2c.forget(addr);
    }

    /// The replica's pooled client: a shared read on the request path; the write lock
    /// only when a replica is first used or leaves.
    fn http1_client(&self, addr: SocketAddr) -> Client<HttpConnector, RequestBody> {
        if let Some(client) = self.http1.read().get(&addr) {
            return client.clone();
        }
        self.http1
            .write()
            .entry(addr)
            .or_insert_with(|| {
                let mut connector = HttpConnector::new();
                connector.set_nodelay(true);
                connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
                Client::builder(TokioExecutor::new())
                    .timer(TokioTimer::new())
                    .pool_timer(TokioTimer::new())
                    .pool_idle_timeout(IDLE_TIMEOUT)
                    .build(connector)
            })
            .clone()
    }

    /// Sends `request` to `addr`. For HTTP/1.1 its URI is `http://{addr}/…` (the pool
    /// key) and `Host` the client's; for h2c its URI authority is the client's host.
    pub(crate) async fn send(
        &self,
        protocol: Protocol,
        addr: SocketAddr,
        request: Request<RequestBody>,
    ) -> Result<Response<Incoming>, UpstreamError> {
        match protocol {
            Protocol::Http1 => self
                .http1_client(addr)
                .request(request)
                .await
                .map_err(UpstreamError::Pooled),
            Protocol::H2c => self.h2c.send(addr, request).await,
        }
    }
}
