//! The policy on its own: framing decisions, protected fields, folding, and the two
//! sinks agreeing field for field.

use proptest::prelude::*;

use super::*;
use crate::forwarded::ClientForwarding;

fn lines<'a>(fields: &'a [(&'a str, &'a str)]) -> impl Iterator<Item = Line<'a>> {
    fields.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes()))
}

fn body_of(fields: &[(&str, &str)], http10: bool) -> Result<RequestBody, Refusal> {
    RequestScan::new(lines(fields), http10).map(|scan| scan.body)
}

/// The function's fields for a request with `fields`, as (lowercase name, value).
fn forwarded_fields(fields: &[(&str, &str)]) -> Vec<(String, String)> {
    let scan = RequestScan::new(lines(fields), false).expect("forwardable");
    let client = ClientForwarding::new("10.1.2.3".parse().unwrap());
    let hop = Hop {
        client: &client,
        host: "h.example.com",
        revision: b"r-00001",
        namespace: b"ns",
        upgrade: false,
    };
    let mut raw = Vec::new();
    scan.write_fields(|| lines(fields), &hop, &mut raw);
    let mut map = MapSink::default();
    scan.write_fields(|| lines(fields), &hop, &mut map);
    let from_raw = parse_raw_fields(&raw);
    let from_map: Vec<(String, String)> = map
        .into_map()
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        grouped(&from_raw),
        grouped(&from_map),
        "the two sinks disagree"
    );
    from_raw
}

fn parse_raw_fields(raw: &[u8]) -> Vec<(String, String)> {
    String::from_utf8(raw.to_vec())
        .unwrap()
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (n, v) = l.split_once(": ").unwrap();
            (n.to_ascii_lowercase(), v.to_owned())
        })
        .collect()
}

/// Fields as a `HeaderMap` orders them: by first appearance of each name, a name's
/// values in order (RFC 9110 §5.3: only the order of same-name values matters).
fn grouped(fields: &[(String, String)]) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for (name, value) in fields {
        let name = name.to_ascii_lowercase();
        match out.iter_mut().find(|(n, _)| *n == name) {
            Some((_, values)) => values.push(value.clone()),
            None => out.push((name, vec![value.clone()])),
        }
    }
    out
}

fn value<'a>(fields: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    fields
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

#[test]
fn framing_is_refused_unless_unambiguous() {
    use RequestBody::{Chunked, Length, None};
    let refused = Err(Refusal::BadFraming);
    type Case<'a> = (&'a [(&'a str, &'a str)], bool, Result<RequestBody, Refusal>);
    let cases: &[Case<'_>] = &[
        (&[], false, Ok(None)),
        (&[("Content-Length", "5")], false, Ok(Length(5))),
        (
            &[("content-length", "5"), ("Content-Length", " 5 ")],
            false,
            Ok(Length(5)),
        ),
        (
            &[("content-length", "5"), ("content-length", "6")],
            false,
            refused,
        ),
        (&[("content-length", "5, 5")], false, refused),
        (&[("content-length", "+5")], false, refused),
        (&[("transfer-encoding", "chunked")], false, Ok(Chunked)),
        (&[("Transfer-Encoding", "CHUNKED")], false, Ok(Chunked)),
        (&[("transfer-encoding", "chunked")], true, refused),
        (
            &[("transfer-encoding", "chunked"), ("content-length", "3")],
            false,
            refused,
        ),
        (
            &[("content-length", "3"), ("transfer-encoding", "chunked")],
            false,
            refused,
        ),
        (&[("transfer-encoding", "chunked, chunked")], false, refused),
        (
            &[
                ("transfer-encoding", "chunked"),
                ("transfer-encoding", "chunked"),
            ],
            false,
            refused,
        ),
        (&[("transfer-encoding", "gzip, chunked")], false, refused),
        (
            &[("transfer-encoding", "chunked, identity")],
            false,
            refused,
        ),
        (&[("transfer-encoding", "xchunked")], false, refused),
        (
            &[("transfer-encoding", "chunked"), ("transfer-encoding", "x")],
            false,
            refused,
        ),
        (&[("transfer-encoding", "")], false, refused),
        (&[("transfer-encoding", "identity")], false, refused),
        (&[("host", "a"), ("host", "b")], false, refused),
    ];
    for (fields, http10, expected) in cases {
        assert_eq!(
            &body_of(fields, *http10),
            expected,
            "{fields:?} http10={http10}"
        );
    }
}

#[test]
fn connection_cannot_remove_host_or_framing() {
    let seen = forwarded_fields(&[
        ("Host", "h.example.com"),
        (
            "Connection",
            "host, content-length, transfer-encoding, x-hop",
        ),
        ("Content-Length", "7"),
        ("X-Hop", "1"),
        ("X-Kept", "2"),
    ]);
    assert_eq!(value(&seen, "host"), ["h.example.com"]);
    assert_eq!(value(&seen, "content-length"), ["7"]);
    assert_eq!(value(&seen, "x-kept"), ["2"]);
    assert!(value(&seen, "x-hop").is_empty());
    assert!(value(&seen, "connection").is_empty());
}

#[test]
fn internal_hop_by_hop_and_framing_fields_from_the_client_do_not_pass() {
    let seen = forwarded_fields(&[
        ("host", "h.example.com"),
        ("K-Network-Probe", "queue"),
        ("knative-serving-revision", "evil"),
        ("KNATIVE-SERVING-NAMESPACE", "kube-system"),
        ("Knative-Serving-Tag", "canary"),
        ("Keep-Alive", "timeout=5"),
        ("Proxy-Authorization", "secret"),
        ("TE", "gzip, trailers"),
        ("Upgrade", "websocket"),
        ("Content-Length", "007"),
    ]);
    let names: Vec<&str> = seen.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "host",
            "content-length",
            "te",
            "forwarded",
            "x-forwarded-for",
            "x-forwarded-proto",
            "knative-serving-revision",
            "knative-serving-namespace"
        ]
    );
    assert_eq!(value(&seen, "content-length"), ["7"]);
    assert_eq!(value(&seen, "te"), ["trailers"]);
    assert_eq!(value(&seen, "knative-serving-revision"), ["r-00001"]);
    assert_eq!(value(&seen, "knative-serving-namespace"), ["ns"]);
}

#[test]
fn earlier_hops_are_folded_and_ours_appended() {
    let seen = forwarded_fields(&[
        ("host", "h.example.com"),
        ("Forwarded", "for=192.0.2.1"),
        ("X-Forwarded-For", "192.0.2.1"),
        ("x-forwarded-for", "192.0.2.2"),
        ("X-Forwarded-Proto", "https"),
    ]);
    assert_eq!(
        value(&seen, "forwarded"),
        ["for=192.0.2.1, for=10.1.2.3;host=h.example.com;proto=http"]
    );
    assert_eq!(
        value(&seen, "x-forwarded-for"),
        ["192.0.2.1, 192.0.2.2, 10.1.2.3"]
    );
    assert_eq!(value(&seen, "x-forwarded-proto"), ["https"]);
}

#[test]
fn forwarding_fields_connection_names_are_not_trusted() {
    let seen = forwarded_fields(&[
        ("host", "h.example.com"),
        ("Connection", "forwarded, x-forwarded-proto"),
        ("Forwarded", "for=192.0.2.1"),
        ("X-Forwarded-Proto", "https"),
    ]);
    assert_eq!(
        value(&seen, "forwarded"),
        ["for=10.1.2.3;host=h.example.com;proto=http"]
    );
    assert_eq!(value(&seen, "x-forwarded-proto"), ["http"]);
}

fn response_fields(fields: &[(&str, &str)], relays: bool) -> (ResponseScan, Vec<(String, String)>) {
    let scan = ResponseScan::new(lines(fields), false, 200, false).expect("valid");
    let mut raw = Vec::new();
    scan.write_fields(|| lines(fields), relays, false, &mut raw);
    (scan, parse_raw_fields(&raw))
}

#[test]
fn a_response_keeps_its_framing_whatever_connection_names() {
    let (scan, seen) = response_fields(
        &[
            ("Connection", "content-length, transfer-encoding, x-hop"),
            ("Content-Length", "5"),
            ("X-Hop", "1"),
            ("X-Kept", "2"),
        ],
        true,
    );
    assert_eq!(scan.body, ResponseBody::Length(5));
    assert_eq!(value(&seen, "content-length"), ["5"]);
    assert_eq!(value(&seen, "x-kept"), ["2"]);
    assert!(value(&seen, "x-hop").is_empty());
}

#[test]
fn a_response_length_beside_chunked_goes_and_the_connection_is_not_reused() {
    let fields = [("Content-Length", "3"), ("Transfer-Encoding", "chunked")];
    let (scan, relayed) = response_fields(&fields, true);
    assert_eq!(scan.body, ResponseBody::Chunked);
    assert!(scan.close);
    assert_eq!(parse_names(&relayed), ["transfer-encoding"]);
    let (_, reframed) = response_fields(&fields, false);
    assert!(reframed.is_empty(), "{reframed:?}");
}

fn parse_names(fields: &[(String, String)]) -> Vec<&str> {
    fields.iter().map(|(n, _)| n.as_str()).collect()
}

/// A header name the policy has an opinion on, in a random case, or an ordinary one.
fn any_name() -> impl Strategy<Value = String> {
    let special = prop_oneof![
        Just("host"),
        Just("content-length"),
        Just("transfer-encoding"),
        Just("connection"),
        Just("te"),
        Just("upgrade"),
        Just("keep-alive"),
        Just("proxy-authorization"),
        Just("forwarded"),
        Just("x-forwarded-for"),
        Just("x-forwarded-proto"),
        Just("knative-serving-tag"),
        Just("k-network-probe"),
        Just("x-a"),
        Just("x-b"),
    ];
    (special, any::<u64>()).prop_map(|(name, case)| {
        name.chars()
            .enumerate()
            .map(|(i, c)| {
                if case >> (i % 64) & 1 == 1 {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect()
    })
}

fn any_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{1,3}",
        Just("chunked".to_owned()),
        Just("close".to_owned()),
        Just("x-a, x-b, content-length, host".to_owned()),
        "[!-~]{1,12}",
    ]
}

proptest! {
    #[test]
    fn both_sinks_agree_and_nothing_internal_or_hop_by_hop_passes(
        fields in proptest::collection::vec((any_name(), any_value()), 0..12),
    ) {
        let fields: Vec<(&str, &str)> =
            fields.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        if RequestScan::new(lines(&fields), false).is_ok() {
            let seen = forwarded_fields(&fields);
            for (name, _) in &seen {
                prop_assert!(
                    !["connection", "keep-alive", "proxy-authorization", "upgrade",
                      "transfer-encoding", "knative-serving-tag", "k-network-probe"]
                        .contains(&name.as_str()),
                    "{name} passed"
                );
            }
            for name in ["forwarded", "x-forwarded-for", "knative-serving-revision"] {
                prop_assert_eq!(value(&seen, name).len(), 1);
            }
            prop_assert!(value(&seen, "content-length").len() <= 1);
        }
    }
}
