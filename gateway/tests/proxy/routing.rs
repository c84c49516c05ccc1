//! Host → route → revision: weighted splits, tag hosts, the tag header, 404 / 503 / 502.

use std::time::Duration;

use gateway::{Protocol, RouteTable};
use http::StatusCode;

use crate::support::*;

/// Route `hello`: 80 % `hello-00001`, 20 % `hello-00002` (tagged `canary`), and a
/// `current` tag on the first.
async fn split_table() -> RouteTable {
    let one = start_echo_upstream("hello-00001", Protocol::Http1).await;
    let two = start_echo_upstream("hello-00002", Protocol::Http1).await;
    RouteTable::from_knative(
        DOMAIN,
        vec![knative_route(
            "hello",
            &[
                ("hello-00001", 80, Some("current")),
                ("hello-00002", 20, Some("canary")),
            ],
        )],
        vec![
            revision("hello-00001", Protocol::Http1, &[one]),
            revision("hello-00002", Protocol::Http1, &[two]),
        ],
    )
    .unwrap()
}

#[tokio::test]
async fn weighted_split_80_20_holds_within_five_percent() {
    let gateway = RunningGateway::start(split_table().await).await;
    let mut connection = http1_connection(gateway.addr).await;
    let mut first = 0;
    for _ in 0..1000 {
        let request = get("hello.default.example.com", "/", &[]);
        let (status, body) = read_response(connection.send_request(request).await.unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        if Echo::parse(&body).revision == "hello-00001" {
            first += 1;
        }
    }
    assert!(
        (750..=850).contains(&first),
        "hello-00001 got {first} of 1000"
    );
}

#[tokio::test]
async fn tag_hosts_serve_only_their_revision() {
    for path in Path::BOTH {
        let gateway = RunningGateway::start_on(path, split_table().await).await;
        for _ in 0..50 {
            let (_, body) = send(
                gateway.addr,
                get("canary-hello.default.example.com", "/", &[]),
            )
            .await;
            assert_eq!(Echo::parse(&body).revision, "hello-00002");
            let (_, body) = send(
                gateway.addr,
                get("current-hello.default.example.com", "/", &[]),
            )
            .await;
            assert_eq!(Echo::parse(&body).revision, "hello-00001");
        }
    }
}

#[tokio::test]
async fn tag_header_selects_the_tagged_revision_and_is_not_forwarded() {
    for path in Path::BOTH {
        let gateway = RunningGateway::start_on(path, split_table().await).await;
        for _ in 0..50 {
            let request = get(
                "hello.default.example.com",
                "/",
                &[("knative-serving-tag", "canary")],
            );
            let (_, body) = send(gateway.addr, request).await;
            let echo = Echo::parse(&body);
            assert_eq!(echo.revision, "hello-00002");
            assert_eq!(echo.header("knative-serving-tag"), None);
        }
        // An unknown tag falls back to the split (and both revisions stay reachable).
        let mut seen = std::collections::HashSet::new();
        for _ in 0..100 {
            let request = get(
                "hello.default.example.com",
                "/",
                &[("knative-serving-tag", "nope")],
            );
            let (status, body) = send(gateway.addr, request).await;
            assert_eq!(status, StatusCode::OK);
            seen.insert(Echo::parse(&body).revision);
        }
        assert_eq!(seen.len(), 2, "{seen:?}");
    }
}

#[tokio::test]
async fn host_matching_ignores_case_and_port() {
    for path in Path::BOTH {
        let gateway = RunningGateway::start_on(path, split_table().await).await;
        let (status, _) = send(
            gateway.addr,
            get("Canary-Hello.Default.Example.COM:8080", "/", &[]),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }
}

#[tokio::test]
async fn unknown_host_is_404_naming_the_host() {
    for path in Path::BOTH {
        let gateway = RunningGateway::start_on(path, split_table().await).await;
        let (status, body) = send(gateway.addr, get("nobody.default.example.com", "/", &[])).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(body.contains("nobody.default.example.com"), "{body}");
    }
}

#[tokio::test]
async fn revision_without_endpoints_is_503() {
    for path in Path::BOTH {
        let table = RouteTable::from_knative(
            DOMAIN,
            vec![knative_route("idle", &[("idle-00001", 100, None)])],
            vec![revision("idle-00001", Protocol::Http1, &[])],
        )
        .unwrap();
        let gateway = RunningGateway::start_on(path, table).await;
        let (status, body) = send(gateway.addr, get("idle.default.example.com", "/", &[])).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains("default/idle-00001"), "{body}");
    }
}

#[tokio::test]
async fn unreachable_endpoint_is_502() {
    for path in Path::BOTH {
        // Bind then drop: nothing listens on the port any more.
        let dead = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap();
        let table = RouteTable::from_knative(
            DOMAIN,
            vec![knative_route("dead", &[("dead-00001", 100, None)])],
            vec![revision("dead-00001", Protocol::Http1, &[dead])],
        )
        .unwrap();
        let gateway = RunningGateway::start_on(path, table).await;
        let (status, _) = send(gateway.addr, get("dead.default.example.com", "/", &[])).await;
        assert_eq!(status, StatusCode::BAD_GATEWAY);
    }
}

#[tokio::test]
async fn slow_revision_is_504_after_its_timeout() {
    for path in Path::BOTH {
        let upstream = start_echo_upstream("slow-00001", Protocol::Http1).await;
        let table = RouteTable::from_knative(
            DOMAIN,
            vec![knative_route("slow", &[("slow-00001", 100, None)])],
            vec![
                revision("slow-00001", Protocol::Http1, &[upstream])
                    .with_timeout(Duration::from_millis(300)),
            ],
        )
        .unwrap();
        let gateway = RunningGateway::start_on(path, table).await;
        let started = tokio::time::Instant::now();
        let (status, _) = send(gateway.addr, get("slow.default.example.com", "/slow", &[])).await;
        assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}

#[tokio::test]
async fn stored_table_takes_effect_on_the_next_request() {
    let gateway = RunningGateway::start(single_revision_table("hello-00001").await).await;
    let mut connection = http1_connection(gateway.addr).await;
    let (_, body) = read_response(
        connection
            .send_request(get("hello.default.example.com", "/", &[]))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(Echo::parse(&body).revision, "hello-00001");

    gateway
        .config
        .store(single_revision_table("hello-00002").await);
    // Same keep-alive client connection: the swap is per request, not per connection.
    let (_, body) = read_response(
        connection
            .send_request(get("hello.default.example.com", "/", &[]))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(Echo::parse(&body).revision, "hello-00002");
    assert_eq!(gateway.config.load().revisions().count(), 1);
}

#[tokio::test]
async fn response_still_streaming_at_the_timeout_is_cut() {
    for path in Path::BOTH {
        let upstream = start_echo_upstream("slow-00001", Protocol::Http1).await;
        let table = RouteTable::from_knative(
            DOMAIN,
            vec![knative_route("slow", &[("slow-00001", 100, None)])],
            vec![
                revision("slow-00001", Protocol::Http1, &[upstream])
                    .with_timeout(Duration::from_millis(500)),
            ],
        )
        .unwrap();
        let gateway = RunningGateway::start_on(path, table).await;
        let mut connection = http1_connection(gateway.addr).await;
        let started = tokio::time::Instant::now();
        let response = connection
            .send_request(get("slow.default.example.com", "/slow-body", &[]))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body = http_body_util::BodyExt::collect(response.into_body()).await;
        assert!(body.is_err(), "the body should have been cut");
        assert!(started.elapsed() < Duration::from_millis(1500));
    }
}

#[tokio::test]
async fn h2c_endpoints_take_turns_across_one_request_connections() {
    // An h2c revision's request is handed from the fast path to hyper: it must be
    // routed once, or round-robin advances twice per request and, with an even number
    // of endpoints, one endpoint gets everything.
    let first = start_echo_upstream("first", Protocol::H2c).await;
    let second = start_echo_upstream("second", Protocol::H2c).await;
    let table = RouteTable::from_knative(
        DOMAIN,
        vec![knative_route("grpc", &[("grpc-00001", 100, None)])],
        vec![revision("grpc-00001", Protocol::H2c, &[first, second])],
    )
    .unwrap();
    let gateway = RunningGateway::start(table).await;
    let mut served = std::collections::BTreeMap::new();
    for _ in 0..10 {
        let (status, body) = send(gateway.addr, get("grpc.default.example.com", "/", &[])).await;
        assert_eq!(status, StatusCode::OK);
        *served.entry(Echo::parse(&body).revision).or_insert(0) += 1;
    }
    assert_eq!(served.get("first"), Some(&5), "{served:?}");
    assert_eq!(served.get("second"), Some(&5), "{served:?}");
}
