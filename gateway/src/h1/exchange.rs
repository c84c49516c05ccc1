//! One request/response exchange with a function over a pooled socket: send the
//! rewritten head with whatever body bytes are already buffered, stream the rest of the
//! body, read and rewrite the response head, relay the response body, and park the
//! socket again if the function keeps it open.

use bytes::{Buf, BytesMut};
use http::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::relay::{self, RelayError};
use super::request::RequestFraming;
use super::response::{self, Parsed};
use crate::framing::ChunkedBody;
use crate::head_policy::ResponseBody;
use crate::pool::{Http1Endpoint, RawConnection, UpstreamError};

/// How far the exchange got, for whoever ends it early.
#[derive(Debug)]
pub(super) struct Progress {
    /// The whole request, body included, reached the function.
    pub(super) request_sent: bool,
    /// The client has (some of) the response head: too late for an error response.
    pub(super) head_sent: bool,
    pub(super) status: StatusCode,
}

impl Default for Progress {
    fn default() -> Self {
        Self {
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

/// Runs one exchange with `endpoint`. `output` holds the function's head on entry;
/// `client_input` holds the client's unread bytes (the body, or part of it, maybe the
/// next request).
pub(super) async fn exchange(
    client: &mut TcpStream,
    client_input: &mut BytesMut,
    upstream_input: &mut BytesMut,
    output: &mut Vec<u8>,
    endpoint: &Http1Endpoint,
    request: RequestFraming,
    progress: &mut Progress,
) -> Result<ExchangeEnd, ExchangeError> {
    // Body bytes already read go out with the head, in one write.
    let buffered = relay::take_buffered(client_input, request.body_len, output);
    let unsent_body = request.body_len - buffered;
    let upstream = endpoint
        .checkout_raw()
        .await
        .map_err(ExchangeError::Upstream)?;
    upstream_input.clear();
    let mut io = Io {
        client,
        upstream,
        upstream_input,
        output,
        progress,
    };
    loop {
        match io.send_and_read_head(unsent_body, request).await {
            Ok(head) => {
                let clean = io.relay_response(head).await?;
                let status = io.progress.status;
                if head.keep_alive && clean {
                    endpoint.checkin_raw(io.upstream.stream);
                }
                return Ok(ExchangeEnd {
                    status,
                    close_client: head.body == ResponseBody::UntilClose,
                });
            }
            // The request can be sent again only if all of it is still at hand.
            Err(Failure::Socket(_)) if io.upstream.reused && unsent_body == 0 => {
                io.upstream = endpoint
                    .connect_raw()
                    .await
                    .map_err(ExchangeError::Upstream)?;
            }
            Err(Failure::Socket(error)) => {
                return Err(ExchangeError::Upstream(UpstreamError::Io(error)));
            }
            Err(Failure::Other(error)) => return Err(error),
        }
    }
}

/// The sockets and buffers of one exchange.
struct Io<'a> {
    client: &'a mut TcpStream,
    upstream: RawConnection,
    upstream_input: &'a mut BytesMut,
    output: &'a mut Vec<u8>,
    progress: &'a mut Progress,
}

impl Io<'_> {
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
            match self.upstream.stream.read_buf(self.upstream_input).await {
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
        let from = &mut self.upstream.stream;
        let relayed = match rest {
            Rest::Done => Ok(self.upstream_input.is_empty()),
            Rest::Length(len) => relay::copy_length(from, self.client, self.upstream_input, len)
                .await
                .map(|()| true),
            Rest::Chunked(body) => {
                relay::copy_chunked(from, self.client, self.upstream_input, body).await
            }
            Rest::UntilClose => relay::copy_until_close(from, self.client, self.upstream_input)
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
