//! A deadline on a connection's first bytes. hyper's `auto` server reads the first
//! bytes of a connection to tell HTTP/2's preface from HTTP/1.1 before any HTTP/1.1
//! header read timeout applies, and waits for them without a limit: a client that
//! connects and sends nothing, or trickles a preface-shaped prefix, would hold its
//! connection forever. Until [`PROTOCOL_SNIFF_BYTES`] have been read, a read that has
//! waited past the deadline fails with `TimedOut`; after that reads pass straight
//! through and hyper's own timers apply.
//!
//! One crate so that every listener (the gateway's hyper path, the activator, the API)
//! applies the same rule.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, ReadBuf};
use tokio::time::Sleep;

/// The length of HTTP/2's connection preface, all hyper reads before deciding.
pub const PROTOCOL_SNIFF_BYTES: usize = 24;

/// `io` whose first [`PROTOCOL_SNIFF_BYTES`] must arrive within a deadline.
#[derive(Debug)]
pub struct FirstBytesDeadline<IO> {
    io: IO,
    /// `None` once enough bytes came.
    deadline: Option<Pin<Box<Sleep>>>,
    left: usize,
}

impl<IO> FirstBytesDeadline<IO> {
    /// `io`, whose first bytes must arrive within `timeout` from now.
    pub fn new(io: IO, timeout: Duration) -> Self {
        Self {
            io,
            deadline: Some(Box::pin(tokio::time::sleep(timeout))),
            left: PROTOCOL_SNIFF_BYTES,
        }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for FirstBytesDeadline<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let Some(deadline) = this.deadline.as_mut() else {
            return Pin::new(&mut this.io).poll_read(cx, buf);
        };
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                this.left = this.left.saturating_sub(buf.filled().len() - before);
                if this.left == 0 {
                    this.deadline = None;
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => match deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no request within the header read timeout",
                ))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

/// Implements `AsyncWrite` for `$wrapper<IO>`, a wrapper that guards only the read side,
/// by passing every write straight to its `$field`.
#[macro_export]
macro_rules! pass_writes_through {
    ($wrapper:ident, $field:ident) => {
        impl<IO: ::tokio::io::AsyncWrite + Unpin> ::tokio::io::AsyncWrite for $wrapper<IO> {
            fn poll_write(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                buf: &[u8],
            ) -> ::std::task::Poll<::std::io::Result<usize>> {
                ::std::pin::Pin::new(&mut self.get_mut().$field).poll_write(cx, buf)
            }

            fn poll_write_vectored(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                bufs: &[::std::io::IoSlice<'_>],
            ) -> ::std::task::Poll<::std::io::Result<usize>> {
                ::std::pin::Pin::new(&mut self.get_mut().$field).poll_write_vectored(cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                self.$field.is_write_vectored()
            }

            fn poll_flush(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                ::std::pin::Pin::new(&mut self.get_mut().$field).poll_flush(cx)
            }

            fn poll_shutdown(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                ::std::pin::Pin::new(&mut self.get_mut().$field).poll_shutdown(cx)
            }
        }
    };
}

pass_writes_through!(FirstBytesDeadline, io);

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test(start_paused = true)]
    async fn silence_past_the_deadline_fails_the_read() {
        let (client, server) = tokio::io::duplex(64);
        let mut guarded = FirstBytesDeadline::new(server, Duration::from_secs(5));
        let mut buf = [0u8; 8];
        let error = guarded.read(&mut buf).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        drop(client);
    }

    #[tokio::test(start_paused = true)]
    async fn a_short_prefix_does_not_lift_the_deadline_but_enough_bytes_do() {
        let (mut client, server) = tokio::io::duplex(64);
        let mut guarded = FirstBytesDeadline::new(server, Duration::from_secs(5));
        let mut buf = [0u8; 64];
        client.write_all(b"PRI * HTTP/2.0").await.unwrap();
        assert_eq!(guarded.read(&mut buf).await.unwrap(), 14);
        let error = guarded.read(&mut buf).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);

        let (mut client, server) = tokio::io::duplex(64);
        let mut guarded = FirstBytesDeadline::new(server, Duration::from_secs(5));
        client
            .write_all(&[b'x'; PROTOCOL_SNIFF_BYTES])
            .await
            .unwrap();
        assert_eq!(guarded.read(&mut buf).await.unwrap(), PROTOCOL_SNIFF_BYTES);
        // Idle well past the deadline: hyper's own timers decide from here.
        let read = tokio::time::timeout(Duration::from_secs(60), guarded.read(&mut buf)).await;
        assert!(read.is_err(), "still waiting, no error");
    }
}
