//! The two request paths against each other: the same arbitrary request (or response)
//! goes through a gateway on the fast path and one on hyper alone, to a function that
//! records what it receives by its own framing, and both must deliver the same thing.
//!
//! "The same" is what HTTP says matters (RFC 9110 §5.3): the request line, each field
//! name's values in order (fields of different names may be grouped differently, as
//! hyper's `HeaderMap` does), the body, and framing that delimits that body. Framing
//! fields themselves are compared as framing, not as text: each path frames what it
//! relays.

use gateway::{Protocol, RouteTable};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::recorder::{Recorder, Reply};
use crate::support::*;
use crate::wire::{Framing, Message, send_raw_after_head};

const HOST: &str = "hello.default.example.com";

/// A request as generated: method, target, fields, and how its body is framed.
#[derive(Debug, Clone)]
struct Generated {
    method: &'static str,
    target: String,
    fields: Vec<(String, String)>,
    body: Vec<u8>,
    framing: BodyShape,
    /// Another request pipelined right behind.
    pipelined: bool,
}

#[derive(Debug, Clone, Copy)]
enum BodyShape {
    None,
    Length,
    Chunked,
    /// `Content-Length` and `Transfer-Encoding: chunked` both.
    Both,
    /// Two different lengths.
    Conflicting,
    /// A coding other than plain `chunked`.
    OddCoding(&'static str),
}

fn any_case(name: &'static str) -> impl Strategy<Value = String> {
    any::<u32>().prop_map(move |bits| {
        name.chars()
            .enumerate()
            .map(|(i, c)| {
                if bits >> (i % 32) & 1 == 1 {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect()
    })
}

fn field() -> impl Strategy<Value = (String, String)> {
    let token = "[a-z0-9]{1,6}";
    let listed = prop_oneof![
        Just("x-a"),
        Just("x-b"),
        Just("host"),
        Just("content-length"),
        Just("transfer-encoding"),
        Just("forwarded"),
        Just("x-forwarded-proto"),
        Just("keep-alive"),
        Just("close"),
        Just("te"),
        Just("x-forwarded-for"),
    ];
    let connection = proptest::collection::vec(listed, 1..4).prop_map(|items| items.join(", "));
    prop_oneof![
        4 => (prop_oneof![Just("x-a"), Just("x-b"), Just("x-c"), Just("user-agent")]
            .prop_flat_map(any_case), "[ -~]{0,16}")
            .prop_map(|(n, v)| (n, v.trim().to_owned())),
        2 => (any_case("connection"), connection),
        1 => (any_case("te"), prop_oneof![Just("trailers".to_owned()), Just("gzip, trailers".to_owned()), Just("gzip".to_owned())]),
        1 => (prop_oneof![Just("keep-alive"), Just("proxy-connection"), Just("proxy-authorization")].prop_flat_map(any_case), token),
        1 => (any_case("forwarded"), Just("for=192.0.2.1;proto=https".to_owned())),
        1 => (any_case("x-forwarded-for"), Just("192.0.2.1".to_owned())),
        1 => (any_case("x-forwarded-proto"), Just("https".to_owned())),
        1 => (prop_oneof![Just("knative-serving-revision"), Just("knative-serving-namespace"),
                          Just("k-network-probe"), Just("k-proxy-request"), Just("knative-serving-tag")]
            .prop_flat_map(any_case), Just("evil".to_owned())),
        1 => (any_case("expect"), Just("100-continue".to_owned())),
    ]
}

fn body_shape() -> impl Strategy<Value = BodyShape> {
    prop_oneof![
        4 => Just(BodyShape::None),
        4 => Just(BodyShape::Length),
        3 => Just(BodyShape::Chunked),
        1 => Just(BodyShape::Both),
        1 => Just(BodyShape::Conflicting),
        1 => prop_oneof![Just("gzip, chunked"), Just("chunked, chunked"), Just("xchunked"), Just("identity")]
            .prop_map(BodyShape::OddCoding),
    ]
}

fn request() -> impl Strategy<Value = Generated> {
    (
        prop_oneof![
            Just("GET"),
            Just("POST"),
            Just("PUT"),
            Just("DELETE"),
            Just("HEAD")
        ],
        "/[a-z0-9/?=&]{0,12}",
        proptest::collection::vec(field(), 0..10),
        proptest::collection::vec(any::<u8>(), 0..64),
        body_shape(),
        any::<bool>(),
    )
        .prop_map(
            |(method, target, fields, body, framing, pipelined)| Generated {
                method,
                target,
                fields,
                body,
                framing,
                pipelined,
            },
        )
}

impl Generated {
    fn to_bytes(&self) -> Vec<u8> {
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: {HOST}\r\n",
            self.method, self.target
        );
        for (name, value) in &self.fields {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        let length = self.body.len();
        let mut body = self.body.clone();
        match self.framing {
            BodyShape::None => body.clear(),
            BodyShape::Length => head.push_str(&format!("Content-Length: {length}\r\n")),
            BodyShape::Chunked | BodyShape::Both | BodyShape::OddCoding(_) => {
                let coding = match self.framing {
                    BodyShape::OddCoding(coding) => coding,
                    _ => "chunked",
                };
                head.push_str(&format!("Transfer-Encoding: {coding}\r\n"));
                if let BodyShape::Both = self.framing {
                    head.push_str(&format!("Content-Length: {}\r\n", length + 7));
                }
                body = chunked(&self.body);
            }
            BodyShape::Conflicting => {
                head.push_str(&format!(
                    "Content-Length: {length}\r\nContent-Length: {}\r\n",
                    length + 1
                ));
            }
        }
        head.push_str("\r\n");
        let mut raw = head.into_bytes();
        raw.extend_from_slice(&body);
        if self.pipelined {
            raw.extend_from_slice(
                format!("GET /second HTTP/1.1\r\nHost: {HOST}\r\n\r\n").as_bytes(),
            );
        }
        // The last request closes, so each exchange ends when the gateway closes.
        raw.extend_from_slice(
            format!("GET /last HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n").as_bytes(),
        );
        raw
    }
}

fn chunked(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for piece in body.chunks(20) {
        out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        out.extend_from_slice(piece);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

/// What one path delivered: the client's responses and the function's requests.
#[derive(Debug)]
struct Delivered {
    responses: Vec<Message>,
    seen: Vec<Message>,
}

async fn through(path: Path, raw: &[u8], head_first: bool, reply: Reply) -> Delivered {
    let mut recorder = Recorder::start_with(reply).await;
    let table = RouteTable::from_knative(
        DOMAIN,
        vec![knative_route("hello", &[("hello-00001", 100, None)])],
        vec![revision("hello-00001", Protocol::Http1, &[recorder.addr])],
    )
    .unwrap();
    let gateway = RunningGateway::start_on(path, table).await;
    let (responses, _) = send_raw_after_head(gateway.addr, raw, usize::MAX, head_first).await;
    gateway.stop().await;
    let seen = recorder.settle().await;
    Delivered { responses, seen }
}

/// A message as compared across paths: start line, fields grouped by lowercase name
/// (framing and `skip` fields left out), and the body.
type Normal = (String, Vec<(String, Vec<String>)>, Vec<u8>);

fn normalize(message: &Message, skip: &[&str]) -> Normal {
    let mut grouped: Vec<(String, Vec<String>)> = Vec::new();
    for (name, value) in &message.headers {
        let name = name.to_ascii_lowercase();
        if ["content-length", "transfer-encoding"].contains(&name.as_str())
            || skip.contains(&name.as_str())
        {
            continue;
        }
        match grouped.iter_mut().find(|(n, _)| *n == name) {
            Some((_, values)) => values.push(value.clone()),
            None => grouped.push((name, vec![value.clone()])),
        }
    }
    (message.start_line.clone(), grouped, message.body.clone())
}

/// Framing that delimits the body it carries, and nothing a client may not send.
fn assert_well_framed(message: &Message) -> Result<(), TestCaseError> {
    prop_assert_ne!(message.framing, Framing::Ambiguous, "{:?}", message);
    if message.framing == Framing::Length {
        prop_assert_eq!(
            message.values("content-length"),
            [message.body.len().to_string()]
        );
    }
    Ok(())
}

fn runner(cases: u32) -> (tokio::runtime::Runtime, TestRunner) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    (runtime, TestRunner::new(config))
}

#[test]
fn the_same_request_reaches_the_function_the_same_way_on_both_paths() {
    let (runtime, mut runner) = runner(48);
    runner
        .run(&request(), |generated| {
            let raw = generated.to_bytes();
            let head = generated.method == "HEAD";
            let (fast, hyper) = runtime.block_on(async {
                let reply = crate::recorder::ok_reply();
                (
                    through(Path::Fast, &raw, head, reply.clone()).await,
                    through(Path::Hyper, &raw, head, reply).await,
                )
            });
            let statuses =
                |d: &Delivered| d.responses.iter().map(Message::status).collect::<Vec<_>>();
            prop_assert_eq!(
                statuses(&fast),
                statuses(&hyper),
                "{}",
                String::from_utf8_lossy(&raw)
            );
            let seen = |d: &Delivered| d.seen.iter().map(|m| normalize(m, &[])).collect::<Vec<_>>();
            prop_assert_eq!(
                seen(&fast),
                seen(&hyper),
                "{}",
                String::from_utf8_lossy(&raw)
            );
            for message in fast.seen.iter().chain(&hyper.seen) {
                assert_well_framed(message)?;
                prop_assert_eq!(message.values("host"), [HOST]);
                for (name, value) in &message.headers {
                    let name = name.to_ascii_lowercase();
                    prop_assert!(value != "evil", "{}: {} reached the function", name, value);
                    prop_assert!(
                        ![
                            "connection",
                            "keep-alive",
                            "proxy-connection",
                            "proxy-authorization",
                            "upgrade"
                        ]
                        .contains(&name.as_str()),
                        "{} reached the function",
                        name
                    );
                }
            }
            Ok(())
        })
        .unwrap();
}

/// A response as a function might send it, for a `GET`.
fn response() -> impl Strategy<Value = Vec<u8>> {
    let field = prop_oneof![
        4 => (prop_oneof![Just("x-a"), Just("x-b"), Just("set-cookie"), Just("cache-control")]
            .prop_flat_map(any_case), "[ -~]{0,16}")
            .prop_map(|(n, v)| (n, v.trim().to_owned())),
        2 => (any_case("connection"), proptest::collection::vec(
            prop_oneof![Just("x-a"), Just("content-length"), Just("transfer-encoding"), Just("keep-alive"), Just("x-b")], 1..3)
            .prop_map(|items| items.join(", "))),
        1 => (prop_oneof![Just("keep-alive"), Just("proxy-authenticate"), Just("te"), Just("upgrade")]
            .prop_flat_map(any_case), "[a-z0-9=]{1,6}"),
        1 => (any_case("k-internal"), Just("from-the-function".to_owned())),
    ];
    (
        prop_oneof![
            Just(200u16),
            Just(201),
            Just(204),
            Just(304),
            Just(404),
            Just(500)
        ],
        proptest::collection::vec(field, 0..8),
        proptest::collection::vec(any::<u8>(), 0..64),
        any::<bool>(),
    )
        .prop_map(|(status, fields, body, chunked_body)| {
            let mut head =
                format!("HTTP/1.1 {status} Whatever\r\ndate: Wed, 02 Dec 2026 10:00:00 GMT\r\n");
            for (name, value) in &fields {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            let mut raw;
            if status == 204 || status == 304 {
                head.push_str("\r\n");
                raw = head.into_bytes();
            } else if chunked_body {
                head.push_str("Transfer-Encoding: chunked\r\n\r\n");
                raw = head.into_bytes();
                raw.extend_from_slice(&chunked(&body));
            } else {
                head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
                raw = head.into_bytes();
                raw.extend_from_slice(&body);
            }
            raw
        })
}

#[test]
fn the_same_response_reaches_the_client_the_same_way_on_both_paths() {
    let (runtime, mut runner) = runner(48);
    runner
        .run(&response(), |reply_bytes| {
            let raw = format!("GET /a HTTP/1.1\r\nHost: {HOST}\r\n\r\nGET /last HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n");
            let (fast, hyper) = runtime.block_on(async {
                let bytes = reply_bytes.clone();
                let reply: Reply = std::sync::Arc::new(move |_| bytes.clone());
                (
                    through(Path::Fast, raw.as_bytes(), false, reply.clone()).await,
                    through(Path::Hyper, raw.as_bytes(), false, reply).await,
                )
            });
            let shown = String::from_utf8_lossy(&reply_bytes).into_owned();
            prop_assert_eq!(fast.responses.len(), 2, "{}", shown);
            // Each path manages its own connection to the client.
            let normal = |d: &Delivered| d.responses.iter().map(|m| normalize(m, &["connection"])).collect::<Vec<_>>();
            prop_assert_eq!(normal(&fast), normal(&hyper), "{}", shown);
            for message in fast.responses.iter().chain(&hyper.responses) {
                assert_well_framed(message)?;
                for (name, _) in &message.headers {
                    let name = name.to_ascii_lowercase();
                    prop_assert!(
                        !["keep-alive", "proxy-authenticate", "te", "upgrade"].contains(&name.as_str()),
                        "{} reached the client", name
                    );
                }
            }
            Ok(())
        })
        .unwrap();
}
