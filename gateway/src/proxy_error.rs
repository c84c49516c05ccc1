//! Every way the gateway itself answers a request, and the one place each maps to an
//! HTTP status.

use http::{HeaderValue, Response, StatusCode, header};

use crate::body::ProxyBody;
use crate::head_policy::Refusal;

/// Why the gateway answered instead of the function.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProxyError {
    /// A head the gateway will not forward (see `crate::head_policy`).
    #[error("{}", match .0 {
        Refusal::BadFraming => "request framing is ambiguous",
        Refusal::HeadTooLarge => "request header fields too large",
    })]
    Refused(Refusal),
    /// The request named no host at all.
    #[error("request has no Host header or authority")]
    MissingHost,
    /// No route answers the host.
    #[error("no route for host {0}")]
    UnknownHost(String),
    /// The chosen revision has no ready endpoint.
    #[error("revision {0} has no ready endpoints")]
    NoEndpoints(String),
    /// Connecting to or talking with the endpoint failed before a response head.
    #[error("upstream {endpoint} of revision {revision} failed: {source}")]
    Upstream {
        /// `namespace/name` of the revision.
        revision: String,
        /// The endpoint tried.
        endpoint: std::net::SocketAddr,
        /// What went wrong.
        source: crate::pool::UpstreamError,
    },
    /// The revision's timeout passed before the upstream sent a response head.
    #[error("revision {0} did not respond within its timeout")]
    Timeout(String),
    /// The revision's `responseStartTimeoutSeconds`, shorter than its timeout, passed
    /// before the upstream sent a response head.
    #[error("revision {0} did not start its response within its response start timeout")]
    ResponseStartTimeout(String),
}

impl ProxyError {
    /// The status the client receives.
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Self::Refused(Refusal::BadFraming) | Self::MissingHost => StatusCode::BAD_REQUEST,
            Self::Refused(Refusal::HeadTooLarge) => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::UnknownHost(_) => StatusCode::NOT_FOUND,
            Self::NoEndpoints(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Upstream { .. } => StatusCode::BAD_GATEWAY,
            Self::Timeout(_) | Self::ResponseStartTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
        }
    }

    /// The plain-text body naming the problem.
    fn body(&self) -> String {
        format!("{self}\n")
    }

    /// The response for hyper to send.
    pub(crate) fn into_response(self) -> Response<ProxyBody> {
        let status = self.status();
        let mut response = Response::new(ProxyBody::local(self.body()));
        *response.status_mut() = status;
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        response
    }

    /// The same response as HTTP/1.1 bytes for the fast path, with `Connection: close`
    /// when `close`.
    pub(crate) fn write_http1(&self, out: &mut Vec<u8>, close: bool) {
        let status = self.status();
        let body = self.body();
        out.extend_from_slice(b"HTTP/1.1 ");
        out.extend_from_slice(status.as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
        out.extend_from_slice(b"\r\ncontent-type: ");
        out.extend_from_slice(CONTENT_TYPE.as_bytes());
        out.extend_from_slice(b"\r\ncontent-length: ");
        out.extend_from_slice(body.len().to_string().as_bytes());
        if close {
            out.extend_from_slice(b"\r\nconnection: close");
        }
        out.extend_from_slice(b"\r\n\r\n");
        out.extend_from_slice(body.as_bytes());
    }
}

const CONTENT_TYPE: &str = "text/plain; charset=utf-8";

impl Refusal {
    /// The whole response to a head refused before hyper sees it, byte for byte what
    /// hyper sends when it refuses a head itself (the hyper path's refusals are
    /// hyper's), so a client cannot tell the paths apart. The connection closes after.
    pub(crate) fn http1_response(self) -> &'static [u8] {
        match self {
            Self::BadFraming => {
                b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            }
            Self::HeadTooLarge => {
                b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            }
        }
    }
}
