//! A deadline on a connection's first bytes. hyper's `auto` server reads the first
//! bytes of a connection to tell HTTP/2's preface from HTTP/1.1 before any HTTP/1.1
//! header read timeout applies, and waits for them without a limit: a client that
//! connects and sends nothing, or trickles a preface-shaped prefix, would hold its
//! connection forever. Until [`PROTOCOL_SNIFF_BYTES`] have been read, a read that has
//! waited past the deadline fails with `TimedOut`; after that reads pass straight
//! through and hyper's own timers apply.
//!
//! The same as `gateway/src/first_bytes.rs` and `activator/src/first_bytes.rs` (the
//! crates share no dependency to hold it), whose tests cover it.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// The length of HTTP/2's connection preface, all hyper reads before deciding.
pub(crate) const PROTOCOL_SNIFF_BYTES: usize = 24;

/// `io` whose first [`PROTOCOL_SNIFF_BYTES`] must arrive within a deadline.
#[derive(Debug)]
pub(crate) struct FirstBytesDeadline<IO> {
    io: IO,
    /// `None` once enough bytes came.
    deadline: Option<Pin<Box<Sleep>>>,
    left: usize,
}

impl<IO> FirstBytesDeadline<IO> {
    /// `io`, whose first bytes must arrive within `timeout` from now.
    pub(crate) fn new(io: IO, timeout: Duration) -> Self {
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

impl<IO: AsyncWrite + Unpin> AsyncWrite for FirstBytesDeadline<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
