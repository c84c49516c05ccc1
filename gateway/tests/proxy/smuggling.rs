//! Known request-smuggling and desync shapes, each with its expected outcome, sent as
//! raw bytes through both request paths to a function that records what it receives
//! by its own framing. Whatever the shape, nothing reaches the function as a second
//! request and no client-sent internal header reaches it.

use gateway::{Protocol, RouteTable};

use crate::recorder::Recorder;
use crate::support::*;
use crate::wire::{Framing, Message, send_raw};

const HOST: &str = "hello.default.example.com";

/// A request hidden in a body: it must only ever reach the function as body bytes.
const SMUGGLED: &str = "GET /smuggled HTTP/1.1\r\nHost: hello.default.example.com\r\nKnative-Serving-Revision: evil\r\n\r\n";

#[derive(Debug)]
enum Outcome {
    /// The function sees exactly these requests (`METHOD /path` and body), each framed
    /// by its body; the client gets a 200 for each.
    Forwarded(Vec<(&'static str, Vec<u8>)>),
    /// 400 and the connection closes; nothing reaches the function.
    Refused,
}

struct Case {
    name: &'static str,
    raw: Vec<u8>,
    outcome: Outcome,
}

fn case(name: &'static str, raw: impl Into<Vec<u8>>, outcome: Outcome) -> Case {
    Case {
        name,
        raw: raw.into(),
        outcome,
    }
}

fn post(headers: &str, body: &str) -> String {
    format!("POST / HTTP/1.1\r\nHost: {HOST}\r\n{headers}\r\n{body}")
}

fn forwarded(requests: &[(&'static str, &str)]) -> Outcome {
    Outcome::Forwarded(
        requests
            .iter()
            .map(|(line, body)| (*line, body.as_bytes().to_vec()))
            .collect(),
    )
}

fn corpus() -> Vec<Case> {
    use Outcome::Refused;
    let smuggled_len = SMUGGLED.len();
    vec![
        // CL.TE and TE.CL: both framings at once.
        case(
            "cl.te",
            post(
                "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n",
                "0\r\n\r\nG",
            ),
            Refused,
        ),
        case(
            "te.cl",
            post(
                "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n",
                "8\r\nSMUGGLED\r\n0\r\n\r\n",
            ),
            Refused,
        ),
        case(
            "cl.te in other cases",
            post(
                "content-LENGTH: 4\r\ntransfer-ENCODING: CHUNKED\r\n",
                "0\r\n\r\n",
            ),
            Refused,
        ),
        // TE.TE: a Transfer-Encoding one side may not recognise.
        case(
            "te: xchunked",
            post("Transfer-Encoding: xchunked\r\n", "0\r\n\r\n"),
            Refused,
        ),
        case(
            "te: chunked then x",
            post(
                "Transfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n",
                "0\r\n\r\n",
            ),
            Refused,
        ),
        case(
            "te: chunked, identity",
            post("Transfer-Encoding: chunked, identity\r\n", "0\r\n\r\n"),
            Refused,
        ),
        case(
            "te: chunked twice",
            post("Transfer-Encoding: chunked, chunked\r\n", "0\r\n\r\n"),
            Refused,
        ),
        case(
            "te: quoted",
            post("Transfer-Encoding: \"chunked\"\r\n", "0\r\n\r\n"),
            Refused,
        ),
        case(
            "te: identity",
            post("Transfer-Encoding: identity\r\n", ""),
            Refused,
        ),
        case(
            "te: space before colon",
            post("Transfer-Encoding : chunked\r\n", "0\r\n\r\n"),
            Refused,
        ),
        case(
            "te: obs-folded",
            post("X-A: a\r\n Transfer-Encoding: chunked\r\n", "0\r\n\r\n"),
            Refused,
        ),
        case(
            "te: on HTTP/1.0",
            format!(
                "POST / HTTP/1.0\r\nHost: {HOST}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
            ),
            Refused,
        ),
        case(
            "te: tab before value",
            post("Transfer-Encoding:\tchunked\r\n", "5\r\nhello\r\n0\r\n\r\n"),
            forwarded(&[("POST /", "hello")]),
        ),
        case(
            "te: chunk extension and trailer",
            post(
                "Transfer-Encoding: chunked\r\n",
                "5;ext=1\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n",
            ),
            forwarded(&[("POST /", "hello")]),
        ),
        // Content-Length shapes.
        case(
            "cl: duplicate, different",
            post("Content-Length: 5\r\nContent-Length: 6\r\n", "hello!"),
            Refused,
        ),
        case(
            "cl: duplicate, equal",
            post("Content-Length: 5\r\nContent-Length: 5\r\n", "hello"),
            forwarded(&[("POST /", "hello")]),
        ),
        case(
            "cl: a list",
            post("Content-Length: 5, 5\r\n", "hello"),
            Refused,
        ),
        case(
            "cl: signed",
            post("Content-Length: +5\r\n", "hello"),
            Refused,
        ),
        case(
            "cl: overflowing",
            post("Content-Length: 99999999999999999999\r\n", "hello"),
            Refused,
        ),
        case(
            "cl: space before colon",
            post("Content-Length : 5\r\n", "hello"),
            Refused,
        ),
        case(
            "cl: leading zeros",
            post("Content-Length: 005\r\n", "hello"),
            forwarded(&[("POST /", "hello")]),
        ),
        // Line endings and folding.
        case(
            "obs-fold",
            post("X-A: a\r\n b\r\nContent-Length: 5\r\n", "hello"),
            Refused,
        ),
        case(
            "bare LF",
            format!("POST / HTTP/1.1\nHost: {HOST}\nContent-Length: 5\n\nhello"),
            forwarded(&[("POST /", "hello")]),
        ),
        case(
            "NUL in a value",
            post("X-A: a\0b\r\nContent-Length: 5\r\n", "hello"),
            Refused,
        ),
        case(
            "two hosts",
            post("Host: other.example.com\r\nContent-Length: 5\r\n", "hello"),
            Refused,
        ),
        // Connection naming the framing or the target.
        case(
            "connection: content-length",
            post(
                &format!("Connection: content-length\r\nContent-Length: {smuggled_len}\r\n"),
                SMUGGLED,
            ),
            forwarded(&[("POST /", SMUGGLED)]),
        ),
        case(
            "connection: transfer-encoding",
            post(
                "Connection: transfer-encoding\r\nTransfer-Encoding: chunked\r\n",
                "5\r\nhello\r\n0\r\n\r\n",
            ),
            forwarded(&[("POST /", "hello")]),
        ),
        case(
            "connection: host",
            format!("GET /a HTTP/1.1\r\nHost: {HOST}\r\nConnection: host\r\n\r\n"),
            forwarded(&[("GET /a", "")]),
        ),
        // A genuinely pipelined request after a body is a request of its own, and is
        // rewritten like any other.
        case(
            "pipelined after a body",
            format!("{}{SMUGGLED}", post("Content-Length: 5\r\n", "hello")),
            forwarded(&[("POST /", "hello"), ("GET /smuggled", "")]),
        ),
        case(
            "pipelined after a chunked body",
            format!(
                "{}{SMUGGLED}",
                post("Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n0\r\n\r\n")
            ),
            forwarded(&[("POST /", "hello"), ("GET /smuggled", "")]),
        ),
        case(
            "internal header in any case",
            format!(
                "GET / HTTP/1.1\r\nHost: {HOST}\r\nkNaTiVe-SeRvInG-rEvIsIoN: evil\r\nK-NETWORK-PROBE: queue\r\n\r\n"
            ),
            forwarded(&[("GET /", "")]),
        ),
        case(
            "expect with a body",
            post("Expect: 100-continue\r\nContent-Length: 5\r\n", "hello"),
            forwarded(&[("POST /", "hello")]),
        ),
    ]
}

async fn table(recorder: &Recorder) -> RouteTable {
    RouteTable::from_knative(
        DOMAIN,
        vec![knative_route("hello", &[("hello-00001", 100, None)])],
        vec![revision("hello-00001", Protocol::Http1, &[recorder.addr])],
    )
    .unwrap()
}

/// What the function must never see in any request, whatever the client sent.
fn assert_clean(case: &str, path: Path, seen: &Message) {
    let hosts = seen.values("host");
    assert_eq!(hosts, [HOST], "{case} ({path:?}): Host in {seen:?}");
    assert_ne!(
        seen.framing,
        Framing::Ambiguous,
        "{case} ({path:?}): {seen:?}"
    );
    if seen.framing == Framing::Length {
        let length = seen.values("content-length");
        assert_eq!(length, [seen.body.len().to_string()], "{case} ({path:?})");
    }
    for (name, value) in &seen.headers {
        let name = name.to_ascii_lowercase();
        let internal = name.starts_with("k-") || name.starts_with("knative-serving-");
        let ours = match name.as_str() {
            "knative-serving-revision" => value == "hello-00001",
            "knative-serving-namespace" => value == "default",
            _ => false,
        };
        assert!(
            !internal || ours,
            "{case} ({path:?}): {name}: {value} reached the function"
        );
    }
}

#[tokio::test]
async fn every_known_shape_is_forwarded_framed_or_refused_on_both_paths() {
    for case in corpus() {
        for path in Path::BOTH {
            let mut recorder = Recorder::start().await;
            let gateway = RunningGateway::start_on(path, table(&recorder).await).await;
            let expected = match &case.outcome {
                Outcome::Forwarded(requests) => requests.len(),
                // Read on until the gateway closes.
                Outcome::Refused => usize::MAX,
            };
            let (responses, closed) = send_raw(gateway.addr, &case.raw, expected).await;
            gateway.stop().await;
            let seen = recorder.settle().await;
            let statuses: Vec<u16> = responses.iter().map(Message::status).collect();
            let name = case.name;
            match &case.outcome {
                Outcome::Refused => {
                    assert_eq!(statuses, [400], "{name} ({path:?})");
                    assert!(closed, "{name} ({path:?}): the connection stays open");
                    assert!(
                        seen.is_empty(),
                        "{name} ({path:?}): the function saw {seen:?}"
                    );
                }
                Outcome::Forwarded(requests) => {
                    assert_eq!(statuses, vec![200; requests.len()], "{name} ({path:?})");
                    let got: Vec<(String, Vec<u8>)> = seen
                        .iter()
                        .map(|m| {
                            let line = m.start_line.rsplit_once(' ').map_or("", |(l, _)| l);
                            (line.to_owned(), m.body.clone())
                        })
                        .collect();
                    let want: Vec<(String, Vec<u8>)> = requests
                        .iter()
                        .map(|(line, body)| ((*line).to_owned(), body.clone()))
                        .collect();
                    assert_eq!(got, want, "{name} ({path:?})");
                    for message in &seen {
                        assert_clean(name, path, message);
                    }
                }
            }
        }
    }
}

#[tokio::test]
async fn a_function_naming_its_framing_in_connection_keeps_its_framing() {
    for path in Path::BOTH {
        let reply: crate::recorder::Reply = std::sync::Arc::new(|_| {
            b"HTTP/1.1 200 OK\r\nConnection: content-length, x-hop\r\nX-Hop: 1\r\nContent-Length: 5\r\n\r\nhello"
                .to_vec()
        });
        let mut recorder = Recorder::start_with(reply).await;
        let gateway = RunningGateway::start_on(path, table(&recorder).await).await;
        let raw = format!(
            "GET /a HTTP/1.1\r\nHost: {HOST}\r\n\r\nGET /b HTTP/1.1\r\nHost: {HOST}\r\n\r\n"
        );
        let (responses, _) = send_raw(gateway.addr, raw.as_bytes(), 2).await;
        assert_eq!(responses.len(), 2, "{path:?}: {responses:?}");
        for response in &responses {
            assert_eq!(response.values("content-length"), ["5"], "{path:?}");
            assert_eq!(response.body, b"hello", "{path:?}");
            assert!(response.values("x-hop").is_empty(), "{path:?}");
        }
        gateway.stop().await;
        assert_eq!(recorder.settle().await.len(), 2, "{path:?}");
    }
}
