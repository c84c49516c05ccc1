//! Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection, so a proxy removes them
//! in both directions, along with any header the `Connection` header names. Two
//! exceptions keep end-to-end features working: `TE: trailers` (gRPC needs it) and, on
//! a WebSocket-style upgrade, `Connection: upgrade` + `Upgrade`.

use http::header::{CONNECTION, TE, TRANSFER_ENCODING, UPGRADE};
use http::{HeaderMap, HeaderName, HeaderValue, Request, Version};

pub(crate) const KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
pub(crate) const PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");
pub(crate) const PROXY_AUTHENTICATE: HeaderName = HeaderName::from_static("proxy-authenticate");
pub(crate) const PROXY_AUTHORIZATION: HeaderName = HeaderName::from_static("proxy-authorization");

/// Whether the request asks for an HTTP/1.1 protocol upgrade (e.g. WebSocket).
pub(crate) fn wants_upgrade<B>(request: &Request<B>) -> bool {
    request.version() == Version::HTTP_11
        && request.headers().contains_key(UPGRADE)
        && connection_tokens(request.headers()).any(|t| t.eq_ignore_ascii_case("upgrade"))
}

/// Removes hop-by-hop headers; with `keep_upgrade`, leaves `Upgrade` and a
/// `Connection: upgrade` in place for the next hop.
pub(crate) fn strip_hop_by_hop(headers: &mut HeaderMap, keep_upgrade: bool) {
    // Most messages carry none: one pass over the names beats a hashed removal each.
    if !headers.keys().any(is_hop_by_hop) {
        if keep_upgrade {
            headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
        }
        return;
    }
    if headers.contains_key(CONNECTION) {
        let named: Vec<HeaderName> = connection_tokens(headers)
            .filter_map(|t| HeaderName::from_bytes(t.as_bytes()).ok())
            .filter(|n| !(keep_upgrade && n == UPGRADE))
            .collect();
        for name in named {
            headers.remove(name);
        }
        headers.remove(CONNECTION);
    }
    for name in [
        KEEP_ALIVE,
        PROXY_CONNECTION,
        PROXY_AUTHENTICATE,
        PROXY_AUTHORIZATION,
        TRANSFER_ENCODING,
    ] {
        headers.remove(name);
    }
    let wants_trailers = headers
        .get_all(TE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("trailers"));
    if headers.remove(TE).is_some() && wants_trailers {
        headers.insert(TE, HeaderValue::from_static("trailers"));
    }
    if keep_upgrade {
        headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    } else {
        headers.remove(UPGRADE);
    }
}

/// Whether `name` is always hop-by-hop (headers that `Connection` names are found
/// through `Connection` itself).
fn is_hop_by_hop(name: &HeaderName) -> bool {
    [
        CONNECTION,
        KEEP_ALIVE,
        PROXY_CONNECTION,
        PROXY_AUTHENTICATE,
        PROXY_AUTHORIZATION,
        TRANSFER_ENCODING,
        TE,
        UPGRADE,
    ]
    .contains(name)
}

fn connection_tokens(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(HeaderName::try_from(*name).unwrap(), value.parse().unwrap());
        }
        map
    }

    #[test]
    fn removes_hop_by_hop_and_connection_named_headers() {
        let mut map = headers(&[
            ("connection", "keep-alive, x-hop"),
            ("keep-alive", "timeout=5"),
            ("x-hop", "1"),
            ("te", "gzip, trailers"),
            ("upgrade", "websocket"),
            ("proxy-authorization", "secret"),
            ("x-user", "kept"),
        ]);
        strip_hop_by_hop(&mut map, false);
        assert_eq!(map.len(), 2, "{map:?}");
        assert_eq!(map["te"], "trailers");
        assert_eq!(map["x-user"], "kept");
    }

    #[test]
    fn keeps_upgrade_when_asked() {
        let mut map = headers(&[("connection", "Upgrade"), ("upgrade", "websocket")]);
        strip_hop_by_hop(&mut map, true);
        assert_eq!(map["connection"], "upgrade");
        assert_eq!(map["upgrade"], "websocket");
    }
}
