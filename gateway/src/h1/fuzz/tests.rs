//! [`HeadFuzzer`]'s properties under proptest: heads built from the pieces smuggling is
//! made of (every framing field in valid and invalid shapes, `Connection` naming
//! anything, internal and forwarding fields, any case, bare LF, obs-fold, odd
//! separators), then bytes flipped, cut or inserted at random.
//!
//! 256 cases by default, so CI stays quick; a long run sets the budget:
//! `FNMESH_HEAD_FUZZ_CASES=1000000 cargo test -p gateway --lib h1::fuzz --release`.

use proptest::prelude::*;

use super::*;

fn cases() -> u32 {
    std::env::var("FNMESH_HEAD_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(256)
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("Host".to_owned()),
        Just("Content-Length".to_owned()),
        Just("Transfer-Encoding".to_owned()),
        Just("Connection".to_owned()),
        Just("Keep-Alive".to_owned()),
        Just("TE".to_owned()),
        Just("Upgrade".to_owned()),
        Just("Expect".to_owned()),
        Just("Proxy-Connection".to_owned()),
        Just("Proxy-Authorization".to_owned()),
        Just("Forwarded".to_owned()),
        Just("X-Forwarded-For".to_owned()),
        Just("X-Forwarded-Proto".to_owned()),
        Just("Knative-Serving-Tag".to_owned()),
        Just("Knative-Serving-Revision".to_owned()),
        Just("Knative-Serving-Namespace".to_owned()),
        Just("K-Network-Probe".to_owned()),
        Just("K-Proxy-Request".to_owned()),
        Just("K-Original-Host".to_owned()),
        Just("X-A".to_owned()),
        "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}",
    ]
    .prop_flat_map(|name: String| {
        // Any capitalisation of it.
        proptest::collection::vec(any::<bool>(), name.len()).prop_map(move |upper| {
            name.chars()
                .zip(upper)
                .map(|(c, up)| {
                    if up {
                        c.to_ascii_uppercase()
                    } else {
                        c.to_ascii_lowercase()
                    }
                })
                .collect()
        })
    })
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(HOST.to_owned()),
        Just(format!("shadow-{HOST}")),
        Just("other.example.com".to_owned()),
        Just("shadow".to_owned()),
        Just(SHADOW.to_owned()),
        Just("chunked".to_owned()),
        Just("chunked, chunked".to_owned()),
        Just("gzip, chunked".to_owned()),
        Just("\"chunked\"".to_owned()),
        Just("close".to_owned()),
        Just("keep-alive, content-length".to_owned()),
        Just("host, transfer-encoding".to_owned()),
        Just("x-a, knative-serving-tag".to_owned()),
        Just("upgrade".to_owned()),
        Just("trailers".to_owned()),
        Just("100-continue".to_owned()),
        Just("for=192.0.2.1;proto=https".to_owned()),
        (0u64..100).prop_map(|n| n.to_string()),
        (0u64..100).prop_map(|n| format!("{n}, {n}")),
        (0u64..100).prop_map(|n| format!("+{n}")),
        Just("99999999999999999999".to_owned()),
        "[ -~]{0,16}",
    ]
}

fn separator() -> impl Strategy<Value = &'static str> {
    prop_oneof![8 => Just(": "), 2 => Just(":"), 1 => Just(" : "), 1 => Just(":\t"), 1 => Just(":  ")]
}

fn line_end() -> impl Strategy<Value = &'static str> {
    prop_oneof![12 => Just("\r\n"), 1 => Just("\n"), 1 => Just("\r\n "), 1 => Just("\r")]
}

/// A head (and a short body) built from smuggling's pieces.
fn head() -> impl Strategy<Value = Vec<u8>> {
    let method = prop_oneof![
        4 => Just("GET"),
        3 => Just("POST"),
        1 => Just("PUT"),
        1 => Just("HEAD"),
        1 => Just("DELETE"),
        1 => Just("OPTIONS"),
        1 => Just("CONNECT"),
        1 => Just("G T"),
    ];
    let target = prop_oneof![
        4 => Just("/".to_owned()),
        1 => Just("/p?q=1".to_owned()),
        1 => Just("/a%20b".to_owned()),
        1 => Just("*".to_owned()),
        1 => Just("http://x/".to_owned()),
        1 => "/[ -~]{0,12}",
    ];
    let version = prop_oneof![8 => Just("HTTP/1.1"), 1 => Just("HTTP/1.0"), 1 => Just("HTTP/2.0")];
    let field = (name(), separator(), value(), line_end());
    (
        method,
        target,
        version,
        line_end(),
        any::<bool>(),
        proptest::collection::vec(field, 0..10),
        prop_oneof![Just("\r\n"), Just("\n")],
        proptest::collection::vec(any::<u8>(), 0..16),
    )
        .prop_map(
            |(method, target, version, end, host_first, fields, last, body)| {
                let mut raw = format!("{method} {target} {version}{end}");
                if host_first {
                    raw.push_str(&format!("Host: {HOST}\r\n"));
                }
                for (name, separator, value, end) in fields {
                    raw.push_str(&format!("{name}{separator}{value}{end}"));
                }
                raw.push_str(last);
                let mut raw = raw.into_bytes();
                raw.extend(body);
                raw
            },
        )
}

/// What a mutating fuzzer does to an input.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, u8),
    Cut(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Flip(at, byte)),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Insert(at, byte)),
        any::<usize>().prop_map(Mutation::Cut),
    ]
}

fn mutate(mut raw: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for mutation in mutations {
        let len = raw.len().max(1);
        match *mutation {
            Mutation::Flip(at, byte) if !raw.is_empty() => raw[at % len] = byte,
            Mutation::Insert(at, byte) => raw.insert(at % (raw.len() + 1), byte),
            Mutation::Cut(at) => raw.truncate(at % (raw.len() + 1)),
            Mutation::Flip(..) => {}
        }
    }
    raw
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn built_heads_keep_every_property(raw in head()) {
        HeadFuzzer::new().check(&raw);
    }

    #[test]
    fn mutated_heads_keep_every_property(
        raw in head(),
        mutations in proptest::collection::vec(mutation(), 1..4),
    ) {
        HeadFuzzer::new().check(&mutate(raw, &mutations));
    }
}

#[test]
fn a_forwarded_head_is_checked_not_just_skipped() {
    let fuzzer = HeadFuzzer::new();
    // The checks run on forwarded heads: this one is forwarded, and passes them.
    let raw = format!(
        "POST /p HTTP/1.1\r\nHost: {HOST}\r\nKnative-Serving-Revision: {SHADOW}\r\nK-Network-Probe: q\r\nConnection: x-a\r\nX-A: 1\r\nContent-Length: 2\r\n\r\nhi"
    );
    fuzzer.check(raw.as_bytes());
    let mut out = Vec::new();
    assert!(matches!(
        plan(raw.as_bytes(), &fuzzer.proxy, &fuzzer.client, &mut out),
        Plan::Forward(_)
    ));
}
