//! One request/response exchange with a function over a pooled socket, in the two
//! phases the revision's timeouts tell apart: [`start`] sends the rewritten head with
//! whatever body bytes are already buffered, streams the rest of the body, and reads
//! and rewrites the response head; [`Exchange::finish`] relays the response body and
//! parks the socket again if the function keeps it open.

use std::net::SocketAddr;

use bytes::{Buf, BytesMut};
use http::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::relay::{self, RelayError};
use super::request::RequestFraming;
use super::response::{self, Parsed};
use super::timers::Activity;
use crate::failover::{Attempts, Endpoints};
use crate::framing::ChunkedBody;
use crate::head_policy::ResponseBody;
use crate::pool::{Http1Endpoint, RawConnection, UpstreamError};

/// How far the exchange got, for whoever ends it early.
#[derive(Debug)]
pub(super) struct Progress {
    /// The endpoint tried last (another than the first after a refused connection).
    pub(super) endpoint: SocketAddr,
    /// The whole request, body included, reached the function.
    pub(super) request_sent: bool,
    /// The client has (some of) the response head: too late for an error response.
    pub(super) head_sent: bool,
    pub(super) status: StatusCode,
}

impl Progress {
    /// Nothing done yet; the request is for `endpoints`.
    pub(super) fn new(endpoints: &Endpoints) -> Self {
        Self {
            endpoint: endpoints.first().addr(),
            request_sent: false,
            head_sent: false,
            status: StatusCode::BAD_GATEWAY,
        }
    }
}

pub(super) struct ExchangeEnd {
    pub(super) status: StatusCode,
    /// The response ran until the function closed: the client connection must close too.
    pub(super) close_client: bool,
}

#[derive(Debug)]
pub(super) enum ExchangeError {
    /// The function failed before a response head.
    Upstream(UpstreamError),
    /// The client went away, or the function failed mid-response.
    Aborted,
}

/// Why sending the request or reading the head failed.
enum Failure {
    /// The socket failed before any response byte: on a reused socket the function may
    /// have closed it just as it was picked.
    Socket(std::io::Error),
    Other(ExchangeError),
}

/// Starts one exchange with one of `endpoints` (the first, or the next that takes the
/// connection: `crate::failover`): sends the request and reads the response head (see
/// [`Exchange::finish`] for the rest). `output` holds the function's head on entry and
/// the client's on return; `client_input` holds the client's unread bytes (the body, or
/// part of it, maybe the next request).
pub(super) async fn start<'a>(
    client: &'a mut TcpStream,
    client_input: &mut BytesMut,
    upstream_input: &'a mut BytesMut,
    output: &'a mut Vec<u8>,
    endpoints: &'a Endpoints,
    request: RequestFraming,
    progress: &'a mut Progress,
) -> Result<(Exchange<'a>, response::ResponseHead), ExchangeError> {
    // Body bytes already read go out with the head, in one write.
    let buffered = relay::take_buffered(client_input, request.body_len, output);
    let unsent_body = request.body_len - buffered;
    let mut attempts = endpoints.attempts();
    let (endpoint, upstream) = connect(&mut attempts, Socket::Pooled, progress).await?;
    upstream_input.clear();
    let mut exchange = Exchange {
        client,
        endpoint,
        upstream,
        upstream_input,
        output,
        progress,
    };
    loop {
        match exchange.send_and_read_head(unsent_body, request).await {
            Ok(head) => return Ok((exchange, head)),
            // The request can be sent again only if all of it is still at hand.
            Err(Failure::Socket(_)) if exchange.upstream.reused && unsent_body == 0 => {
                let (endpoint, upstream) =
                    connect(&mut attempts, Socket::New, exchange.progress).await?;
                exchange.endpoint = endpoint;
                exchange.upstream = upstream;
            }
            Err(Failure::Socket(error)) => {
                return Err(ExchangeError::Upstream(UpstreamError::Io(error)));
            }
            Err(Failure::Other(error)) => return Err(error),
        }
    }
}

/// Which socket [`connect`] may use.
#[derive(Clone, Copy)]
enum Socket {
    /// An idle keep-alive one if there is one.
    Pooled,
    /// Only a new one (a pooled one just failed).
    New,
}

/// A socket to the current endpoint of `attempts`, or to the next one after a
/// refused connection (`crate::failover`), recording the endpoint in `progress`.
async fn connect<'a>(
    attempts: &mut Attempts<'a>,
    socket: Socket,
    progress: &mut Progress,
) -> Result<(&'a Http1Endpoint, RawConnection), ExchangeError> {
    loop {
        let endpoint = attempts.current();
        progress.endpoint = endpoint.addr();
        let connected = match socket {
            Socket::Pooled => endpoint.checkout_raw().await,
            Socket::New => endpoint.connect_raw().await,
        };
        match connected {
            Ok(upstream) => return Ok((endpoint, upstream)),
            Err(error) if attempts.move_on_after(&error) => {}
            Err(error) => return Err(ExchangeError::Upstream(error)),
        }
    }
}

/// One exchange under way: the sockets and buffers it uses.
pub(super) struct Exchange<'a> {
    client: &'a mut TcpStream,
    endpoint: &'a Http1Endpoint,
    upstream: RawConnection,
    upstream_input: &'a mut BytesMut,
    output: &'a mut Vec<u8>,
    progress: &'a mut Progress,
}

impl Exchange<'_> {
    /// Relays the response whose `head` [`start`] read, stamping `activity` whenever it
    /// starts waiting for more of the function's bytes, and parks the function's socket
    /// if it can carry another request.
    pub(super) async fn finish(
        mut self,
        head: response::ResponseHead,
        activity: &Activity,
    ) -> Result<ExchangeEnd, ExchangeError> {
        let clean = self.relay_response(head, activity).await?;
        if head.keep_alive && clean {
            self.endpoint.checkin_raw(self.upstream.stream);
        }
        Ok(ExchangeEnd {
            status: self.progress.status,
            close_client: head.body == ResponseBody::UntilClose,
        })
    }

    async fn send_and_read_head(
        &mut self,
        unsent_body: u64,
        request: RequestFraming,
    ) -> Result<response::ResponseHead, Failure> {
        self.upstream
            .stream
            .write_all(self.output)
            .await
            .map_err(Failure::Socket)?;
        if unsent_body > 0 {
            let copied = relay::copy_length(
                self.client,
                &mut self.upstream.stream,
                self.upstream_input,
                unsent_body,
                None,
            )
            .await;
            match copied {
                Ok(()) => {}
                Err(RelayError::Write(error)) => {
                    return Err(Failure::Other(ExchangeError::Upstream(UpstreamError::Io(
                        error,
                    ))));
                }
                Err(_) => return Err(Failure::Other(ExchangeError::Aborted)),
            }
            self.upstream_input.clear();
        }
        self.progress.request_sent = true;
        let mut got_bytes = false;
        // Until the head comes, a client that leaves ends the exchange, and the
        // function (or the activator's queue) stops holding a request nobody awaits,
        // as nginx does. Bytes the client sends meanwhile (a pipelined request) stay
        // unread; the watch then stops, for it cannot tell a close behind them.
        let mut watch_client = true;
        loop {
            if !self.upstream_input.is_empty() {
                let close_client = request.close;
                match response::parse(
                    self.upstream_input,
                    request.head_method,
                    close_client,
                    self.output,
                ) {
                    Ok(Parsed::Complete(head)) => return Ok(head),
                    Ok(Parsed::Informational { head_len }) => {
                        self.progress.head_sent = true;
                        self.write_client().await?;
                        self.upstream_input.advance(head_len);
                        continue;
                    }
                    Ok(Parsed::Partial) => {}
                    Err(reason) => {
                        return Err(Failure::Other(ExchangeError::Upstream(
                            UpstreamError::Malformed(reason),
                        )));
                    }
                }
            }
            if self.upstream_input.capacity() - self.upstream_input.len() < 1024 {
                self.upstream_input.reserve(8 * 1024);
            }
            let read = if watch_client {
                tokio::select! {
                    biased;
                    read = self.upstream.stream.read_buf(self.upstream_input) => read,
                    gone = client_gone(self.client) => {
                        if gone {
                            return Err(Failure::Other(ExchangeError::Aborted));
                        }
                        watch_client = false;
                        continue;
                    }
                }
            } else {
                self.upstream.stream.read_buf(self.upstream_input).await
            };
            match read {
                Ok(0) if !got_bytes => {
                    return Err(Failure::Socket(std::io::ErrorKind::UnexpectedEof.into()));
                }
                Ok(0) => {
                    return Err(Failure::Other(ExchangeError::Upstream(
                        UpstreamError::ClosedEarly,
                    )));
                }
                Ok(_) => {
                    if !got_bytes {
                        // No retry from here on: the request buffer becomes the
                        // response's.
                        got_bytes = true;
                        self.output.clear();
                    }
                }
                Err(error) if !got_bytes => return Err(Failure::Socket(error)),
                Err(error) => {
                    return Err(Failure::Other(ExchangeError::Upstream(UpstreamError::Io(
                        error,
                    ))));
                }
            }
        }
    }

    /// Sends the rewritten head (already in the output buffer) with the body bytes read
    /// so far, then the rest of the body; returns whether the body ended exactly where
    /// the function stopped sending (so the socket may carry another request).
    async fn relay_response(
        &mut self,
        head: response::ResponseHead,
        activity: &Activity,
    ) -> Result<bool, ExchangeError> {
        self.progress.status = StatusCode::from_u16(head.status).unwrap_or(StatusCode::BAD_GATEWAY);
        self.upstream_input.advance(head.head_len);
        enum Rest {
            Done,
            Length(u64),
            Chunked(ChunkedBody),
            UntilClose,
        }
        let rest = match head.body {
            ResponseBody::Empty => Rest::Done,
            ResponseBody::Length(len) => {
                let taken = relay::take_buffered(self.upstream_input, len, self.output);
                match len - taken {
                    0 => Rest::Done,
                    left => Rest::Length(left),
                }
            }
            ResponseBody::Chunked => {
                let mut body = ChunkedBody::default();
                let (used, done) = body.advance(self.upstream_input);
                relay::take_buffered(self.upstream_input, used as u64, self.output);
                match done {
                    Some(true) => Rest::Done,
                    Some(false) => return Err(ExchangeError::Aborted),
                    None => Rest::Chunked(body),
                }
            }
            ResponseBody::UntilClose => {
                let all = self.upstream_input.len() as u64;
                relay::take_buffered(self.upstream_input, all, self.output);
                Rest::UntilClose
            }
        };
        self.progress.head_sent = true;
        self.write_client()
            .await
            .map_err(|_| ExchangeError::Aborted)?;
        activity.waiting();
        let from = &mut self.upstream.stream;
        let (to, buf) = (&mut *self.client, &mut *self.upstream_input);
        let relayed = match rest {
            Rest::Done => Ok(buf.is_empty()),
            Rest::Length(len) => relay::copy_length(from, to, buf, len, Some(activity))
                .await
                .map(|()| true),
            Rest::Chunked(body) => relay::copy_chunked(from, to, buf, body, activity).await,
            Rest::UntilClose => relay::copy_until_close(from, to, buf, activity)
                .await
                .map(|()| false),
        };
        relayed.map_err(|_| ExchangeError::Aborted)
    }

    async fn write_client(&mut self) -> Result<(), Failure> {
        let written = self.client.write_all(self.output).await;
        self.output.clear();
        written.map_err(|_| Failure::Other(ExchangeError::Aborted))
    }
}

/// Resolves when the client has closed its side (`true`) or sent more bytes (`false`);
/// reads nothing.
async fn client_gone(client: &TcpStream) -> bool {
    let mut probe = [0u8; 1];
    matches!(client.peek(&mut probe).await, Ok(0) | Err(_))
}
