//! A revision's response-start and idle timeouts, on both paths, against functions
//! that take their time on real sockets: a late head is a 504, a stalled body is cut,
//! and a body that keeps coming is not.
//!
//! The gateway runs on the real clock here, so the limits are short real durations;
//! nothing sleeps to wait for an event (the functions' pauses are their behaviour).

use std::net::SocketAddr;
use std::time::Duration;

use gateway::{Protocol, RouteTable};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

use crate::support::{DOMAIN, Path, RunningGateway, knative_route, revision};
use crate::wire::{Framing, Parse, parse};

/// How long a test waits for a response it expects before failing.
const DEADLINE: Duration = Duration::from_secs(10);

/// What a scripted function does after reading a request head.
#[derive(Clone)]
enum Step {
    Pause(Duration),
    Send(&'static [u8]),
}

/// A function that answers every request head with `script`, then waits for the next
/// request (or, when the script left the response unfinished, for the gateway to give
/// up on the connection).
async fn start_scripted(script: Vec<Step>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(run_script(stream, script.clone()));
        }
    });
    addr
}

async fn run_script(mut stream: TcpStream, script: Vec<Step>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        // The tests send bodiless GETs: the head is the whole request.
        buf.clear();
        for step in &script {
            match step {
                Step::Pause(pause) => tokio::time::sleep(*pause).await,
                Step::Send(bytes) => {
                    if stream.write_all(bytes).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}

/// A table with one route per `(name, function)`, host `{name}.default.example.com`,
/// each revision shaped by `limits`.
fn table(
    functions: &[(&str, SocketAddr)],
    limits: impl Fn(gateway::Revision) -> gateway::Revision,
) -> RouteTable {
    let routes = functions
        .iter()
        .map(|(name, _)| knative_route(name, &[(&format!("{name}-00001"), 100, None)]))
        .collect();
    let revisions = functions
        .iter()
        .map(|(name, addr)| {
            limits(revision(
                &format!("{name}-00001"),
                Protocol::Http1,
                &[*addr],
            ))
        })
        .collect();
    RouteTable::from_knative(DOMAIN, routes, revisions).unwrap()
}

/// Sends `GET /` for route `name` with `Connection: close` and reads until the gateway
/// closes; returns the bytes and how long the response took.
async fn get_until_close(gateway: SocketAddr, name: &str) -> (Vec<u8>, Duration) {
    let started = Instant::now();
    let mut stream = TcpStream::connect(gateway).await.unwrap();
    let request =
        format!("GET / HTTP/1.1\r\nhost: {name}.default.{DOMAIN}\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    tokio::time::timeout(DEADLINE, stream.read_to_end(&mut received))
        .await
        .expect("the gateway ends the response")
        .expect("the connection closes, not resets");
    (received, started.elapsed())
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn a_head_later_than_the_response_start_timeout_is_504() {
    let late = start_scripted(vec![
        Step::Pause(Duration::from_millis(1500)),
        Step::Send(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"),
    ])
    .await;
    let prompt = start_scripted(vec![Step::Send(
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
    )])
    .await;
    for path in Path::BOTH {
        let table = table(&[("late", late), ("prompt", prompt)], |r| {
            r.with_response_start_timeout(Duration::from_secs(1))
        });
        let gateway = RunningGateway::start_on(path, table).await;

        let (response, took) = get_until_close(gateway.addr, "late").await;
        let response = text(&response);
        assert!(
            response.starts_with("HTTP/1.1 504 "),
            "{path:?}: {response}"
        );
        assert!(
            response.contains("response start timeout"),
            "{path:?}: {response}"
        );
        assert!(
            took >= Duration::from_secs(1),
            "{path:?}: not before the limit: {took:?}"
        );
        assert!(
            took < Duration::from_millis(1500),
            "{path:?}: before the function's head: {took:?}"
        );

        let (response, _) = get_until_close(gateway.addr, "prompt").await;
        let Parse::Complete(message, _) = parse(&response, false, true, false) else {
            panic!("{path:?}: a complete response: {}", text(&response))
        };
        assert_eq!(
            (message.status(), &message.body[..]),
            (200, &b"ok"[..]),
            "{path:?}"
        );
    }
}

#[tokio::test]
async fn a_body_stalled_longer_than_the_idle_timeout_is_cut() {
    let stalled = start_scripted(vec![Step::Send(
        b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n01234",
    )])
    .await;
    for path in Path::BOTH {
        let table = table(&[("stalled", stalled)], |r| {
            r.with_idle_timeout(Duration::from_secs(1))
        });
        let gateway = RunningGateway::start_on(path, table).await;
        let (response, took) = get_until_close(gateway.addr, "stalled").await;
        assert!(
            matches!(parse(&response, false, true, false), Parse::Partial),
            "{path:?}: the connection closes before the declared length: {}",
            text(&response)
        );
        let text = text(&response);
        assert!(text.starts_with("HTTP/1.1 200 "), "{path:?}: {text}");
        assert!(
            text.ends_with("\r\n\r\n01234"),
            "{path:?}: what came is relayed: {text}"
        );
        assert!(
            took >= Duration::from_secs(1),
            "{path:?}: not before the limit: {took:?}"
        );
        assert!(
            took < Duration::from_secs(3),
            "{path:?}: at the limit: {took:?}"
        );
    }
}

#[tokio::test]
async fn a_body_that_keeps_coming_outlasts_the_idle_timeout() {
    // Six pauses of 350 ms: over twice the 1 s idle limit in all, never idle that long.
    let dribble = |head: &'static [u8], piece: &'static [u8], end: &'static [u8]| {
        let mut script = vec![Step::Send(head)];
        for _ in 0..6 {
            script.push(Step::Pause(Duration::from_millis(350)));
            script.push(Step::Send(piece));
        }
        script.push(Step::Send(end));
        script
    };
    let length = start_scripted(dribble(
        b"HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\n",
        b"x",
        b"",
    ))
    .await;
    let chunked = start_scripted(dribble(
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n",
        b"1\r\nx\r\n",
        b"0\r\n\r\n",
    ))
    .await;
    for path in Path::BOTH {
        let table = table(&[("length", length), ("chunked", chunked)], |r| {
            r.with_idle_timeout(Duration::from_secs(1))
        });
        let gateway = RunningGateway::start_on(path, table).await;
        let (by_length, by_chunks) = tokio::join!(
            get_until_close(gateway.addr, "length"),
            get_until_close(gateway.addr, "chunked"),
        );
        for ((response, took), framing) in
            [(by_length, Framing::Length), (by_chunks, Framing::Chunked)]
        {
            let Parse::Complete(message, _) = parse(&response, false, true, false) else {
                panic!("{path:?} {framing:?}: the whole body: {}", text(&response))
            };
            assert_eq!(message.framing, framing, "{path:?}");
            assert_eq!(message.body, b"xxxxxx", "{path:?} {framing:?}");
            assert!(
                took >= Duration::from_millis(2100),
                "{path:?} {framing:?}: longer than the idle limit in all: {took:?}"
            );
        }
    }
}
