//! When a request that failed on a replica is sent again.
//!
//! - A refused connection (nothing was sent): up to [`CONNECT_ATTEMPTS`] tries in all.
//!   A replica just gone may still be listed, and its replacement may take a moment;
//!   each refusal ejects the replica for [`crate::throttler::EJECTION`], so the tries
//!   span about 2 s, the time a crashed replica takes to be replaced.
//! - A connection that broke before a response head: once more, and only for an
//!   idempotent method (RFC 9110 §9.2.2), as nginx's `proxy_next_upstream error`
//!   does. A replica that is being killed can still take a connection into its
//!   listen backlog for a moment, then resets it: the request never ran, but nothing
//!   tells that apart from a function that died while running it, so only a request
//!   that may safely run twice is retried, and only once, so a function that crashes
//!   on a request is not crashed again and again by it.
//!
//! Either way the body must still be whole (nothing of it read), which the handler
//! checks.

use http::Method;

use crate::upstream::UpstreamError;

/// Tries per request when replicas refuse the connection.
const CONNECT_ATTEMPTS: u32 = 8;

/// The tries one request has left.
#[derive(Debug)]
pub(crate) struct Retries {
    connects_left: u32,
    broken_left: u32,
}

impl Retries {
    pub(crate) fn for_method(method: &Method) -> Self {
        Self {
            connects_left: CONNECT_ATTEMPTS - 1,
            broken_left: u32::from(method.is_idempotent()),
        }
    }

    /// After `error`: whether to send the request again (using up one retry).
    pub(crate) fn after(&mut self, error: &UpstreamError) -> bool {
        let left = if error.is_connect() {
            &mut self.connects_left
        } else {
            &mut self.broken_left
        };
        let allowed = *left > 0;
        *left = left.saturating_sub(1);
        allowed
    }
}

#[cfg(test)]
mod tests {
    use std::io::ErrorKind;

    use super::*;

    fn refused() -> UpstreamError {
        UpstreamError::Connect(ErrorKind::ConnectionRefused.into())
    }

    async fn broken() -> UpstreamError {
        // A real hyper error from a connection closed before the response head.
        let (client, server) = tokio::io::duplex(64);
        drop(server);
        let (mut sender, connection) = hyper::client::conn::http1::handshake::<
            _,
            http_body_util::Empty<bytes::Bytes>,
        >(hyper_util::rt::TokioIo::new(client))
        .await
        .expect("handshake");
        tokio::spawn(connection);
        let request = http::Request::get("/")
            .body(http_body_util::Empty::new())
            .unwrap();
        UpstreamError::Http(sender.send_request(request).await.expect_err("no server"))
    }

    #[test]
    fn refused_connections_are_retried_up_to_eight_tries() {
        let mut retries = Retries::for_method(&Method::POST);
        let allowed = (0..20).take_while(|_| retries.after(&refused())).count();
        assert_eq!(allowed, 7);
    }

    #[tokio::test]
    async fn a_broken_connection_is_retried_once_for_an_idempotent_method() {
        let error = broken().await;
        assert!(!error.is_connect());
        for method in [Method::GET, Method::HEAD, Method::PUT, Method::DELETE] {
            let mut retries = Retries::for_method(&method);
            assert!(retries.after(&error), "{method}");
            assert!(!retries.after(&error), "{method}: once");
            assert!(
                retries.after(&refused()),
                "{method}: connects have their own budget"
            );
        }
    }

    #[tokio::test]
    async fn a_broken_connection_is_not_retried_for_post_or_patch() {
        let error = broken().await;
        for method in [Method::POST, Method::PATCH] {
            assert!(!Retries::for_method(&method).after(&error), "{method}");
        }
    }
}
