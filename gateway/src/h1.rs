//! The HTTP/1.1 fast path: plain HTTP/1.1 requests proxied to HTTP/1.1 functions
//! without hyper. Heads are parsed in place (httparse), checked, routed and rewritten
//! straight into the bytes the function receives; bodies are relayed as bytes (known
//! length or chunked, followed just far enough to find the end); both sides keep their
//! connections alive, the function's through per-worker socket lists.
//!
//! It exists because the proxy is CPU-bound on small requests, and hyper's generality
//! (header maps, a dispatcher and channels per connection, a body type per message)
//! costs more than the proxying itself. Anything outside the common case — HTTP/2 and
//! h2c, upgrades (WebSocket), `Expect`, chunked request bodies, HTTP/1.0, absolute-form
//! targets, h2c functions, heads httparse rejects — hands the connection, with the
//! bytes already read, to the hyper path (`crate::proxy`), which stays the reference
//! behaviour: both paths route, rewrite headers, time out, answer errors and count
//! metrics the same way.

mod connection;
mod exchange;
#[cfg(any(test, feature = "fuzzing"))]
#[cfg_attr(not(feature = "fuzzing"), allow(unreachable_pub))]
pub mod fuzz;
mod relay;
mod request;
mod response;
mod timers;

pub(crate) use connection::{Handoff, serve};
