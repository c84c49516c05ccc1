//! Telling the function who called: RFC 7239 `Forwarded` plus the de-facto
//! `X-Forwarded-For` / `X-Forwarded-Proto`, as Knative's runtime contract promises.
//! Earlier hops' values are kept and ours appended, so a chain of proxies stays visible.

use std::net::IpAddr;

use http::header::FORWARDED;
use http::{HeaderMap, HeaderName, HeaderValue};

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// This hop's view of one client connection, formatted once per connection rather
/// than once per request.
#[derive(Debug, Clone)]
pub(crate) struct ClientForwarding {
    /// The `for=` node of a `Forwarded` element.
    forwarded_for: Box<str>,
    /// The client address as an `X-Forwarded-For` item.
    x_forwarded_for: HeaderValue,
}

impl ClientForwarding {
    pub(crate) fn new(client: IpAddr) -> Self {
        let forwarded_for = match client {
            IpAddr::V4(ip) => format!("for={ip}"),
            // An IPv6 node must be quoted and bracketed (RFC 7239 §6).
            IpAddr::V6(ip) => format!("for=\"[{ip}]\""),
        };
        let x_forwarded_for = HeaderValue::try_from(client.to_string())
            .expect("an IP address is a valid header value");
        Self {
            forwarded_for: forwarded_for.into(),
            x_forwarded_for,
        }
    }

    /// Adds this hop's forwarding headers for a request to `host`.
    pub(crate) fn add_headers(&self, headers: &mut HeaderMap, host: &str) {
        let mut element = Vec::with_capacity(self.forwarded_for.len() + host.len() + 20);
        self.push_element(&mut element, host);
        let element = String::from_utf8(element).expect("built from str pieces");
        append_list(headers, FORWARDED, element);

        if headers.contains_key(X_FORWARDED_FOR) {
            let item = self.x_forwarded_for.to_str().unwrap_or_default().to_owned();
            append_list(headers, X_FORWARDED_FOR, item);
        } else {
            headers.insert(X_FORWARDED_FOR, self.x_forwarded_for.clone());
        }

        if !headers.contains_key(X_FORWARDED_PROTO) {
            headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static("http"));
        }
    }

    /// Appends this hop's `Forwarded` element for a request to `host`.
    pub(crate) fn push_element(&self, out: &mut Vec<u8>, host: &str) {
        out.extend_from_slice(self.forwarded_for.as_bytes());
        out.extend_from_slice(b";host=");
        push_token_or_quoted(out, host);
        out.extend_from_slice(b";proto=http");
    }

    /// The client address as an `X-Forwarded-For` item.
    pub(crate) fn client_address(&self) -> &[u8] {
        self.x_forwarded_for.as_bytes()
    }
}

/// Appends `item` to the comma-separated list in `name`, folding repeated lines into one.
fn append_list(headers: &mut HeaderMap, name: HeaderName, item: String) {
    let list = if headers.contains_key(&name) {
        let mut list = String::new();
        for existing in headers.get_all(&name) {
            if let Ok(existing) = existing.to_str() {
                list.push_str(existing);
                list.push_str(", ");
            }
        }
        list.push_str(&item);
        list
    } else {
        item
    };
    if let Ok(value) = HeaderValue::try_from(list) {
        headers.insert(name, value);
    }
}

fn push_token_or_quoted(out: &mut Vec<u8>, value: &str) {
    let is_token = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if is_token {
        out.extend_from_slice(value.as_bytes());
        return;
    }
    out.push(b'"');
    for b in value.bytes() {
        if b == b'"' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add_forwarding_headers(headers: &mut HeaderMap, client: IpAddr, host: &str) {
        ClientForwarding::new(client).add_headers(headers, host);
    }

    #[test]
    fn adds_headers_to_a_fresh_request() {
        let mut headers = HeaderMap::new();
        add_forwarding_headers(
            &mut headers,
            "10.0.0.7".parse().unwrap(),
            "hello.default.example.com",
        );
        assert_eq!(
            headers["forwarded"],
            "for=10.0.0.7;host=hello.default.example.com;proto=http"
        );
        assert_eq!(headers["x-forwarded-for"], "10.0.0.7");
        assert_eq!(headers["x-forwarded-proto"], "http");
    }

    #[test]
    fn appends_to_earlier_hops_and_quotes_what_needs_it() {
        let mut headers = HeaderMap::new();
        headers.insert("forwarded", "for=192.0.2.1".parse().unwrap());
        headers.append("x-forwarded-for", "192.0.2.1".parse().unwrap());
        headers.append("x-forwarded-for", "192.0.2.2".parse().unwrap());
        headers.insert("x-forwarded-proto", "https".parse().unwrap());
        add_forwarding_headers(
            &mut headers,
            "::1".parse().unwrap(),
            "hello.example.com:8080",
        );
        assert_eq!(
            headers["forwarded"],
            r#"for=192.0.2.1, for="[::1]";host="hello.example.com:8080";proto=http"#
        );
        assert_eq!(headers["x-forwarded-for"], "192.0.2.1, 192.0.2.2, ::1");
        assert_eq!(headers["x-forwarded-proto"], "https");
    }
}
