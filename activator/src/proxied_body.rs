//! A replica's response body on its way to the client. It holds the request's
//! throttler permit and in-flight count, so the replica's slot frees and the request
//! stops counting when the body has been relayed (or abandoned), not when the head
//! arrived, and it ends at the revision's deadline.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use stat_stream::InFlight;
use tokio::time::{Instant, Sleep};

use crate::throttler::Permit;

#[derive(Debug)]
pub(crate) struct ProxiedBody {
    inner: Incoming,
    /// `None` once the body has ended, one way or the other.
    held: Option<Held>,
    deadline: Pin<Box<Sleep>>,
}

/// What the request keeps until its body ends; dropping it releases both.
#[derive(Debug)]
struct Held {
    _permit: Permit,
    _in_flight: InFlight,
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
    pub(crate) fn new(
        inner: Incoming,
        permit: Permit,
        in_flight: InFlight,
        deadline: Instant,
    ) -> Self {
        Self {
            inner,
            held: Some(Held {
                _permit: permit,
                _in_flight: in_flight,
            }),
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
        if this.held.is_none() {
            return Poll::Ready(None);
        }
        let frame = match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => frame,
            Poll::Pending => {
                ready!(this.deadline.as_mut().poll(cx));
                this.held = None;
                return Poll::Ready(Some(Err(RelayError::Timeout)));
            }
        };
        match frame {
            Some(Ok(frame)) => Poll::Ready(Some(Ok(frame))),
            // Done, one way or the other: the replica's slot is free again and the
            // request no longer counts.
            Some(Err(error)) => {
                this.held = None;
                Poll::Ready(Some(Err(RelayError::Upstream(error))))
            }
            None => {
                this.held = None;
                Poll::Ready(None)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.held.is_none() || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
