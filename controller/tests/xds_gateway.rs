//! RoutingTable → xDS server → gateway xDS client → gateway proxy → real upstreams.

mod xds_support;

use std::sync::Arc;
use std::time::Duration;

use controller::routing::ObjectKey;
use gateway::GatewayConfig;
use tokio::net::TcpListener;
use xds_support::*;

/// Starts a gateway following `xds` and returns its proxy address.
async fn start_gateway(xds: std::net::SocketAddr) -> std::net::SocketAddr {
    start_gateway_with(xds, Arc::new(GatewayConfig::default())).await
}

/// [`start_gateway`] publishing what it learns to `config`.
async fn start_gateway_with(
    xds: std::net::SocketAddr,
    config: Arc<GatewayConfig>,
) -> std::net::SocketAddr {
    tokio::spawn(gateway::xds_client::run(
        tokio::sync::watch::channel(Some(xds)).1,
        "test-gateway".into(),
        Arc::clone(&config),
    ));
    let proxy = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = proxy.local_addr().unwrap();
    tokio::spawn(gateway::serve(proxy, config, std::future::pending()));
    addr
}

/// An xDS server on a free loopback port that stops when the sender fires.
async fn start_stoppable_xds(
    routing: Arc<controller::RoutingTable>,
) -> (
    std::net::SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let xds = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(controller::xds::serve(listener, routing, async {
        let _ = stopped.await;
    }));
    (xds, stop, server)
}

/// A gateway following `xds`, once it serves the 80/20 route.
async fn start_gateway_serving(xds: std::net::SocketAddr) -> std::net::SocketAddr {
    let gw = start_gateway(xds).await;
    eventually(Duration::from_secs(10), "the first table", || async {
        get(gw, HOST, &[]).await.is_ok_and(|r| r.status == 200)
    })
    .await;
    gw
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_follows_the_routing_table_over_xds() {
    let (routing, _, _) = routing_80_20().await;
    let xds = start_xds(Arc::clone(&routing)).await;
    let gw = start_gateway(xds).await;

    eventually(Duration::from_secs(10), "the first table", || async {
        get(gw, HOST, &[]).await.is_ok_and(|r| r.status == 200)
    })
    .await;
    assert_80_20(gw).await;

    // Tag host and tag header pin the tagged revision.
    assert!(all_go_to(gw, TAG_HOST, &[], REV_B, 50).await);
    assert!(all_go_to(gw, "current-hello.default.example.com", &[], REV_A, 20).await);
    assert!(all_go_to(gw, HOST, &[("knative-serving-tag", "latest")], REV_B, 50).await);

    // A new split takes effect promptly.
    routing.set_route(split(0));
    eventually(Duration::from_secs(5), "the 0/100 split", || async {
        all_go_to(gw, HOST, &[], REV_B, 20).await
    })
    .await;

    // The route going away removes its hosts.
    routing.remove_route(&ObjectKey::new("default", "hello"));
    eventually(Duration::from_secs(5), "the route's removal", || async {
        get(gw, HOST, &[]).await.is_ok_and(|r| r.status == 404)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_holds_requests_for_a_late_xds_server() {
    // Reserve a port, free it, start the client against it, then the server.
    let reserved = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let xds = reserved.local_addr().unwrap();
    drop(reserved);
    let gw = start_gateway(xds).await;
    // Sent before the gateway has any table: it waits in the listen backlog instead of
    // getting the 404 of an empty table.
    let early = tokio::spawn(async move { get(gw, HOST, &[]).await });

    let (routing, _, _) = routing_80_20().await;
    let listener = TcpListener::bind(xds).await.unwrap();
    tokio::spawn(controller::xds::serve(
        listener,
        routing,
        std::future::pending(),
    ));
    let early = tokio::time::timeout(Duration::from_secs(10), early)
        .await
        .expect("the held request is answered once the table comes")
        .unwrap()
        .unwrap();
    assert_eq!(early.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_controller_sends_nothing_until_its_table_is_whole() {
    let (routing, a, b) = routing_80_20().await;
    let (xds, stop, first) = start_stoppable_xds(routing).await;
    let gw = start_gateway_serving(xds).await;

    // The controller restarts on the same address. Its watches have listed the
    // endpoints but the Route reconciler has not yet published the Route.
    stop.send(()).unwrap();
    first.await.unwrap();
    let restarted = controller::RoutingTable::filled_by_watches();
    restarted.set_backend(backend(REV_A, a));
    restarted.set_backend(backend(REV_B, b));
    restarted.backends_complete();
    let listener = TcpListener::bind(xds).await.unwrap();
    tokio::spawn(controller::xds::serve(
        listener,
        Arc::clone(&restarted),
        std::future::pending(),
    ));
    // The gateway reconnects within its backoff (100 ms at first) and, answered
    // nothing, keeps its table: no request gets the half-filled table's 404.
    let until = tokio::time::Instant::now() + Duration::from_millis(1500);
    let mut answered = 0;
    while tokio::time::Instant::now() < until {
        let status = get(gw, HOST, &[]).await.unwrap().status;
        assert_eq!(status, 200, "after {answered} answers");
        answered += 1;
    }

    // The Route is published (all to B now): the held stream gets the whole table.
    restarted.set_route(split(0));
    restarted.routes_complete();
    eventually(
        Duration::from_secs(5),
        "the restarted controller's table",
        || async { all_go_to(gw, HOST, &[], REV_B, 20).await },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoint_changes_reach_the_gateway() {
    let (routing, _, b) = routing_80_20().await;
    let xds = start_xds(Arc::clone(&routing)).await;
    let gw = start_gateway(xds).await;
    eventually(Duration::from_secs(10), "the first table", || async {
        get(gw, HOST, &[]).await.is_ok_and(|r| r.status == 200)
    })
    .await;
    // Serve/proxy-style switch: only the endpoints change, the routes stay.
    routing.set_backend(backend(REV_A, b));
    eventually(Duration::from_secs(5), "A's new endpoint", || async {
        all_go_to(gw, "current-hello.default.example.com", &[], REV_B, 10).await
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_streams_and_returns() {
    let (routing, _, _) = routing_80_20().await;
    let (xds, stop, server) = start_stoppable_xds(routing).await;
    let gw = start_gateway_serving(xds).await;
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("serve returns although a gateway is still connected")
        .unwrap();
    // The gateway keeps its last table while the control plane is away.
    assert_eq!(get(gw, HOST, &[]).await.unwrap().status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revision_timeouts_reach_the_gateway_over_xds() {
    let (routing, a, _) = routing_80_20().await;
    let mut limited = backend(REV_A, a);
    limited.response_start_timeout_seconds = 7;
    limited.idle_timeout_seconds = Some(3);
    routing.set_backend(limited);
    let xds = start_xds(Arc::clone(&routing)).await;
    let config = Arc::new(GatewayConfig::default());
    start_gateway_with(xds, Arc::clone(&config)).await;

    let limits = |name: &str| {
        let table = config.load();
        let revision = table.revisions().find(|r| r.name == name)?;
        Some((revision.response_start_timeout, revision.idle_timeout))
    };
    let secs = |n| Some(Duration::from_secs(n));
    eventually(Duration::from_secs(10), "A's limits in the gateway", || {
        let seen = limits(REV_A);
        async move { seen == Some((secs(7), secs(3))) }
    })
    .await;
    assert_eq!(
        limits(REV_B),
        Some((secs(30), None)),
        "B: the response start bounded by its timeout, no idle limit"
    );

    // A change of limits alone is a routing change.
    let mut relaxed = backend(REV_A, a);
    relaxed.idle_timeout_seconds = None;
    routing.set_backend(relaxed);
    eventually(Duration::from_secs(5), "A's idle limit gone", || {
        let seen = limits(REV_A);
        async move { seen == Some((secs(30), None)) }
    })
    .await;
}
