//! Fields that describe one connection, not the message (RFC 9110 §7.6.1): the
//! activator is a hop, so it drops them in both directions.

use http::HeaderMap;
use http::header::{CONNECTION, TE, TRAILER, TRANSFER_ENCODING, UPGRADE};

const KEEP_ALIVE: &str = "keep-alive";

/// Removes `Connection` and the fields it names, `Keep-Alive`, `TE`, `Trailer`,
/// `Transfer-Encoding`, `Upgrade` and every `Proxy-*` field.
pub(crate) fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Names listed in Connection, collected first since the map is borrowed.
    let named: Vec<http::HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| http::HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in [CONNECTION, TE, TRAILER, TRANSFER_ENCODING, UPGRADE] {
        headers.remove(name);
    }
    headers.remove(KEEP_ALIVE);
    // Scanned before collecting: most requests carry no Proxy-* field.
    if headers.keys().any(is_proxy_field) {
        let proxy: Vec<_> = headers
            .keys()
            .filter(|n| is_proxy_field(n))
            .cloned()
            .collect();
        for name in proxy {
            headers.remove(name);
        }
    }
}

fn is_proxy_field(name: &http::HeaderName) -> bool {
    // Header names are stored lowercase.
    name.as_str().starts_with("proxy-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_connection_fields_and_what_connection_names() {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("connection", "keep-alive, X-Per-Hop"),
            ("keep-alive", "timeout=5"),
            ("x-per-hop", "1"),
            ("te", "trailers"),
            ("trailer", "x-checksum"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "websocket"),
            ("proxy-authorization", "secret"),
            ("proxy-connection", "keep-alive"),
            ("host", "hello.default.example.com"),
            ("x-end-to-end", "kept"),
        ] {
            h.append(k, v.parse().unwrap());
        }
        strip_hop_by_hop(&mut h);
        let mut left: Vec<_> = h.keys().map(http::HeaderName::as_str).collect();
        left.sort_unstable();
        assert_eq!(left, ["host", "x-end-to-end"]);
    }
}
