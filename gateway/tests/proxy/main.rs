//! Drives the real gateway over real sockets against real hyper upstreams.

mod support;

mod fast_path;
mod framing;
mod headers;
mod lifecycle;
mod protocols;
mod routing;
