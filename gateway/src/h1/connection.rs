//! One client connection on the fast path: read a head, act on its [`Plan`], relay the
//! exchange with the function over a pooled socket, repeat. A request the path leaves
//! to hyper ends the loop with a [`Handoff`] of the socket and the unread bytes.

use std::pin::Pin;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

use super::exchange::{self, ExchangeEnd, ExchangeError, Progress};
use super::request::{self, Answer, Forward, Plan, RequestFraming};
use super::timers::{Activity, TIMER_SLACK, rearm, streaming_cut};
use crate::failover::Endpoints;
use crate::forwarded::ClientForwarding;
use crate::proxy::{Proxy, Target};
use crate::proxy_error::ProxyError;
use crate::request_limits::RequestLimits;

const READ_BUFFER: usize = 8 * 1024;

/// The socket and whatever was read from it but not yet used, for hyper to continue.
pub(crate) struct Handoff {
    pub(crate) stream: TcpStream,
    pub(crate) buffered: BytesMut,
    /// The first buffered request's revision and endpoint, when already chosen.
    pub(crate) target: Option<Target>,
}

impl Handoff {
    /// A connection the fast path has not read from.
    pub(crate) fn untouched(stream: TcpStream) -> Self {
        Self {
            stream,
            buffered: BytesMut::new(),
            target: None,
        }
    }
}

/// What to do after a request.
enum Next {
    KeepAlive,
    Close,
}

/// How an exchange under the revision's time limits ended.
enum Outcome {
    Done(ExchangeEnd),
    Failed(ExchangeError),
    /// No response head by the response-start limit (or the deadline).
    HeadTimeout,
    /// The response was streaming when the deadline or the idle limit passed.
    Cut,
}

struct Connection {
    stream: TcpStream,
    /// Bytes from the client not yet used.
    input: BytesMut,
    /// Bytes from the function (and scratch for bodies).
    upstream_input: BytesMut,
    /// The head being written (to the function, then to the client).
    output: Vec<u8>,
    head_timer: Pin<Box<Sleep>>,
    request_timer: Pin<Box<Sleep>>,
}

/// Serves `stream` until the client closes, an error ends it, `stop` completes while
/// it is idle, or a request needs hyper (then the socket is handed back).
pub(crate) async fn serve(
    stream: TcpStream,
    proxy: &Proxy,
    client: &ClientForwarding,
    mut stop: Pin<&mut impl Future<Output = ()>>,
) -> Option<Handoff> {
    // A client must finish sending a request head within this of the gateway starting
    // to wait for it (slowloris guard; it also closes keep-alive connections idle this
    // long). The timer may fire up to `slack` late, so it is rarely touched.
    let header_read_timeout = proxy.header_read_timeout();
    let slack = (header_read_timeout / 8).min(Duration::from_secs(1));
    let now = Instant::now();
    let mut connection = Connection {
        stream,
        input: BytesMut::with_capacity(READ_BUFFER),
        upstream_input: BytesMut::with_capacity(READ_BUFFER),
        output: Vec::with_capacity(1024),
        head_timer: Box::pin(tokio::time::sleep_until(now + header_read_timeout)),
        request_timer: Box::pin(tokio::time::sleep_until(now)),
    };
    loop {
        // A new head: the client has the header read timeout from now to send all of it.
        rearm(
            &mut connection.head_timer,
            Instant::now() + header_read_timeout,
            slack,
        );
        if connection.input.is_empty() && !connection.read_more(stop.as_mut(), true).await {
            return None;
        }
        let next = loop {
            connection.output.clear();
            match request::plan(&connection.input, proxy, client, &mut connection.output) {
                Plan::NeedMore => {
                    if !connection.read_more(stop.as_mut(), false).await {
                        return None;
                    }
                }
                Plan::Handoff(target) => {
                    return Some(Handoff {
                        stream: connection.stream,
                        buffered: connection.input,
                        target,
                    });
                }
                Plan::Refuse(refusal) => {
                    let _ = connection.stream.write_all(refusal.http1_response()).await;
                    break Next::Close;
                }
                Plan::Answer(answer) => break connection.answer(answer).await,
                Plan::Forward(forward) => break connection.forward(forward).await,
            }
        };
        if let Next::Close = next {
            linger(connection.stream).await;
            return None;
        }
    }
}

impl Connection {
    /// Reads more of a request head; `false` when the connection should end instead
    /// (closed, failed, too slow, or, between requests (`idle`), `stop` completed).
    async fn read_more(&mut self, stop: Pin<&mut impl Future<Output = ()>>, idle: bool) -> bool {
        if self.input.capacity() - self.input.len() < 1024 {
            self.input.reserve(READ_BUFFER);
        }
        tokio::select! {
            biased;
            read = self.stream.read_buf(&mut self.input) => matches!(read, Ok(n) if n > 0),
            () = stop, if idle => false,
            () = self.head_timer.as_mut() => false,
        }
    }

    /// The gateway answers itself.
    async fn answer(&mut self, answer: Answer) -> Next {
        let Answer {
            error,
            target,
            request,
        } = answer;
        // A body the function will never read is not worth reading either.
        let close = request.close || request.body_len > 0;
        self.output.clear();
        error.write_http1(&mut self.output, close);
        if let Some(target) = target {
            drop(target.observation(error.status()));
        }
        if self.stream.write_all(&self.output).await.is_err() || close {
            return Next::Close;
        }
        bytes::Buf::advance(&mut self.input, request.head_len);
        Next::KeepAlive
    }

    /// Relays the exchange with the function, bounded by the revision's time limits.
    async fn forward(&mut self, forward: Forward) -> Next {
        let Forward {
            target,
            endpoints,
            request,
        } = forward;
        bytes::Buf::advance(&mut self.input, request.head_len);
        let mut progress = Progress::new(&endpoints);
        let outcome = self
            .exchange(&target.limits, &endpoints, request, &mut progress)
            .await;
        let (status, next) = match outcome {
            Outcome::Done(end) => {
                let next = if end.close_client || request.close {
                    Next::Close
                } else {
                    Next::KeepAlive
                };
                (end.status, next)
            }
            Outcome::Failed(ExchangeError::Upstream(source)) if !progress.head_sent => {
                let error = ProxyError::Upstream {
                    revision: target.label(),
                    endpoint: progress.endpoint,
                    source,
                };
                let close = request.close || !progress.request_sent;
                (error.status(), self.write_error(&error, close).await)
            }
            Outcome::HeadTimeout if !progress.head_sent => {
                let error = target.limits.head_timeout(target.label());
                (error.status(), self.write_error(&error, true).await)
            }
            // Too late for an error response: the client sees the connection close.
            Outcome::Failed(_) | Outcome::HeadTimeout | Outcome::Cut => {
                (progress.status, Next::Close)
            }
        };
        drop(target.observation(status));
        next
    }

    /// Runs the exchange in its two phases, each raced against the request timer: the
    /// wait for the head ends at the response-start limit; the body, at the deadline or
    /// after an idle pause of the function.
    async fn exchange(
        &mut self,
        limits: &RequestLimits,
        endpoints: &Endpoints,
        request: RequestFraming,
        progress: &mut Progress,
    ) -> Outcome {
        rearm(&mut self.request_timer, limits.response_start, TIMER_SLACK);
        let started = exchange::start(
            &mut self.stream,
            &mut self.input,
            &mut self.upstream_input,
            &mut self.output,
            endpoints,
            request,
            progress,
        );
        let (exchange, head) = tokio::select! {
            biased;
            started = started => match started {
                Ok(started) => started,
                Err(error) => return Outcome::Failed(error),
            },
            () = self.request_timer.as_mut() => return Outcome::HeadTimeout,
        };
        let activity = Activity::starting_now(limits);
        tokio::select! {
            biased;
            finished = exchange.finish(head, &activity) => match finished {
                Ok(end) => Outcome::Done(end),
                Err(error) => Outcome::Failed(error),
            },
            _ = streaming_cut(&mut self.request_timer, limits, &activity) => Outcome::Cut,
        }
    }

    async fn write_error(&mut self, error: &ProxyError, close: bool) -> Next {
        self.output.clear();
        error.write_http1(&mut self.output, close);
        match self.stream.write_all(&self.output).await {
            Ok(()) if !close => Next::KeepAlive,
            _ => Next::Close,
        }
    }
}

/// Closes our side, then reads and discards what the client still sends (a body we did
/// not read, pipelined requests) until it closes too, for a bounded time and amount:
/// closing a socket with unread data makes the kernel send a reset, which can destroy
/// the response the client has not read yet.
async fn linger(mut stream: TcpStream) {
    const LINGER_TIME: Duration = Duration::from_secs(2);
    const LINGER_BYTES: usize = 256 * 1024;
    if stream.shutdown().await.is_err() {
        return;
    }
    let mut discard = [0u8; 4096];
    let mut left = LINGER_BYTES;
    let _ = tokio::time::timeout(LINGER_TIME, async {
        while let Ok(n @ 1..) = stream.read(&mut discard).await {
            left = left.saturating_sub(n);
            if left == 0 {
                return;
            }
        }
    })
    .await;
}
