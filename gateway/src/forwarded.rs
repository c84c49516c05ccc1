//! This hop's view of the client, for telling the function who called: the RFC 7239
//! `Forwarded` element and the `X-Forwarded-For` item the header policy
//! (`crate::head_policy`) appends to earlier hops' lists.

use std::net::IpAddr;

use http::HeaderValue;

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

    fn element(client: &str, host: &str) -> String {
        let mut out = Vec::new();
        ClientForwarding::new(client.parse().unwrap()).push_element(&mut out, host);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn an_element_names_the_client_host_and_proto() {
        assert_eq!(
            element("10.0.0.7", "hello.default.example.com"),
            "for=10.0.0.7;host=hello.default.example.com;proto=http"
        );
    }

    #[test]
    fn ipv6_nodes_and_hosts_that_are_not_tokens_are_quoted() {
        assert_eq!(
            element("::1", "hello.example.com:8080"),
            r#"for="[::1]";host="hello.example.com:8080";proto=http"#
        );
        assert_eq!(
            element("10.0.0.7", r#"a"b\c"#),
            r#"for=10.0.0.7;host="a\"b\\c";proto=http"#
        );
    }
}
