//! The request as the activator sends it on: the client's method, target, end-to-end
//! fields and host, marked as proxied.

use std::net::SocketAddr;

use http::header::HOST;
use http::uri::{Authority, PathAndQuery};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri, Version, request};

use crate::hop_by_hop::strip_hop_by_hop;
use crate::request_body::RequestBody;
use crate::revision_settings::Protocol;

/// Knative's mark on requests the activator proxied, so the function (and its
/// queue-proxy in Knative) can tell them from direct ones.
pub(crate) const PROXY_REQUEST: HeaderName = HeaderName::from_static("k-proxy-request");
const ACTIVATOR: HeaderValue = HeaderValue::from_static("activator");

/// The head of the request to send, reusable across connect retries.
#[derive(Debug)]
pub(crate) struct Outbound {
    method: Method,
    path: PathAndQuery,
    /// The client's `Host` (or HTTP/2 `:authority`); `None` if it sent neither.
    host: Option<Authority>,
    /// End-to-end fields, without `Host`.
    headers: HeaderMap,
}

// === impl Outbound ===

impl Outbound {
    pub(crate) fn new(parts: request::Parts) -> Self {
        let request::Parts {
            method,
            uri,
            mut headers,
            ..
        } = parts;
        let host = headers
            .remove(HOST)
            .and_then(|h| Authority::try_from(h.as_bytes()).ok())
            .or_else(|| uri.authority().cloned());
        strip_hop_by_hop(&mut headers);
        headers.insert(PROXY_REQUEST, ACTIVATOR);
        let path = uri
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        Self {
            method,
            path,
            host,
            headers,
        }
    }

    /// The request for the replica at `addr`.
    pub(crate) fn to_request(
        &self,
        protocol: Protocol,
        addr: SocketAddr,
        body: RequestBody,
    ) -> Request<RequestBody> {
        let endpoint =
            || Authority::try_from(addr.to_string()).expect("a socket address is an authority");
        let mut headers = self.headers.clone();
        let (version, authority) = match protocol {
            // The URI names the replica (hyper-util's pool connects by it and sends the
            // path alone); Host stays the client's.
            Protocol::Http1 => {
                let host = self.host.as_ref().map_or_else(
                    || HeaderValue::from_str(&addr.to_string()),
                    |h| HeaderValue::from_str(h.as_str()),
                );
                if let Ok(host) = host {
                    headers.insert(HOST, host);
                }
                (Version::HTTP_11, endpoint())
            }
            // HTTP/2 carries the host as `:authority`, taken from the URI; the
            // connection is chosen by address instead.
            Protocol::H2c => (Version::HTTP_2, self.host.clone().unwrap_or_else(endpoint)),
        };
        let uri = Uri::builder()
            .scheme("http")
            .authority(authority)
            .path_and_query(self.path.clone())
            .build()
            .expect("scheme, authority and path make a URI");
        let mut request = Request::new(body);
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = uri;
        *request.version_mut() = version;
        *request.headers_mut() = headers;
        request
    }
}
