//! h2c in and out, and WebSocket upgrades.

use std::time::Duration;

use gateway::{Protocol, RouteTable};
use http::{Request, StatusCode};
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::*;

#[tokio::test]
async fn h2c_client_reaches_an_http1_revision() {
    let gateway = RunningGateway::start(single_revision_table("hello-00001").await).await;
    let mut connection = h2c_connection(gateway.addr).await;
    let request = Request::get("http://hello.default.example.com/h2")
        .version(http::Version::HTTP_2)
        .header(
            "traceparent",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        )
        .body(Full::default())
        .unwrap();
    let (status, body) = read_response(connection.send_request(request).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let echo = Echo::parse(&body);
    assert_eq!(echo.version, "HTTP/1.1");
    assert_eq!(echo.header("host"), Some("hello.default.example.com"));
    assert_eq!(
        echo.header("traceparent"),
        Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    );
}

#[tokio::test]
async fn h2c_revision_is_reached_over_h2c() {
    let upstream = start_echo_upstream("grpc-00001", Protocol::H2c).await;
    let table = RouteTable::from_knative(
        DOMAIN,
        vec![knative_route("grpc", &[("grpc-00001", 100, None)])],
        vec![revision("grpc-00001", Protocol::H2c, &[upstream])],
    )
    .unwrap();
    let gateway = RunningGateway::start(table).await;
    // Several requests: the second and third reuse the multiplexed upstream connection.
    for _ in 0..2 {
        let (status, _) = send(gateway.addr, get("grpc.default.example.com", "/", &[])).await;
        assert_eq!(status, StatusCode::OK);
    }
    let request = get(
        "grpc.default.example.com",
        "/svc/Method",
        &[("te", "trailers"), ("x-user", "1")],
    );
    let (status, body) = send(gateway.addr, request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let echo = Echo::parse(&body);
    assert_eq!(echo.revision, "grpc-00001");
    assert_eq!(echo.version, "HTTP/2.0");
    // HTTP/2 carries the client's host as :authority, not as a Host header.
    assert_eq!(echo.header(":authority"), Some("grpc.default.example.com"));
    assert_eq!(echo.header("host"), None);
    assert_eq!(echo.header("te"), Some("trailers"));
    assert_eq!(echo.header("x-user"), Some("1"));
}

#[tokio::test]
async fn websocket_upgrade_round_trips_bytes() {
    let gateway = RunningGateway::start(single_revision_table("hello-00001").await).await;
    let mut connection = http1_connection(gateway.addr).await;
    let request = Request::get("/ws")
        .header("host", "hello.default.example.com")
        .header("connection", "Upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("sec-websocket-version", "13")
        .body(Full::default())
        .unwrap();
    let response = connection.send_request(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    assert_eq!(response.headers()["upgrade"], "websocket");
    let upgraded = hyper::upgrade::on(response).await.unwrap();
    let mut io = TokioIo::new(upgraded);
    for message in [&b"ping"[..], b"\x81\x05hello", b"bye"] {
        io.write_all(message).await.unwrap();
        let mut back = vec![0; message.len()];
        tokio::time::timeout(Duration::from_secs(5), io.read_exact(&mut back))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(back, message);
    }
}
