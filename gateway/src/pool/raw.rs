//! Bare keep-alive sockets to an HTTP/1.1 endpoint, for the gateway's own HTTP/1.1
//! path (`crate::h1`), which writes and parses the messages itself.

use std::io::ErrorKind;

use tokio::net::TcpStream;

use super::{Http1Endpoint, UpstreamError};

/// A socket to an endpoint, and whether it has carried a request before (a reused
/// socket may have been closed by the endpoint just as it was picked, so a request
/// that fails on it before any response byte may be retried on a new one).
#[derive(Debug)]
pub(crate) struct RawConnection {
    pub(crate) stream: TcpStream,
    pub(crate) reused: bool,
}

impl Http1Endpoint {
    /// This worker's most recently used idle socket that still looks open, else a new
    /// one.
    pub(crate) async fn checkout_raw(&self) -> Result<RawConnection, UpstreamError> {
        while let Some(stream) = self.raw_idle.pop() {
            // An idle socket should have nothing to read: the endpoint either closed it
            // (EOF or reset) or sent bytes nobody asked for; only "would block" is fine.
            // Readiness is cached by the runtime, so this rarely costs a system call.
            let mut probe = [0u8; 1];
            if let Err(error) = stream.try_read(&mut probe)
                && error.kind() == ErrorKind::WouldBlock
            {
                return Ok(RawConnection {
                    stream,
                    reused: true,
                });
            }
        }
        self.connect_raw().await
    }

    /// A new socket to the endpoint.
    pub(crate) async fn connect_raw(&self) -> Result<RawConnection, UpstreamError> {
        Ok(RawConnection {
            stream: self.connect_tcp().await?,
            reused: false,
        })
    }

    /// Parks a socket whose last response was read to its end.
    pub(crate) fn checkin_raw(&self, stream: TcpStream) {
        self.raw_idle.push(stream);
    }
}
