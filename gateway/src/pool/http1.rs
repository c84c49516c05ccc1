//! HTTP/1.1 keep-alive connections to one endpoint.
//!
//! Replaces hyper-util's pooled client on the hot path: that client takes a global pool
//! mutex twice per request, keys the pool by hashing the URI's scheme and authority,
//! spawns a task per request to put the connection back, and drives each connection
//! in a task of its own, so every request crosses tasks several times. Here the proxy
//! already holds the endpoint's [`Http1Endpoint`] (resolved once per table push),
//! checking a connection out is a pop under the endpoint's own lock, and the request's
//! task drives the connection itself: first while waiting for the response head, then
//! from the response body (see [`Lease`]), which hands it back when it ends. An idle
//! connection is driven by nobody; it is polled once when checked out, which notices
//! if the endpoint closed it meanwhile.

use std::future::poll_fn;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll, Waker};

use http::uri::Authority;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper::client::conn::http1::{Builder, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::idle::IdleLists;
use super::{CONNECT_TIMEOUT, SendFailure, UpstreamError};

/// A coarse clock for idle timeouts, in seconds since [`EPOCH`]: refreshed by every
/// sweep ([`sweep_clock`]) and read, instead of the system clock, when a connection goes
/// idle. It lags by at most one sweep interval however many sweepers run.
pub(super) static COARSE_NOW: AtomicU32 = AtomicU32::new(0);
static EPOCH: OnceLock<Instant> = OnceLock::new();
/// A connection idle this long by the coarse clock (30–50 s in real time) is closed.
pub(super) const IDLE_SECS: u32 = 40;

/// One HTTP/1.1 endpoint of a revision and its idle keep-alive connections: hyper's
/// (for the requests the gateway proxies through hyper) and bare sockets (for its own
/// HTTP/1.1 fast path, `crate::h1`).
#[derive(Debug)]
pub(crate) struct Http1Endpoint {
    addr: SocketAddr,
    /// `addr` as an h2c `:authority` when the request names no host, built once.
    authority: Authority,
    idle: IdleLists<Connection>,
    pub(super) raw_idle: IdleLists<TcpStream>,
}

/// One upstream connection: the handle requests are sent through and the future that
/// does its I/O, which whoever uses the connection must poll.
struct Connection {
    sender: SendRequest<Incoming>,
    /// hyper's upgradeable connection future (its type is not nameable).
    io: Pin<Box<dyn Future<Output = hyper::Result<()>> + Send>>,
    /// The I/O future finished: the connection is closed (or was upgraded).
    done: bool,
}

/// A connection lent to one request. Drive it with [`Lease::poll_drive`] while
/// reading the response body, then hand it back with [`Lease::release`]; dropping
/// it instead closes the connection.
#[derive(Debug)]
pub(crate) struct Lease {
    connection: Connection,
    endpoint: Arc<Http1Endpoint>,
}

// === impl Http1Endpoint ===

impl Http1Endpoint {
    pub(crate) fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            authority: Authority::try_from(addr.to_string())
                .expect("a socket address is a valid authority"),
            idle: IdleLists::new(),
            raw_idle: IdleLists::new(),
        }
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub(crate) fn authority(&self) -> &Authority {
        &self.authority
    }

    /// Sends `request` (origin-form URI, `Host` set) over an idle connection, or a new
    /// one when none is left, and waits for the response head.
    pub(crate) async fn send(
        self: &Arc<Self>,
        mut request: Request<Incoming>,
    ) -> Result<(Response<Incoming>, Lease), SendFailure> {
        loop {
            let (mut connection, pooled) = match self.checkout().await {
                Some(connection) => (connection, true),
                None => match self.connect().await {
                    Ok(connection) => (connection, false),
                    Err(error) => return Err(SendFailure::unsent(error, request)),
                },
            };
            let mut sent = std::pin::pin!(connection.sender.try_send_request(request));
            let sent = poll_fn(|cx| {
                connection.poll_drive(cx);
                sent.as_mut().poll(cx)
            })
            .await;
            match sent {
                Ok(response) => {
                    let lease = Lease {
                        connection,
                        endpoint: Arc::clone(self),
                    };
                    return Ok((response, lease));
                }
                // The endpoint closed a pooled connection just as it was picked: the
                // request never left, so it is safe to try the next one.
                Err(mut error) => match error.take_message() {
                    Some(unsent) if pooled => request = unsent,
                    _ => return Err(SendFailure::sent(UpstreamError::Http(error.into_error()))),
                },
            }
        }
    }

    /// The most recently used idle connection of this worker still open.
    async fn checkout(&self) -> Option<Connection> {
        loop {
            let mut connection = self.idle.pop()?;
            // Polling once both notices a close and registers this task for the
            // connection's I/O.
            let usable = poll_fn(|cx| {
                connection.poll_drive(cx);
                Poll::Ready(!connection.done && connection.sender.is_ready())
            })
            .await;
            if usable {
                return Some(connection);
            }
        }
    }

    fn checkin(&self, connection: Connection) {
        self.idle.push(connection);
    }

    /// Closes connections idle for longer than [`IDLE_SECS`]; `now` comes from
    /// [`sweep_clock`].
    pub(crate) fn evict_idle(&self, now: u32) {
        self.idle.evict(now);
        self.raw_idle.evict(now);
    }

    /// A new TCP connection to the endpoint, bounded by [`CONNECT_TIMEOUT`].
    pub(super) async fn connect_tcp(&self) -> Result<TcpStream, UpstreamError> {
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(self.addr))
            .await
            .map_err(|_| UpstreamError::ConnectTimeout)?
            .map_err(UpstreamError::Connect)?;
        let _ = stream.set_nodelay(true);
        Ok(stream)
    }

    async fn connect(&self) -> Result<Connection, UpstreamError> {
        let stream = self.connect_tcp().await?;
        let (sender, io) = Builder::new()
            .handshake(TokioIo::new(stream))
            .await
            .map_err(UpstreamError::Http)?;
        Ok(Connection {
            sender,
            io: Box::pin(io.with_upgrades()),
            done: false,
        })
    }
}

/// Refreshes the coarse idle clock; returns its reading for
/// [`Http1Endpoint::evict_idle`].
pub(crate) fn sweep_clock() -> u32 {
    let epoch = *EPOCH.get_or_init(Instant::now);
    let now = u32::try_from(epoch.elapsed().as_secs()).unwrap_or(u32::MAX);
    COARSE_NOW.store(now, Ordering::Relaxed);
    now
}

// === impl Connection ===

impl Connection {
    /// Lets the connection do whatever I/O it can.
    fn poll_drive(&mut self, cx: &mut Context<'_>) {
        if !self.done && self.io.as_mut().poll(cx).is_ready() {
            self.done = true;
        }
    }
}

// === impl Lease ===

impl Lease {
    /// Lets the connection read more of the response (and write more of the request).
    pub(crate) fn poll_drive(&mut self, cx: &mut Context<'_>) {
        self.connection.poll_drive(cx);
    }

    /// The response went through an upgrade (`101`): the connection now belongs to it,
    /// but its I/O future must still run to hand the socket over.
    pub(crate) fn upgrade(self) {
        let mut connection = self.connection;
        tokio::spawn(poll_fn(move |cx| {
            connection.poll_drive(cx);
            if connection.done {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }));
    }

    /// Returns the connection to its endpoint's idle list once the response has been
    /// read to its end. It is usually ready for the next request at once; if not (the
    /// request body is still streaming), a task drives it until it is.
    pub(crate) fn release(self) {
        let Self {
            mut connection,
            endpoint,
        } = self;
        // Nobody waits on an idle connection: a no-op waker does for this last poll,
        // which lets hyper finish the exchange and ask for the next request.
        connection.poll_drive(&mut Context::from_waker(Waker::noop()));
        if connection.done {
            return;
        }
        if connection.sender.is_ready() {
            endpoint.checkin(connection);
            return;
        }
        tokio::spawn(async move {
            let ready = poll_fn(|cx| {
                connection.poll_drive(cx);
                if connection.done {
                    return Poll::Ready(false);
                }
                connection.sender.poll_ready(cx).map(|ready| ready.is_ok())
            })
            .await;
            if ready {
                endpoint.checkin(connection);
            }
        });
    }
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}
