//! The fast path's head parser and rewriter as a fuzzing target: [`HeadFuzzer::check`]
//! runs [`plan`] on arbitrary bytes and panics when a property fails, so a fuzzer (the
//! AFL target `fuzz/targets/gateway_head.rs`, built with the `fuzzing` feature) or a
//! proptest (`tests` below) finds the input.
//!
//! The properties, for every input:
//! - no panic;
//! - a forwarded head is one canonical HTTP/1.1 head (CRLF line ends only, no control
//!   bytes, parsed whole by httparse) with the client's method and target;
//! - it carries no platform-internal field but the gateway's own revision and
//!   namespace, each once, no hop-by-hop field, one `Host`, and `Content-Length` exactly
//!   when the client framed a body by length (with the same length);
//! - no internal header steers routing: without the tag header the revision is the
//!   route's 100% one, whatever else the client sent;
//! - the rewrite is stable: the forwarded head, fed back in, is forwarded again with
//!   the same framing and the same fields, only this hop's `Forwarded` and
//!   `X-Forwarded-For` elements appended once more (and the route's own revision, the
//!   tag header having been consumed), as long as this hop's fields kept it within
//!   the gateway's head limits.

use std::net::IpAddr;
use std::sync::Arc;

use super::request::{Plan, plan};
use crate::config::GatewayConfig;
use crate::forwarded::ClientForwarding;
use crate::head_policy::{MAX_HEAD_BYTES, MAX_HEADERS};
use crate::proxy::Proxy;
use crate::revision::{Protocol, Revision};
use crate::route_table::{KnativeRoute, RouteTable, TrafficTarget};

/// The route every generated request addresses.
pub const HOST: &str = "hello.default.example.com";
/// Its 100% revision.
pub const LIVE: &str = "hello-00001";
/// Its 0% revision, reachable by the tag `shadow` only.
pub const SHADOW: &str = "hello-00002";
const CLIENT: &str = "10.1.2.3";

/// A gateway's routing and forwarding state, without sockets.
#[derive(Debug)]
pub struct HeadFuzzer {
    proxy: Proxy,
    client: ClientForwarding,
}

/// A forwarded head, parsed back.
struct Forwarded {
    method: String,
    path: String,
    /// (lowercase name, value), in order.
    fields: Vec<(String, String)>,
    body_len: u64,
}

impl Default for HeadFuzzer {
    fn default() -> Self {
        Self::new()
    }
}

impl HeadFuzzer {
    pub fn new() -> Self {
        let endpoint = "127.0.0.1:9".parse().expect("an address");
        let table = RouteTable::from_knative(
            "example.com",
            vec![KnativeRoute {
                name: "hello".into(),
                namespace: "default".into(),
                traffic: vec![
                    TrafficTarget {
                        revision: LIVE.into(),
                        percent: 100,
                        tag: None,
                    },
                    TrafficTarget {
                        revision: SHADOW.into(),
                        percent: 0,
                        tag: Some("shadow".into()),
                    },
                ],
            }],
            [LIVE, SHADOW]
                .iter()
                .map(|name| Revision::new("default", *name, Protocol::Http1, vec![endpoint]))
                .collect(),
        )
        .expect("a valid table");
        let client: IpAddr = CLIENT.parse().expect("an address");
        Self {
            proxy: Proxy::new(Arc::new(GatewayConfig::new(table))),
            client: ClientForwarding::new(client),
        }
    }

    /// Runs the fast path's planning on `input`, panicking when a property fails.
    pub fn check(&self, input: &[u8]) {
        let mut out = Vec::new();
        let Plan::Forward(forward) = plan(input, &self.proxy, &self.client, &mut out) else {
            return;
        };
        assert!(forward.request.head_len <= input.len());
        let first = parse_forwarded(&out, forward.request.body_len);
        let (method, path) = start_line(input);
        assert_eq!(first.method, method, "the method changed");
        assert_eq!(first.path, path, "the target changed");
        assert_clean(&first, input);

        // Fed back in, the function's head is forwarded the same — unless the fields
        // this hop adds took it past the gateway's own limits (AFL's first finding: a
        // client head just under 128 fields, plus ours, is over): a longer head is the
        // function's to take or refuse, not a second gateway's.
        if first.fields.len() > MAX_HEADERS || out.len() > MAX_HEAD_BYTES {
            return;
        }
        let mut again = Vec::new();
        let Plan::Forward(second) = plan(&out, &self.proxy, &self.client, &mut again) else {
            panic!(
                "the gateway refuses its own output: {:?}",
                String::from_utf8_lossy(&out)
            );
        };
        assert_eq!(second.request.head_len, out.len());
        assert_eq!(second.request.body_len, forward.request.body_len);
        let second = parse_forwarded(&again, second.request.body_len);
        assert_clean(&second, &out);
        assert_eq!(
            stable_fields(&second),
            stable_fields(&first),
            "the rewrite is not stable"
        );
        for list in ["forwarded", "x-forwarded-for"] {
            let (one, two) = (only(&first, list), only(&second, list));
            assert!(
                two.starts_with(one) && two.len() > one.len(),
                "{list}: {one:?} then {two:?}"
            );
        }
    }
}

/// The method and target of a head httparse already took.
fn start_line(input: &[u8]) -> (String, String) {
    let mut fields = [httparse::EMPTY_HEADER; 256];
    let mut request = httparse::Request::new(&mut fields);
    let _ = request.parse(input);
    (
        request.method.unwrap_or_default().to_owned(),
        request.path.unwrap_or_default().to_owned(),
    )
}

fn parse_forwarded(out: &[u8], body_len: u64) -> Forwarded {
    for (i, &byte) in out.iter().enumerate() {
        let ok = match byte {
            b'\r' => out.get(i + 1) == Some(&b'\n'),
            b'\n' => i > 0 && out[i - 1] == b'\r',
            b'\t' => true,
            _ => !byte.is_ascii_control(),
        };
        assert!(
            ok,
            "byte {byte:#04x} at {i} of {:?}",
            String::from_utf8_lossy(out)
        );
    }
    let mut fields = [httparse::EMPTY_HEADER; 512];
    let mut request = httparse::Request::new(&mut fields);
    let parsed = request.parse(out).expect("the function's head parses");
    assert_eq!(
        parsed,
        httparse::Status::Complete(out.len()),
        "one whole head"
    );
    assert_eq!(request.version, Some(1), "HTTP/1.1");
    Forwarded {
        method: request.method.unwrap_or_default().to_owned(),
        path: request.path.unwrap_or_default().to_owned(),
        fields: request
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_ascii_lowercase(),
                    String::from_utf8_lossy(h.value).into_owned(),
                )
            })
            .collect(),
        body_len,
    }
}

fn assert_clean(head: &Forwarded, input: &[u8]) {
    let count = |name: &str| head.fields.iter().filter(|(n, _)| n == name).count();
    for (name, value) in &head.fields {
        let internal = name.starts_with("k-") || name.starts_with("knative-serving-");
        let ours = matches!(
            name.as_str(),
            "knative-serving-revision" | "knative-serving-namespace"
        );
        assert!(!internal || ours, "{name}: {value} reached the function");
        let hop_by_hop = matches!(
            name.as_str(),
            "connection"
                | "keep-alive"
                | "proxy-connection"
                | "proxy-authenticate"
                | "proxy-authorization"
                | "upgrade"
                | "transfer-encoding"
        ) || (name == "te" && value != "trailers");
        assert!(!hop_by_hop, "{name}: {value} reached the function");
    }
    for name in [
        "host",
        "knative-serving-revision",
        "knative-serving-namespace",
    ] {
        assert_eq!(count(name), 1, "{name}");
    }
    assert_eq!(only(head, "knative-serving-namespace"), "default");
    let lengths: Vec<&str> = head
        .fields
        .iter()
        .filter(|(n, _)| n == "content-length")
        .map(|(_, v)| v.as_str())
        .collect();
    let expected = head.body_len.to_string();
    let client_sent_length = contains_field(input, b"content-length");
    if client_sent_length {
        assert_eq!(lengths, [expected.as_str()], "content-length");
    } else {
        assert!(lengths.is_empty() && head.body_len == 0, "{lengths:?}");
    }
    // Only the tag (its header, or its host) may pick the 0% revision.
    let main_host = only(head, "host")
        .trim()
        .split(':')
        .next()
        .is_some_and(|host| host.eq_ignore_ascii_case(HOST));
    if main_host && !contains_field(input, b"knative-serving-tag") {
        assert_eq!(
            only(head, "knative-serving-revision"),
            LIVE,
            "an internal header steered routing"
        );
    }
}

/// Whether the input head has a field named `name` (any case).
fn contains_field(input: &[u8], name: &[u8]) -> bool {
    let mut fields = [httparse::EMPTY_HEADER; 256];
    let mut request = httparse::Request::new(&mut fields);
    let _ = request.parse(input);
    request
        .headers
        .iter()
        .any(|h| h.name.as_bytes().eq_ignore_ascii_case(name))
}

/// The one value of `name`.
fn only<'a>(head: &'a Forwarded, name: &str) -> &'a str {
    let mut values = head.fields.iter().filter(|(n, _)| n == name);
    let (_, value) = values.next().unwrap_or_else(|| panic!("no {name}"));
    assert!(values.next().is_none(), "{name} repeated");
    value
}

/// The fields a second pass must leave as they were, order aside (the client's
/// `X-Forwarded-Proto` stays where it was, the gateway's goes after the framing). The
/// revision may differ: a tag header picks it once, then is gone.
fn stable_fields(head: &Forwarded) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = head
        .fields
        .iter()
        .filter(|(n, _)| {
            !matches!(
                n.as_str(),
                "forwarded" | "x-forwarded-for" | "knative-serving-revision"
            )
        })
        .cloned()
        .collect();
    fields.sort();
    fields
}

#[cfg(test)]
mod tests;
