//! Metrics on the admin port and graceful drain.

use std::sync::Arc;
use std::time::Duration;

use gateway::{Protocol, RouteTable};
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
    let gateway = RunningGateway::start(single_revision_table("hello-00001").await).await;
    drains_in_flight_requests_then_stops(gateway).await;
}

/// Starts a slow request, shuts `gateway` down under it, and checks the request still
/// completes, `serve` returns, and nothing accepts any more.
async fn drains_in_flight_requests_then_stops(mut gateway: RunningGateway) {
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

#[tokio::test]
async fn worker_threads_serve_keep_alive_clients_across_table_pushes() {
    let upstream = start_echo_upstream("hello-00001", Protocol::Http1).await;
    let table = move || {
        RouteTable::from_knative(
            DOMAIN,
            vec![knative_route("hello", &[("hello-00001", 100, None)])],
            vec![revision("hello-00001", Protocol::Http1, &[upstream])],
        )
        .unwrap()
    };
    let gateway = RunningGateway::start_on_threads(table(), 3).await;
    let clients = (0..8).map(|round| {
        let addr = gateway.addr;
        let config = Arc::clone(&gateway.config);
        tokio::spawn(async move {
            let mut connection = http1_connection(addr).await;
            for i in 0..20 {
                if round == 0 && i == 10 {
                    // Same endpoints: warm upstream connections carry over.
                    config.store(table());
                }
                connection.ready().await.unwrap();
                let request = get("hello.default.example.com", "/", &[]);
                let response = connection.send_request(request).await.unwrap();
                let (status, body) = read_response(response).await;
                assert_eq!(status, StatusCode::OK);
                assert_eq!(Echo::parse(&body).revision, "hello-00001");
            }
        })
    });
    for client in clients.collect::<Vec<_>>() {
        client.await.unwrap();
    }
    let text = scrape_metrics(gateway.admin_addr).await;
    assert!(text.contains("hello-00001"), "{text}");
}

#[tokio::test]
async fn worker_threads_drain_in_flight_requests_on_shutdown() {
    let table = single_revision_table("hello-00001").await;
    drains_in_flight_requests_then_stops(RunningGateway::start_on_threads(table, 2).await).await;
}
