//! Metrics on the admin port and graceful drain.

use std::time::Duration;

use http::StatusCode;

use crate::support::*;

#[tokio::test]
async fn metrics_count_requests_per_revision_on_the_admin_port() {
    let gateway = RunningGateway::start(single_revision_table("hello-00001").await).await;
    for _ in 0..3 {
        let (status, _) = send(gateway.addr, get("hello.default.example.com", "/", &[])).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, _) = send(gateway.addr, get("nobody.example.com", "/", &[])).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let text = scrape_metrics(gateway.admin_addr).await;
    assert!(
        text.contains(r#"fnmesh_gateway_requests_total{code_class="2xx",namespace="default",revision="hello-00001"} 3"#),
        "{text}"
    );
    assert!(
        text.contains(r#"fnmesh_gateway_request_duration_seconds_count{namespace="default",revision="hello-00001"} 3"#),
        "{text}"
    );
    assert!(
        text.contains("fnmesh_gateway_unrouted_requests_total 1"),
        "{text}"
    );

    // Not on the proxy port.
    let (status, _) = send(
        gateway.addr,
        get("hello.default.example.com", "/metrics", &[]),
    )
    .await;
    let (_, body) = send(
        gateway.addr,
        get("hello.default.example.com", "/metrics", &[]),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !body.contains("fnmesh_gateway"),
        "the function answered /metrics"
    );

    // A revision leaving the table leaves the metrics too.
    gateway
        .config
        .store(single_revision_table("hello-00002").await);
    let text = scrape_metrics(gateway.admin_addr).await;
    assert!(!text.contains("hello-00001"), "{text}");
}

#[tokio::test]
async fn shutdown_finishes_in_flight_requests_and_stops_accepting() {
    let mut gateway = RunningGateway::start(single_revision_table("hello-00001").await).await;
    let addr = gateway.addr;
    let in_flight = tokio::spawn(send(addr, get("hello.default.example.com", "/slow", &[])));
    tokio::time::sleep(Duration::from_millis(300)).await;
    gateway.shut_down();
    let (status, body) = in_flight.await.unwrap();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(Echo::parse(&body).revision, "hello-00001");
    tokio::time::timeout(Duration::from_secs(5), gateway.stopped.take().unwrap())
        .await
        .expect("serve returns once drained")
        .unwrap();
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still accepting"
    );
}
