//! The in-flight counts the gateway keeps for the autoscaler, on both paths: a request
//! counts from its arrival until its response is complete, probes do not count, and
//! `report_stats` sends the counts over the stat stream.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use gateway::stat_stream::{self, CounterRegistry, RevisionStat, StatSource};
use gateway::{Protocol, RouteTable};
use http::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::time::{Instant, timeout};

use crate::support::*;

const DEADLINE: Duration = Duration::from_secs(10);
const REVISION: &str = "hello-00001";
const HOST: &str = "hello.default.example.com";

/// A function that tells `arrived` when it has a request head, then answers `200 ok`
/// only once the test releases one permit: a request held open for as long as the test
/// wants, with no timer involved.
struct HeldUpstream {
    addr: SocketAddr,
    arrived: mpsc::UnboundedReceiver<()>,
    release: Arc<Semaphore>,
}

impl HeldUpstream {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (arrivals, arrived) = mpsc::unbounded_channel();
        let release = Arc::new(Semaphore::new(0));
        let held = Arc::clone(&release);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(hold(stream, arrivals.clone(), Arc::clone(&held)));
            }
        });
        Self {
            addr,
            arrived,
            release,
        }
    }

    async fn wait_for_request(&mut self) {
        timeout(DEADLINE, self.arrived.recv())
            .await
            .expect("the function got the request")
            .unwrap();
    }
}

/// Serves bodiless requests on one connection, each held until a permit is released.
async fn hold(mut stream: TcpStream, arrivals: mpsc::UnboundedSender<()>, release: Arc<Semaphore>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            buf.drain(..end + 4);
            let _ = arrivals.send(());
            release.acquire().await.unwrap().forget();
            let reply = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
            if stream.write_all(reply).await.is_err() {
                return;
            }
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

fn table_to(upstream: SocketAddr) -> RouteTable {
    RouteTable::from_knative(
        DOMAIN,
        vec![knative_route("hello", &[(REVISION, 100, None)])],
        vec![revision(REVISION, Protocol::Http1, &[upstream])],
    )
    .unwrap()
}

/// The revision's stat for the period since the previous sample (zero when the
/// registry reports nothing for it).
fn sample(counters: &CounterRegistry) -> RevisionStat {
    let stats = counters.sample_all(Instant::now());
    assert!(stats.len() <= 1, "{stats:?}");
    stats.into_iter().next().unwrap_or_else(|| RevisionStat {
        namespace: "default".into(),
        revision: REVISION.into(),
        concurrency: 0.0,
        requests: 0,
    })
}

/// A sample over a period of non-zero length starting now.
fn sample_next_period(counters: &CounterRegistry) -> RevisionStat {
    counters.sample_all(Instant::now());
    let start = Instant::now();
    while Instant::now() == start {
        std::hint::spin_loop();
    }
    sample(counters)
}

/// Waits until the revision has had nothing in flight for a whole period: the
/// gateway drops a request's guard just after the client has the last byte.
async fn wait_until_idle(counters: &CounterRegistry) {
    let deadline = Instant::now() + DEADLINE;
    while sample_next_period(counters).concurrency != 0.0 {
        assert!(
            Instant::now() < deadline,
            "the request still counts as in flight"
        );
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn a_request_counts_as_in_flight_until_its_response_is_complete() {
    for path in Path::BOTH {
        let mut upstream = HeldUpstream::start().await;
        let gateway = RunningGateway::start_on(path, table_to(upstream.addr)).await;
        let counters = gateway.config.stat_counters();
        counters.sample_all(Instant::now());

        let client = tokio::spawn(send(gateway.addr, get(HOST, "/", &[])));
        upstream.wait_for_request().await;
        let arrived = sample(&counters);
        assert_eq!(arrived.requests, 1, "{path:?}");
        assert!(arrived.concurrency > 0.0, "{path:?}: {arrived:?}");
        // Held by the function for the whole of the next period: exactly one.
        let held = sample_next_period(&counters);
        assert_eq!(held.requests, 0, "{path:?}");
        assert!((held.concurrency - 1.0).abs() < 1e-9, "{path:?}: {held:?}");

        upstream.release.add_permits(1);
        let (status, body) = timeout(DEADLINE, client).await.unwrap().unwrap();
        assert_eq!((status, body.as_str()), (StatusCode::OK, "ok"), "{path:?}");
        wait_until_idle(&counters).await;
        assert_eq!(sample_next_period(&counters).requests, 0, "{path:?}");
        gateway.stop().await;
    }
}

#[tokio::test]
async fn every_request_counts_as_an_arrival() {
    for path in Path::BOTH {
        let gateway = RunningGateway::start_on(path, single_revision_table(REVISION).await).await;
        let counters = gateway.config.stat_counters();
        counters.sample_all(Instant::now());
        let mut connection = http1_connection(gateway.addr).await;
        for _ in 0..5 {
            let response = connection.send_request(get(HOST, "/", &[])).await.unwrap();
            assert_eq!(read_response(response).await.0, StatusCode::OK, "{path:?}");
        }
        // Arrivals count when the request is routed, before its response is sent.
        let stat = sample(&counters);
        assert_eq!(stat.requests, 5, "{path:?}");
        assert!(stat.concurrency > 0.0, "{path:?}: {stat:?}");
        gateway.stop().await;
    }
}

/// A client's `K-Network-Probe` (or any platform header) is stripped and the request
/// served by the function like any other, so it counts: the header cannot hide load
/// from the autoscaler.
#[tokio::test]
async fn a_client_sent_probe_header_is_counted_like_any_request() {
    for path in Path::BOTH {
        let gateway = RunningGateway::start_on(path, single_revision_table(REVISION).await).await;
        let counters = gateway.config.stat_counters();
        counters.sample_all(Instant::now());
        let mut connection = http1_connection(gateway.addr).await;
        for probe in ["K-Network-Probe", "k-network-probe", "K-NETWORK-PROBE"] {
            let request = get(HOST, "/", &[(probe, "queue")]);
            let response = connection.send_request(request).await.unwrap();
            assert_eq!(read_response(response).await.0, StatusCode::OK, "{path:?}");
        }
        let request = get(HOST, "/", &[("k-original-host", "x")]);
        let response = connection.send_request(request).await.unwrap();
        assert_eq!(read_response(response).await.0, StatusCode::OK, "{path:?}");
        assert_eq!(sample(&counters).requests, 4, "{path:?}");
        gateway.stop().await;
    }
}

#[tokio::test]
async fn a_revision_keeps_its_counter_across_table_pushes() {
    let mut upstream = HeldUpstream::start().await;
    let gateway = RunningGateway::start_on(Path::Fast, table_to(upstream.addr)).await;
    let counters = gateway.config.stat_counters();
    let client = tokio::spawn(send(gateway.addr, get(HOST, "/", &[])));
    upstream.wait_for_request().await;
    // The same table pushed again (as every xDS update does) keeps the request counted.
    gateway.config.store(table_to(upstream.addr));
    let held = sample_next_period(&counters);
    assert!((held.concurrency - 1.0).abs() < 1e-9, "{held:?}");
    // A table without the revision drops its counter from the reports.
    gateway.config.store(RouteTable::empty());
    assert!(counters.sample_all(Instant::now()).is_empty());
    upstream.release.add_permits(1);
    let _ = timeout(DEADLINE, client).await.unwrap().unwrap();
    gateway.stop().await;
}

#[tokio::test]
async fn report_stats_sends_the_counts_to_the_autoscaler() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let autoscaler = listener.local_addr().unwrap();
    let (sink, mut reports) = mpsc::channel(16);
    tokio::spawn(stat_stream::serve(listener, sink, std::future::pending()));

    let mut upstream = HeldUpstream::start().await;
    let gateway = RunningGateway::start_on(Path::Fast, table_to(upstream.addr)).await;
    let (_target, target) = watch::channel(vec![autoscaler]);
    let reporting = gateway::report_stats(&gateway.config, target, "gateway-test".into());
    let client = tokio::spawn(send(gateway.addr, get(HOST, "/", &[])));
    upstream.wait_for_request().await;

    // The first report (1 s in) or the next shows the request in flight.
    let deadline = Instant::now() + DEADLINE;
    let stat = loop {
        let report = timeout(deadline - Instant::now(), reports.recv())
            .await
            .expect("a report with the request in flight")
            .unwrap();
        assert_eq!(report.reporter, "gateway-test");
        assert_eq!(report.source(), StatSource::Ingress);
        assert!(!report.cold);
        if let Some(stat) = report.stats.into_iter().find(|s| s.concurrency > 0.0) {
            break stat;
        }
    };
    assert_eq!(
        (stat.namespace.as_str(), stat.revision.as_str()),
        ("default", REVISION)
    );
    assert!(stat.concurrency <= 1.0 + 1e-9, "{stat:?}");

    reporting.abort();
    upstream.release.add_permits(1);
    let _ = timeout(DEADLINE, client).await.unwrap().unwrap();
    gateway.stop().await;
}
