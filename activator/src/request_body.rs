//! The client's request body on its way upstream, recoverable while nothing of it has
//! been sent: a connect error leaves it untouched, so the request can be retried on
//! another replica without buffering the body.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use parking_lot::Mutex;

/// A request body shared between the upstream client (which streams it) and the
/// forwarder (which may take it back for a retry).
#[derive(Debug)]
pub(crate) struct RequestBody {
    slot: Arc<Mutex<Slot>>,
}

#[derive(Debug)]
struct Slot {
    body: Option<Incoming>,
    /// Set on the first read: from then on part of the body may be gone.
    touched: bool,
}

// === impl RequestBody ===

impl RequestBody {
    pub(crate) fn new(body: Incoming) -> Self {
        Self {
            slot: Arc::new(Mutex::new(Slot {
                body: Some(body),
                touched: false,
            })),
        }
    }

    /// A handle to take the body back later, see [`RequestBody::reclaim`].
    pub(crate) fn handle(&self) -> Self {
        Self {
            slot: Arc::clone(&self.slot),
        }
    }

    /// The body, moved into a fresh `RequestBody`, if nothing of it was read yet; the
    /// old one (possibly still held by a failed request) then reads as empty.
    pub(crate) fn reclaim(&self) -> Option<Self> {
        let mut slot = self.slot.lock();
        if slot.touched {
            return None;
        }
        slot.body.take().map(Self::new)
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        // Uncontended: only the upstream connection polls it.
        let mut slot = self.slot.lock();
        slot.touched = true;
        match slot.body.as_mut() {
            Some(body) => Pin::new(body).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.slot
            .lock()
            .body
            .as_ref()
            .is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.slot
            .lock()
            .body
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), Body::size_hint)
    }
}
