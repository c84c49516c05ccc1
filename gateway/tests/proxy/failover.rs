//! A refused connection sends the request to the revision's next endpoint, on both
//! paths and for both protocols; a request that reached an endpoint is never sent again.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use gateway::{Protocol, RouteTable};
use http::{Request, StatusCode};
use http_body_util::Full;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

use crate::support::*;

const HOST: &str = "pair.default.example.com";

/// An address nothing listens on: a connection to it is refused, as to a dead replica.
async fn refusing_address() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

/// An endpoint that takes each connection, reads the request and closes without a
/// response, as a replica killed mid-request; counts the connections it took.
async fn start_dying_upstream() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let taken = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&taken);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let mut head = [0u8; 1024];
            let _ = stream.read(&mut head).await;
        }
    });
    (addr, taken)
}

/// Route `pair` to one revision with `endpoints`.
fn pair_table(protocol: Protocol, endpoints: &[SocketAddr]) -> RouteTable {
    RouteTable::from_knative(
        DOMAIN,
        vec![knative_route("pair", &[("pair-00001", 100, None)])],
        vec![revision("pair-00001", protocol, endpoints)],
    )
    .unwrap()
}

/// A POST with a body large enough that the fast path has not read all of it when it
/// connects to the function.
fn post(size: usize) -> Request<Full<Bytes>> {
    Request::post("/")
        .header("host", HOST)
        .body(Full::new(Bytes::from(vec![b'x'; size])))
        .unwrap()
}

#[tokio::test]
async fn a_refused_connection_goes_to_the_next_endpoint_on_both_paths() {
    let live = start_echo_upstream("pair-00001", Protocol::Http1).await;
    for path in Path::BOTH {
        let table = pair_table(Protocol::Http1, &[refusing_address().await, live]);
        let gateway = RunningGateway::start_on(path, table).await;
        // Round-robin picks the refusing endpoint first for every other request.
        for i in 0..10 {
            let request = if i % 2 == 0 {
                get(HOST, "/", &[])
            } else {
                post(256 * 1024)
            };
            let (status, body) = send(gateway.addr, request).await;
            assert_eq!(status, StatusCode::OK, "{path:?} request {i}: {body}");
            assert_eq!(Echo::parse(&body).revision, "pair-00001");
        }
    }
}

#[tokio::test]
async fn an_h2c_function_refusing_a_connection_goes_to_the_next_endpoint() {
    let live = start_echo_upstream("pair-00001", Protocol::H2c).await;
    let table = pair_table(Protocol::H2c, &[refusing_address().await, live]);
    let gateway = RunningGateway::start(table).await;
    for i in 0..10 {
        let (status, body) = send(gateway.addr, get(HOST, "/", &[])).await;
        assert_eq!(status, StatusCode::OK, "request {i}: {body}");
        assert_eq!(Echo::parse(&body).version, "HTTP/2.0");
    }
}

#[tokio::test]
async fn when_every_endpoint_refuses_the_answer_is_502() {
    for path in Path::BOTH {
        let endpoints = [refusing_address().await, refusing_address().await];
        let gateway = RunningGateway::start_on(path, pair_table(Protocol::Http1, &endpoints)).await;
        let (status, body) = send(gateway.addr, get(HOST, "/", &[])).await;
        assert_eq!(status, StatusCode::BAD_GATEWAY, "{path:?}: {body}");
        assert!(body.contains("connect"), "{path:?}: {body}");
    }
}

#[tokio::test]
async fn a_request_that_reached_its_endpoint_is_not_sent_to_another() {
    let live = start_echo_upstream("pair-00001", Protocol::Http1).await;
    for path in Path::BOTH {
        let (dying, taken) = start_dying_upstream().await;
        let gateway =
            RunningGateway::start_on(path, pair_table(Protocol::Http1, &[dying, live])).await;
        let mut failed = 0;
        for _ in 0..10 {
            let (status, _) = send(gateway.addr, get(HOST, "/", &[])).await;
            match status {
                StatusCode::OK => {}
                StatusCode::BAD_GATEWAY => failed += 1,
                other => panic!("{path:?}: unexpected {other}"),
            }
        }
        // Each request the dying endpoint took fails with it; none went on elsewhere.
        assert_eq!(failed, taken.load(Ordering::SeqCst), "{path:?}");
        assert!(
            failed > 0,
            "{path:?}: round-robin gave the dying endpoint requests"
        );
    }
}
