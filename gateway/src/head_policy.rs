//! The one place that says what a forwarded HTTP head contains: which of the sender's
//! header fields go on, which the gateway adds, and which heads it refuses. Both
//! request paths use it — the HTTP/1.1 fast path (`crate::h1`) writes the result as
//! bytes, the hyper path (`crate::proxy`) into a `HeaderMap` — so a rule is written
//! once and the two cannot drift apart.
//!
//! The rules, in RFC 9110/9112 terms:
//! - Hop-by-hop fields (`Connection`, `Keep-Alive`, `Proxy-*`, `TE` other than
//!   `trailers`, `Upgrade` outside an upgrade, and whatever `Connection` names) stop
//!   here, in both directions.
//! - Framing is the proxy's own. `Connection` can never remove `Host`,
//!   `Content-Length` or `Transfer-Encoding`: the gateway frames each message it
//!   forwards from what it actually relays (a request carries `content-length: N`
//!   exactly when the client sent a valid length; a chunked body is re-chunked by the
//!   path that relays it).
//! - A request whose framing cannot be forwarded unambiguously is refused with 400
//!   (and the connection closes): an invalid or conflicting `Content-Length`, a
//!   `Transfer-Encoding` other than exactly `chunked`, both together, `Transfer-Encoding`
//!   on HTTP/1.0, or more than one `Host`.
//! - Platform-internal fields (`K-*`, `Knative-Serving-*`) from the client never reach
//!   the function; the gateway sets its own `Knative-Serving-Revision`/`-Namespace`.
//! - Forwarding: RFC 7239 `Forwarded` and `X-Forwarded-For` keep earlier hops' values,
//!   folded into one line, with this hop's appended; `X-Forwarded-Proto` is added when
//!   the client sent none.

mod field;
mod request;
mod response;
mod sink;
#[cfg(test)]
mod tests;

pub(crate) use request::{Hop, Refusal, RequestBody, RequestScan};
pub(crate) use response::{ResponseBody, ResponseScan};
pub(crate) use sink::MapSink;

/// Header block limit, shared with hyper's configuration (431 beyond it).
pub(crate) const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Header count limit, shared with hyper for the same reason.
pub(crate) const MAX_HEADERS: usize = 128;

/// One header line as bytes: name and value.
pub(crate) type Line<'a> = (&'a [u8], &'a [u8]);
