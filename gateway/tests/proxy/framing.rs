//! Ambiguous or oversized request heads, written as raw bytes.

use crate::support::*;

const HOST: &str = "hello.default.example.com";

async fn gateway() -> RunningGateway {
    RunningGateway::start(single_revision_table("hello-00001").await).await
}

#[tokio::test]
async fn content_length_with_transfer_encoding_is_400() {
    let gateway = gateway().await;
    for raw in [
        format!(
            "POST / HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        ),
        format!(
            "POST / HTTP/1.1\r\nHost: {HOST}\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n"
        ),
    ] {
        let response = raw_exchange(gateway.addr, raw.as_bytes()).await;
        assert_eq!(statuses(&response), [400], "{response}");
    }
}

#[tokio::test]
async fn invalid_or_conflicting_content_length_is_400() {
    let gateway = gateway().await;
    for lengths in [
        "Content-Length: abc\r\n",
        "Content-Length: 3\r\nContent-Length: 4\r\n",
        "Content-Length: -1\r\n",
    ] {
        let raw = format!("POST / HTTP/1.1\r\nHost: {HOST}\r\n{lengths}\r\nabcd");
        let response = raw_exchange(gateway.addr, raw.as_bytes()).await;
        assert_eq!(statuses(&response), [400], "{lengths:?}: {response}");
    }
}

#[tokio::test]
async fn unsupported_transfer_coding_is_400() {
    let gateway = gateway().await;
    let raw = format!("POST / HTTP/1.1\r\nHost: {HOST}\r\nTransfer-Encoding: gzip\r\n\r\nabcd");
    let response = raw_exchange(gateway.addr, raw.as_bytes()).await;
    assert_eq!(statuses(&response), [400], "{response}");
}

#[tokio::test]
async fn smuggled_head_after_valid_bodies_on_one_connection_is_400() {
    let gateway = gateway().await;
    // A chunked body and a sized body whose contents look like request heads, then an
    // ambiguous request: the first two are answered, the third refused.
    let smuggled = "GET /x HTTP/1.1\r\nHost: evil\r\n\r\n";
    let raw = format!(
        "POST / HTTP/1.1\r\nHost: {HOST}\r\nTransfer-Encoding: chunked\r\n\r\n\
         {:x}\r\n{smuggled}\r\n0\r\n\r\n\
         POST / HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: 5\r\n\r\nGET /\
         POST / HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        smuggled.len()
    );
    let response = raw_exchange(gateway.addr, raw.as_bytes()).await;
    assert_eq!(statuses(&response), [200, 200, 400], "{response}");
}

#[tokio::test]
async fn oversized_header_block_is_431() {
    let gateway = gateway().await;
    let big = "a".repeat(70 * 1024);
    let raw = format!("GET / HTTP/1.1\r\nHost: {HOST}\r\nX-Big: {big}\r\n\r\n");
    let response = raw_exchange(gateway.addr, raw.as_bytes()).await;
    assert_eq!(
        statuses(&response),
        [431],
        "{}",
        &response[..response.len().min(200)]
    );
}

#[tokio::test]
async fn too_many_headers_is_431() {
    let gateway = gateway().await;
    let many: String = (0..200).map(|i| format!("X-H{i}: v\r\n")).collect();
    let raw = format!("GET / HTTP/1.1\r\nHost: {HOST}\r\n{many}\r\n");
    let response = raw_exchange(gateway.addr, raw.as_bytes()).await;
    assert_eq!(statuses(&response), [431], "{response}");
}

#[tokio::test]
async fn headers_just_under_the_limit_pass() {
    let gateway = gateway().await;
    let big = "a".repeat(60 * 1024);
    let raw =
        format!("GET / HTTP/1.1\r\nHost: {HOST}\r\nX-Big: {big}\r\nConnection: close\r\n\r\n");
    let response = raw_exchange(gateway.addr, raw.as_bytes()).await;
    assert_eq!(statuses(&response), [200]);
}
