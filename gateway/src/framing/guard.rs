//! The I/O side of [`FramingInspector`]: wraps the client connection so hyper reads
//! only vetted bytes. Writes pass straight through.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

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
    pub(crate) fn new(io: IO) -> Self {
        Self {
            io,
            inspector: FramingInspector::default(),
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
            if let Some(budget) = this.inspector.direct_budget() {
                // Body bytes of known length go straight to hyper, no copy.
                let limit = usize::try_from(budget)
                    .unwrap_or(usize::MAX)
                    .min(buf.remaining());
                // Initialising costs a memset but keeps this free of `unsafe`.
                let mut direct = ReadBuf::new(buf.initialize_unfilled_to(limit));
                ready!(Pin::new(&mut this.io).poll_read(cx, &mut direct))?;
                let n = direct.filled().len();
                buf.advance(n);
                this.inspector.record_direct(n);
                return Poll::Ready(Ok(()));
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

impl<IO: AsyncWrite + Unpin> AsyncWrite for FramingGuard<IO> {
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
