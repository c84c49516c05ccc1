//! Keep-alive connections to revision endpoints: HTTP/1.1 through hyper-util's pooled
//! client (idle connections kept per endpoint), h2c through one multiplexed connection
//! per endpoint (see `h2c`).

mod h2c;

use std::net::SocketAddr;
use std::time::Duration;

use http::uri::{Authority, PathAndQuery, Scheme};
use http::{Request, Response, Uri, Version};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::revision::Protocol;

/// A dead endpoint should fail fast (502) rather than use up the request timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Idle connections are closed after this, below typical function-side idle timeouts
/// so the gateway, not the function, closes (avoids racing a request into a closing
/// connection).
const IDLE_TIMEOUT: Duration = Duration::from_secs(50);

/// Why the upstream gave no response head.
#[derive(Debug, thiserror::Error)]
pub(crate) enum UpstreamError {
    #[error(transparent)]
    Pooled(#[from] hyper_util::client::legacy::Error),
    #[error("connect: {0}")]
    Connect(std::io::Error),
    #[error("connect timed out")]
    ConnectTimeout,
    #[error(transparent)]
    Http(hyper::Error),
}

/// Where and how to send one request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Endpoint<'a> {
    pub(crate) addr: SocketAddr,
    pub(crate) authority: &'a Authority,
    pub(crate) protocol: Protocol,
}

/// Upstream connections, shared by every connection of a proxy listener.
#[derive(Debug, Clone)]
pub(crate) struct UpstreamPool {
    http1: Client<HttpConnector, Incoming>,
    h2c: h2c::H2cConnections,
}

impl UpstreamPool {
    pub(crate) fn new() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
        let http1 = Client::builder(TokioExecutor::new())
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(IDLE_TIMEOUT)
            // The request keeps the client's Host; never invent one.
            .set_host(false)
            .build(connector);
        Self {
            http1,
            h2c: h2c::H2cConnections::default(),
        }
    }

    /// Sends `request` to `endpoint`. `host` is the client's host: kept in the `Host`
    /// header for HTTP/1.1, sent as `:authority` (and `Host` dropped) for h2c.
    pub(crate) async fn send(
        &self,
        endpoint: Endpoint<'_>,
        host: Option<Authority>,
        mut request: Request<Incoming>,
    ) -> Result<Response<Incoming>, UpstreamError> {
        let path = request
            .uri()
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        match endpoint.protocol {
            Protocol::Http1 => {
                *request.version_mut() = Version::HTTP_11;
                *request.uri_mut() = absolute_uri(endpoint.authority.clone(), path);
                Ok(self.http1.request(request).await?)
            }
            Protocol::H2c => {
                *request.version_mut() = Version::HTTP_2;
                let authority = host.unwrap_or_else(|| endpoint.authority.clone());
                request.headers_mut().remove(http::header::HOST);
                *request.uri_mut() = absolute_uri(authority, path);
                self.h2c.send(endpoint.addr, request).await
            }
        }
    }
}

fn absolute_uri(authority: Authority, path: PathAndQuery) -> Uri {
    let mut parts = http::uri::Parts::default();
    parts.scheme = Some(Scheme::HTTP);
    parts.authority = Some(authority);
    parts.path_and_query = Some(path);
    Uri::from_parts(parts).expect("scheme, authority and path make a valid URI")
}
