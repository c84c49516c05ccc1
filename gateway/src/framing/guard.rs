//! The I/O side of [`FramingInspector`]: wraps the client connection so hyper reads
//! only vetted bytes. Writes pass straight through.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, ReadBuf};

use super::FramingInspector;

const SCRATCH_BYTES: usize = 8 * 1024;

/// A client connection whose request heads are checked for ambiguous framing.
#[derive(Debug)]
pub(crate) struct FramingGuard<IO> {
    io: IO,
    inspector: FramingInspector,
    scratch: Vec<u8>,
}

impl<IO> FramingGuard<IO> {
    /// A connection of which `prefix` was already read (by the fast path): those bytes
    /// are inspected and handed over first.
    pub(crate) fn with_prefix(prefix: &[u8], io: IO) -> Self {
        let mut inspector = FramingInspector::default();
        if !prefix.is_empty() {
            inspector.push(prefix);
        }
        Self {
            io,
            inspector,
            scratch: Vec::new(),
        }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for FramingGuard<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.inspector.has_vetted() {
                let vetted = this.inspector.vetted();
                let n = vetted.len().min(buf.remaining());
                buf.put_slice(&vetted[..n]);
                this.inspector.consume(n);
                return Poll::Ready(Ok(()));
            }
            if this.inspector.is_rejected() {
                return Poll::Ready(Ok(()));
            }
            if this.inspector.is_passthrough() {
                return Pin::new(&mut this.io).poll_read(cx, buf);
            }
            if this.inspector.is_idle() {
                // The common case: read straight into hyper's buffer and vet the bytes
                // there, holding back (un-filling) only what may not go to hyper yet.
                let before = buf.filled().len();
                ready!(Pin::new(&mut this.io).poll_read(cx, buf))?;
                let read = &buf.filled()[before..];
                if read.is_empty() {
                    this.inspector.finish();
                    return Poll::Ready(Ok(()));
                }
                let vetted = this.inspector.vet_in_place(read);
                buf.set_filled(before + vetted);
                if vetted > 0 {
                    return Poll::Ready(Ok(()));
                }
                // Nothing to hand over yet: an empty read would look like EOF to hyper.
                continue;
            }
            if this.scratch.is_empty() {
                this.scratch = vec![0; SCRATCH_BYTES];
            }
            let mut scratch = ReadBuf::new(&mut this.scratch);
            ready!(Pin::new(&mut this.io).poll_read(cx, &mut scratch))?;
            if scratch.filled().is_empty() {
                this.inspector.finish();
                if !this.inspector.has_vetted() {
                    return Poll::Ready(Ok(()));
                }
            } else {
                let filled = scratch.filled().len();
                this.inspector.push(&this.scratch[..filled]);
            }
        }
    }
}

conn_guard::pass_writes_through!(FramingGuard, io);

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;

    use super::*;

    #[tokio::test]
    async fn hands_over_the_prefix_then_the_connection() {
        let rest = &b"Host: h\r\n\r\n"[..];
        let mut guard = FramingGuard::with_prefix(b"GET / HTTP/1.1\r\n", rest);
        let mut all = String::new();
        guard.read_to_string(&mut all).await.unwrap();
        assert_eq!(all, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    }

    #[tokio::test]
    async fn vets_the_prefix_too() {
        let ambiguous = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n";
        let mut guard = FramingGuard::with_prefix(ambiguous, &b""[..]);
        let mut all = String::new();
        guard.read_to_string(&mut all).await.unwrap();
        assert!(all.contains("ambiguous-framing"), "{all}");
    }
}
