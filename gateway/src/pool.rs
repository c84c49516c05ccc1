//! Keep-alive connections to revision endpoints: HTTP/1.1 through a per-endpoint idle
//! list (see `http1`), held by the routing snapshot so a request finds it without a
//! lookup; h2c through one multiplexed connection per endpoint (see `h2c`).

mod h2c;
mod http1;
mod idle;
mod raw;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::uri::{Authority, PathAndQuery, Scheme};
use http::{Request, Response, Uri, Version};
use hyper::body::Incoming;

pub(crate) use http1::{Http1Endpoint, Lease, sweep_clock};
pub(crate) use raw::RawConnection;

/// A dead endpoint should fail fast (502) rather than use up the request timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Idle HTTP/1.1 connections are swept this often and closed once idle for 30–50 s
/// (`http1::IDLE_SECS`, give or take the coarse clock's lag and one interval): below
/// typical function-side idle timeouts, so the gateway, not the function, closes
/// (avoids racing a request into a closing connection).
pub(crate) const IDLE_SWEEP_INTERVAL: Duration = Duration::from_secs(10);

/// Why the upstream gave no response head.
#[derive(Debug, thiserror::Error)]
pub(crate) enum UpstreamError {
    #[error("connect: {0}")]
    Connect(std::io::Error),
    #[error("connect timed out")]
    ConnectTimeout,
    #[error(transparent)]
    Http(hyper::Error),
    #[error("connection: {0}")]
    Io(std::io::Error),
    #[error("closed the connection without a complete response head")]
    ClosedEarly,
    #[error("invalid response: {0}")]
    Malformed(&'static str),
}

/// Why a request got no response head, and the request itself when none of it was sent
/// (the connection failed first), so it can go to another endpoint.
#[derive(Debug)]
pub(crate) struct SendFailure {
    pub(crate) error: UpstreamError,
    pub(crate) unsent: Option<Request<Incoming>>,
}

impl SendFailure {
    /// `error` before any byte of `request` left.
    pub(super) fn unsent(error: UpstreamError, request: Request<Incoming>) -> Self {
        Self {
            error,
            unsent: Some(request),
        }
    }

    /// `error` after the request (or some of it) was handed to the connection.
    pub(super) fn sent(error: UpstreamError) -> Self {
        Self {
            error,
            unsent: None,
        }
    }
}

/// h2c upstream connections, shared by every connection of a proxy listener.
#[derive(Debug, Clone, Default)]
pub(crate) struct UpstreamPool {
    h2c: h2c::H2cConnections,
}

impl UpstreamPool {
    /// Sends `request` over HTTP/1.1 to `endpoint`, keeping the client's `Host`.
    /// The lease comes back with the response: release it once the body has ended.
    pub(crate) async fn send_http1(
        endpoint: &Arc<Http1Endpoint>,
        mut request: Request<Incoming>,
    ) -> Result<(Response<Incoming>, Lease), SendFailure> {
        *request.version_mut() = Version::HTTP_11;
        // An absolute-form target (a client talking to us as to a forward proxy) goes
        // on in origin form, as an origin server expects.
        if request.uri().scheme().is_some() || request.uri().authority().is_some() {
            *request.uri_mut() = Uri::from(path_of(request.uri()));
        }
        endpoint.send(request).await
    }

    /// Sends `request` over h2c to `addr`, with the client's `host` as
    /// `:authority` (and `Host` dropped), or the endpoint's own without one.
    pub(crate) async fn send_h2c(
        &self,
        addr: SocketAddr,
        authority: &Authority,
        host: Option<Authority>,
        mut request: Request<Incoming>,
    ) -> Result<Response<Incoming>, SendFailure> {
        *request.version_mut() = Version::HTTP_2;
        let authority = host.unwrap_or_else(|| authority.clone());
        request.headers_mut().remove(http::header::HOST);
        let mut parts = http::uri::Parts::default();
        parts.scheme = Some(Scheme::HTTP);
        parts.authority = Some(authority);
        parts.path_and_query = Some(path_of(request.uri()));
        *request.uri_mut() =
            Uri::from_parts(parts).expect("scheme, authority and path make a valid URI");
        self.h2c.send(addr, request).await
    }
}

fn path_of(uri: &Uri) -> PathAndQuery {
    uri.path_and_query()
        .cloned()
        .unwrap_or_else(|| PathAndQuery::from_static("/"))
}
