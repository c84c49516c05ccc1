//! A replica's response body on its way to the client. It holds the request's
//! throttler permit, so the replica's slot frees when the body has been relayed (or
//! abandoned), not when the head arrived, and it ends at the revision's deadline.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use tokio::time::{Instant, Sleep};

use crate::throttler::Permit;

#[derive(Debug)]
pub(crate) struct ProxiedBody {
    inner: Incoming,
    permit: Option<Permit>,
    deadline: Pin<Box<Sleep>>,
}

/// Why the relayed body stopped early.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RelayError {
    #[error("response cut at the revision's timeout")]
    Timeout,
    #[error(transparent)]
    Upstream(hyper::Error),
}

// === impl ProxiedBody ===

impl ProxiedBody {
    pub(crate) fn new(inner: Incoming, permit: Permit, deadline: Instant) -> Self {
        Self {
            inner,
            permit: Some(permit),
            deadline: Box::pin(tokio::time::sleep_until(deadline)),
        }
    }
}

impl Body for ProxiedBody {
    type Data = Bytes;
    type Error = RelayError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, RelayError>>> {
        let this = &mut *self;
        if this.permit.is_none() {
            return Poll::Ready(None);
        }
        let frame = match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => frame,
            Poll::Pending => {
                ready!(this.deadline.as_mut().poll(cx));
                this.permit = None;
                return Poll::Ready(Some(Err(RelayError::Timeout)));
            }
        };
        match frame {
            Some(Ok(frame)) => Poll::Ready(Some(Ok(frame))),
            // Done, one way or the other: the replica's slot is free again.
            Some(Err(error)) => {
                this.permit = None;
                Poll::Ready(Some(Err(RelayError::Upstream(error))))
            }
            None => {
                this.permit = None;
                Poll::Ready(None)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.permit.is_none() || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
