//! Drives the real gateway over real sockets against real hyper upstreams.

mod recorder;
mod support;
mod wire;

mod client_abort;
mod differential;
mod failover;
mod fast_path;
mod framing;
mod headers;
mod hostile;
mod lifecycle;
mod protocols;
mod routing;
mod smuggling;
mod stats;
mod timeouts;
