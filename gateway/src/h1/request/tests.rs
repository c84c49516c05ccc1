//! The request head rewrite, property-tested: arbitrary bytes never panic, and for any
//! well-formed request the function receives exactly the end-to-end headers, in order,
//! plus this hop's, and never an internal or hop-by-hop one.

use std::sync::Arc;

use proptest::prelude::*;

use super::*;
use crate::config::GatewayConfig;
use crate::revision::Revision;
use crate::route_table::{KnativeRoute, RouteTable, TrafficTarget};

const HOST: &str = "hello.default.example.com";

fn proxy() -> Proxy {
    let table = RouteTable::from_knative(
        "example.com",
        vec![KnativeRoute {
            name: "hello".into(),
            namespace: "default".into(),
            traffic: vec![TrafficTarget {
                revision: "hello-00001".into(),
                percent: 100,
                tag: None,
            }],
        }],
        vec![Revision::new(
            "default",
            "hello-00001",
            Protocol::Http1,
            vec!["127.0.0.1:9".parse().unwrap()],
        )],
    )
    .unwrap();
    Proxy::new(Arc::new(GatewayConfig::new(table)))
}

fn client() -> ClientForwarding {
    ClientForwarding::new("10.1.2.3".parse().unwrap())
}

/// The function's head as (name, value) pairs, checking that it is one complete head.
fn upstream_headers(out: &[u8]) -> Vec<(String, String)> {
    let mut headers = [httparse::EMPTY_HEADER; 256];
    let mut request = httparse::Request::new(&mut headers);
    let status = request.parse(out).expect("the function's head parses");
    assert_eq!(
        status,
        httparse::Status::Complete(out.len()),
        "one whole head"
    );
    request
        .headers
        .iter()
        .map(|h| {
            let value = String::from_utf8(h.value.to_vec()).unwrap();
            (h.name.to_ascii_lowercase(), value)
        })
        .collect()
}

/// A header the proxy must drop, in some capitalisation.
fn dropped_header() -> impl Strategy<Value = (String, String)> {
    let name = prop_oneof![
        Just("K-Network-Probe"),
        Just("k-proxy-request"),
        Just("Knative-Serving-Revision"),
        Just("knative-serving-namespace"),
        Just("Keep-Alive"),
        Just("Proxy-Connection"),
        Just("Proxy-Authorization"),
        Just("TE"),
    ];
    (name, "[a-z0-9=]{1,8}").prop_map(|(n, v)| (n.to_string(), v))
}

/// An end-to-end header: `x-` plus a token, any printable value.
fn kept_header() -> impl Strategy<Value = (String, String)> {
    ("x-[a-z0-9]{1,12}", "[ -~]{0,30}").prop_map(|(n, v)| (n, v.trim().to_string()))
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let (proxy, client) = (proxy(), client());
        let mut out = Vec::new();
        if let Plan::Forward(_) = plan(&bytes, &proxy, &client, &mut out) {
            upstream_headers(&out);
        }
    }

    #[test]
    fn the_function_sees_exactly_the_end_to_end_headers(
        kept in proptest::collection::vec(kept_header(), 0..12),
        dropped in proptest::collection::vec(dropped_header(), 0..6),
        interleave in proptest::collection::vec(any::<bool>(), 18),
    ) {
        let (proxy, client) = (proxy(), client());
        let mut raw = format!("GET /p?q=1 HTTP/1.1\r\nHost: {HOST}\r\n");
        let (mut k, mut d) = (kept.iter(), dropped.iter());
        for take_kept in interleave {
            let next = if take_kept { k.next().or_else(|| d.next()) } else { d.next().or_else(|| k.next()) };
            if let Some((name, value)) = next {
                raw.push_str(&format!("{name}: {value}\r\n"));
            }
        }
        for (name, value) in k.chain(d) {
            raw.push_str(&format!("{name}: {value}\r\n"));
        }
        raw.push_str("\r\n");

        let mut out = Vec::new();
        let Plan::Forward(forward) = plan(raw.as_bytes(), &proxy, &client, &mut out) else {
            panic!("not forwarded: {raw}");
        };
        prop_assert_eq!(forward.request.head_len, raw.len());
        prop_assert!(out.starts_with(b"GET /p?q=1 HTTP/1.1\r\n"));
        let seen = upstream_headers(&out);
        let user: Vec<(String, String)> = seen
            .iter()
            .filter(|(n, _)| n.starts_with("x-") && !n.starts_with("x-forwarded-"))
            .cloned()
            .collect();
        prop_assert_eq!(&user, &kept);
        for (name, _) in &seen {
            let internal = name.starts_with("k-")
                || (name.starts_with("knative-serving-")
                    && name != "knative-serving-revision"
                    && name != "knative-serving-namespace");
            prop_assert!(!internal, "{name} reached the function");
            prop_assert!(
                !["keep-alive", "proxy-connection", "proxy-authorization", "te"].contains(&name.as_str()),
                "{name} reached the function"
            );
        }
        let count = |n: &str| seen.iter().filter(|(name, _)| name == n).count();
        for name in ["host", "forwarded", "x-forwarded-for", "x-forwarded-proto",
                     "knative-serving-revision", "knative-serving-namespace"] {
            prop_assert_eq!(count(name), 1, "{}", name);
        }
        let revision = seen.iter().find(|(n, _)| n == "knative-serving-revision").unwrap();
        prop_assert_eq!(revision.1.as_str(), "hello-00001");
    }

    #[test]
    fn length_and_chunked_together_are_refused_however_written(
        cl_first in any::<bool>(),
        upper in any::<bool>(),
        length in 0u32..100_000,
    ) {
        let (proxy, client) = (proxy(), client());
        let (cl, te) = if upper {
            (format!("CONTENT-LENGTH: {length}"), "TRANSFER-ENCODING: chunked".to_string())
        } else {
            (format!("content-length: {length}"), "transfer-encoding: chunked".to_string())
        };
        let (a, b) = if cl_first { (cl, te) } else { (te, cl) };
        let raw = format!("POST / HTTP/1.1\r\nHost: {HOST}\r\n{a}\r\n{b}\r\n\r\n");
        let mut out = Vec::new();
        let refused = matches!(
            plan(raw.as_bytes(), &proxy, &client, &mut out),
            Plan::Refuse(Refusal::BadFraming)
        );
        prop_assert!(refused, "{}", raw);
        prop_assert!(out.is_empty());
    }
}

#[test]
fn headers_named_by_connection_are_hop_by_hop() {
    let (proxy, client) = (proxy(), client());
    let raw = format!(
        "GET / HTTP/1.1\r\nX-Hop: 1\r\nHost: {HOST}\r\nConnection: keep-alive, X-HOP\r\nX-Kept: 2\r\n\r\n"
    );
    let mut out = Vec::new();
    let Plan::Forward(forward) = plan(raw.as_bytes(), &proxy, &client, &mut out) else {
        panic!("not forwarded");
    };
    assert!(!forward.request.close);
    let seen = upstream_headers(&out);
    let names: Vec<&str> = seen.iter().map(|(n, _)| n.as_str()).collect();
    assert!(
        !names.contains(&"x-hop") && !names.contains(&"connection"),
        "{names:?}"
    );
    assert!(names.contains(&"x-kept"), "{names:?}");
}

#[test]
fn what_the_fast_path_leaves_to_hyper() {
    let (proxy, client) = (proxy(), client());
    for raw in [
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_string(),
        format!("GET / HTTP/1.0\r\nHost: {HOST}\r\n\r\n"),
        format!("GET http://{HOST}/ HTTP/1.1\r\nHost: {HOST}\r\n\r\n"),
        format!(
            "GET / HTTP/1.1\r\nHost: {HOST}\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"
        ),
        format!(
            "POST / HTTP/1.1\r\nHost: {HOST}\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"
        ),
        format!("POST / HTTP/1.1\r\nHost: {HOST}\r\nTransfer-Encoding: chunked\r\n\r\n"),
    ] {
        let mut out = Vec::new();
        assert!(
            matches!(
                plan(raw.as_bytes(), &proxy, &client, &mut out),
                Plan::Handoff(None)
            ),
            "{raw:?}"
        );
    }
}
