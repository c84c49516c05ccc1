//! Drives the real gateway over real sockets against real hyper upstreams.

mod support;

mod framing;
mod headers;
mod lifecycle;
mod protocols;
mod routing;
