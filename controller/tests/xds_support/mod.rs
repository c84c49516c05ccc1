//! Helpers for the xDS integration tests: tiny real HTTP/1.1 upstreams that say who
//! they are, a raw HTTP/1.1 client, and routing fixtures.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use controller::routing::{
    ObjectKey, Protocol, ResolvedRoute, ResolvedTarget, RevisionBackend, RoutingTable,
};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

pub const HOST: &str = "hello.default.example.com";
pub const TAG_HOST: &str = "latest-hello.default.example.com";
pub const REV_A: &str = "hello-00001";
pub const REV_B: &str = "hello-00002";

/// An HTTP/1.1 keep-alive server answering every request with a body whose first line
/// is `name`, followed by the request head it received (to check header handling).
pub async fn upstream(name: &'static str) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(serve_connection(stream, name));
        }
    });
    addr
}

async fn serve_connection(stream: TcpStream, name: &'static str) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let mut head = String::new();
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if line == "\r\n" {
                break;
            }
            head.push_str(&line);
        }
        let body = format!("{name}\n{head}");
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        if write.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// A response: status and body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: String,
}

impl Reply {
    /// The upstream that answered (first body line).
    pub fn revision(&self) -> &str {
        self.body.lines().next().unwrap_or_default()
    }
}

/// `GET /` with `Host: host` and extra headers, on a fresh connection.
pub async fn get(addr: SocketAddr, host: &str, headers: &[(&str, &str)]) -> std::io::Result<Reply> {
    get_path(addr, "/", host, headers).await
}

/// `GET path` with `Host: host` and extra headers, on a fresh connection.
pub async fn get_path(
    addr: SocketAddr,
    path: &str,
    host: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<Reply> {
    let mut stream = TcpStream::connect(addr).await?;
    let mut request = format!("GET {path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw))
        .await
        .map_err(|_| std::io::Error::other("response timed out"))??;
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad response: {raw:?}")))?;
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Ok(Reply { status, body })
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || after.len() < size {
            break;
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    out
}

/// Sends `count` requests, `parallel` at a time; returns how many each revision got.
pub async fn spread(addr: SocketAddr, host: &str, count: usize, parallel: usize) -> (usize, usize) {
    let per_task = count / parallel;
    let mut tasks = Vec::new();
    for _ in 0..parallel {
        let host = host.to_owned();
        tasks.push(tokio::spawn(async move {
            let (mut a, mut b) = (0, 0);
            for _ in 0..per_task {
                let reply = get(addr, &host, &[]).await.unwrap();
                assert_eq!(reply.status, 200, "{reply:?}");
                match reply.revision() {
                    REV_A => a += 1,
                    REV_B => b += 1,
                    other => panic!("unexpected upstream {other:?}"),
                }
            }
            (a, b)
        }));
    }
    let mut totals = (0, 0);
    for task in tasks {
        let (a, b) = task.await.unwrap();
        totals.0 += a;
        totals.1 += b;
    }
    totals
}

/// Polls `check` every 50 ms until it holds, failing after `limit`.
pub async fn eventually<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every one of `n` requests to `host` (with `headers`) answered by `revision`.
pub async fn all_go_to(
    addr: SocketAddr,
    host: &str,
    headers: &[(&str, &str)],
    revision: &str,
    n: usize,
) -> bool {
    for _ in 0..n {
        match get(addr, host, headers).await {
            Ok(reply) if reply.status == 200 && reply.revision() == revision => {}
            _ => return false,
        }
    }
    true
}

pub fn backend(name: &str, endpoint: SocketAddr) -> RevisionBackend {
    RevisionBackend {
        key: ObjectKey::new("default", name),
        protocol: Protocol::Http1,
        endpoints: vec![endpoint],
        timeout_seconds: 30,
        response_start_timeout_seconds: 30,
        idle_timeout_seconds: None,
    }
}

/// The `hello` route: `a_percent` to A (tagged `current`), the rest to B (tagged
/// `latest`, with its tag host).
pub fn split(a_percent: u32) -> ResolvedRoute {
    ResolvedRoute {
        key: ObjectKey::new("default", "hello"),
        host: HOST.into(),
        targets: vec![
            ResolvedTarget {
                revision: REV_A.into(),
                percent: a_percent,
                tag: Some("current".into()),
                tag_host: Some("current-hello.default.example.com".into()),
            },
            ResolvedTarget {
                revision: REV_B.into(),
                percent: 100 - a_percent,
                tag: Some("latest".into()),
                tag_host: Some(TAG_HOST.into()),
            },
        ],
    }
}

/// A routing table with both upstreams and the 80/20 split.
pub async fn routing_80_20() -> (Arc<RoutingTable>, SocketAddr, SocketAddr) {
    let a = upstream(REV_A).await;
    let b = upstream(REV_B).await;
    let routing = RoutingTable::new();
    routing.set_backend(backend(REV_A, a));
    routing.set_backend(backend(REV_B, b));
    routing.set_route(split(80));
    (routing, a, b)
}

/// Starts the xDS server on a free loopback port.
pub async fn start_xds(routing: Arc<RoutingTable>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(controller::xds::serve(
        listener,
        routing,
        std::future::pending(),
    ));
    addr
}

/// Asserts an 80/20 split (±5 points) over 1,000 requests.
pub async fn assert_80_20(addr: SocketAddr) {
    let (a, b) = spread(addr, HOST, 1000, 20).await;
    assert_eq!(a + b, 1000);
    assert!((750..=850).contains(&a), "A got {a} of 1000, B {b}");
}
