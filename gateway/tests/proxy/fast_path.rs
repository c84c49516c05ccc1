//! The HTTP/1.1 fast path at the byte level: pipelining, bodies in pieces, every
//! response framing, upstream sockets closing under it, and handing a connection to
//! hyper halfway.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use gateway::{Protocol, RouteTable};
use http::{Request, StatusCode};
use http_body_util::Full;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::support::*;

const HOST: &str = "hello.default.example.com";

/// One request as a scripted upstream read it.
struct Seen {
    path: String,
    body: Vec<u8>,
}

/// An upstream speaking raw HTTP/1.1: for each request it writes `reply(&seen)`, and
/// closes the socket after a response that says `Connection: close`, or after every
/// response when `close_after`. Counts connections.
async fn start_scripted_upstream(
    reply: fn(&Seen) -> Vec<u8>,
    close_after: bool,
) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&connections);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                while let Some(seen) = read_request(&mut stream, &mut buf).await {
                    let reply = reply(&seen);
                    let closes = reply.windows(17).any(|w| w == b"Connection: close");
                    if stream.write_all(&reply).await.is_err() || close_after || closes {
                        return;
                    }
                }
            });
        }
    });
    (addr, connections)
}

async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Seen> {
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut request = httparse::Request::new(&mut headers);
        if let Ok(httparse::Status::Complete(len)) = request.parse(buf) {
            let length: usize = request
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .map_or(0, |h| {
                    std::str::from_utf8(h.value).unwrap().parse().unwrap()
                });
            let path = request.path.unwrap().to_owned();
            while buf.len() < len + length {
                read_some(stream, buf).await?;
            }
            let body = buf[len..len + length].to_vec();
            buf.drain(..len + length);
            return Some(Seen { path, body });
        }
        read_some(stream, buf).await?;
    }
}

async fn read_some(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<()> {
    let mut chunk = [0u8; 4096];
    match stream.read(&mut chunk).await {
        Ok(n @ 1..) => {
            buf.extend_from_slice(&chunk[..n]);
            Some(())
        }
        _ => None,
    }
}

fn table_for(upstream: SocketAddr) -> RouteTable {
    RouteTable::from_knative(
        DOMAIN,
        vec![knative_route("hello", &[("hello-00001", 100, None)])],
        vec![revision("hello-00001", Protocol::Http1, &[upstream])],
    )
    .unwrap()
}

/// Replies by framing: `/chunked`, `/eof` (close-delimited) or a sized echo of the
/// request body.
fn by_framing(seen: &Seen) -> Vec<u8> {
    match seen.path.as_str() {
        "/chunked" => {
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n"
                .to_vec()
        }
        "/eof" => b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end".to_vec(),
        _ => {
            let mut reply =
                format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", seen.body.len())
                    .into_bytes();
            reply.extend_from_slice(&seen.body);
            reply
        }
    }
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let gateway = RunningGateway::start(single_revision_table("hello-00001").await).await;
    let raw = format!(
        "GET /1 HTTP/1.1\r\nHost: {HOST}\r\n\r\nGET /2 HTTP/1.1\r\nHost: nobody.example.com\r\n\r\n\
         GET /3 HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n"
    );
    let response = raw_exchange(gateway.addr, raw.as_bytes()).await;
    assert_eq!(statuses(&response), [200, 404, 200], "{response}");
    assert!(
        response
            .trim_end()
            .ends_with("knative-serving-namespace: default"),
        "{response}"
    );
}

#[tokio::test]
async fn a_request_body_arriving_in_pieces_reaches_the_function_whole() {
    let (upstream, _) = start_scripted_upstream(by_framing, false).await;
    let gateway = RunningGateway::start(table_for(upstream)).await;
    let mut stream = TcpStream::connect(gateway.addr).await.unwrap();
    let body = "x".repeat(100_000);
    let head = format!(
        "POST /echo HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body.as_bytes()[..10]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    stream.write_all(&body.as_bytes()[10..]).await.unwrap();
    let mut out = Vec::new();
    stream.read_to_end(&mut out).await.unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out:.200}");
    assert!(
        out.ends_with(&format!("\r\n\r\n{body}")),
        "body not echoed whole"
    );
    assert!(
        out.to_ascii_lowercase().contains("connection: close"),
        "{out:.200}"
    );
}

#[tokio::test]
async fn chunked_and_close_delimited_responses_are_relayed() {
    let (upstream, connections) = start_scripted_upstream(by_framing, false).await;
    let gateway = RunningGateway::start(table_for(upstream)).await;
    let mut client = http1_connection(gateway.addr).await;
    for _ in 0..2 {
        client.ready().await.unwrap();
        let response = client
            .send_request(get(HOST, "/chunked", &[]))
            .await
            .unwrap();
        assert_eq!(response.headers()["transfer-encoding"], "chunked");
        let (status, body) = read_response(response).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "hello, world"));
    }
    assert_eq!(connections.load(Ordering::SeqCst), 1, "upstream not reused");

    let response = raw_exchange(
        gateway.addr,
        format!("GET /eof HTTP/1.1\r\nHost: {HOST}\r\n\r\n").as_bytes(),
    )
    .await;
    // The client connection closes with the function's (raw_exchange reads to EOF).
    assert!(response.ends_with("\r\n\r\nuntil the end"), "{response}");
    assert!(response.contains("connection: close"), "{response}");
}

#[tokio::test]
async fn sockets_the_function_closes_are_replaced() {
    // The function closes after every response without saying so: each pooled socket
    // is dead by the time it is used next, and no request may fail for it.
    let (upstream, connections) = start_scripted_upstream(by_framing, true).await;
    let gateway = RunningGateway::start(table_for(upstream)).await;
    let mut client = http1_connection(gateway.addr).await;
    for i in 0..5 {
        client.ready().await.unwrap();
        let request = Request::post("/echo")
            .header("host", HOST)
            .body(Full::from(format!("request {i}")))
            .unwrap();
        let (status, body) = read_response(client.send_request(request).await.unwrap()).await;
        assert_eq!((status, body), (StatusCode::OK, format!("request {i}")));
    }
    assert_eq!(connections.load(Ordering::SeqCst), 5);
}

#[tokio::test]
async fn an_unparsable_response_is_502() {
    let (upstream, _) = start_scripted_upstream(|_| b"NONSENSE\r\n\r\n".to_vec(), true).await;
    let gateway = RunningGateway::start(table_for(upstream)).await;
    let (status, body) = send(gateway.addr, get(HOST, "/", &[])).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(body.contains("invalid response"), "{body}");
}

#[tokio::test]
async fn head_responses_have_no_body_and_the_connection_goes_on() {
    let gateway = RunningGateway::start(single_revision_table("hello-00001").await).await;
    let raw = format!(
        "HEAD / HTTP/1.1\r\nHost: {HOST}\r\n\r\nGET / HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n"
    );
    let response = raw_exchange(gateway.addr, raw.as_bytes()).await;
    assert_eq!(statuses(&response), [200, 200], "{response}");
}

#[tokio::test]
async fn a_connection_moves_to_hyper_for_a_chunked_request_midway() {
    let gateway = RunningGateway::start(single_revision_table("hello-00001").await).await;
    let raw = format!(
        "GET / HTTP/1.1\r\nHost: {HOST}\r\n\r\n\
         POST / HTTP/1.1\r\nHost: {HOST}\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n\
         GET / HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n"
    );
    let response = raw_exchange(gateway.addr, raw.as_bytes()).await;
    assert_eq!(statuses(&response), [200, 200, 200], "{response}");
}

#[tokio::test]
async fn an_answer_before_the_body_is_read_survives_the_close() {
    let gateway = RunningGateway::start(single_revision_table("hello-00001").await).await;
    let mut stream = TcpStream::connect(gateway.addr).await.unwrap();
    let head = "POST / HTTP/1.1\r\nHost: nobody.example.com\r\nContent-Length: 1000000\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    // Part of the body, which the gateway never reads before answering 404 and closing:
    // it must not reset the connection under the unread answer.
    stream.write_all(&vec![b'x'; 200_000]).await.unwrap();
    let mut out = Vec::new();
    stream.read_to_end(&mut out).await.expect("no reset");
    let out = String::from_utf8_lossy(&out);
    assert_eq!(statuses(&out), [404], "{out}");
}
