//! Every way the gateway itself answers a request, and the one place each maps to an
//! HTTP status.

use http::{HeaderValue, Response, StatusCode, header};

use crate::body::ProxyBody;

/// Why the gateway answered instead of the function.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProxyError {
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
}

impl ProxyError {
    /// The status the client receives.
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Self::MissingHost => StatusCode::BAD_REQUEST,
            Self::UnknownHost(_) => StatusCode::NOT_FOUND,
            Self::NoEndpoints(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Upstream { .. } => StatusCode::BAD_GATEWAY,
            Self::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
        }
    }

    /// A plain-text response naming the problem.
    pub(crate) fn into_response(self) -> Response<ProxyBody> {
        let status = self.status();
        let mut response = Response::new(ProxyBody::local(format!("{self}\n")));
        *response.status_mut() = status;
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        response
    }
}
