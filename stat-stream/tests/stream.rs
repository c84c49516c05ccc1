//! Reporter → serve over real loopback gRPC. Every wait is for an event, with a
//! deadline; nothing sleeps.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use stat_stream::{
    CounterRegistry, QUEUE_CAPACITY, Reporter, RevisionStat, StatReport, StatSource, spawn_periodic,
};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout};

const DEADLINE: Duration = Duration::from_secs(10);

struct Server {
    addr: SocketAddr,
    reports: mpsc::Receiver<StatReport>,
    shutdown: oneshot::Sender<()>,
    served: JoinHandle<Result<(), tonic::transport::Error>>,
}

async fn start_server(addr: SocketAddr) -> Server {
    let listener = TcpListener::bind(addr).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (sink, reports) = mpsc::channel(256);
    let (shutdown, stop) = oneshot::channel::<()>();
    let served = tokio::spawn(stat_stream::serve(listener, sink, async {
        let _ = stop.await;
    }));
    Server {
        addr,
        reports,
        shutdown,
        served,
    }
}

async fn any_port() -> Server {
    start_server(SocketAddr::from(([127, 0, 0, 1], 0))).await
}

impl Server {
    async fn next(&mut self) -> StatReport {
        timeout(DEADLINE, self.reports.recv())
            .await
            .expect("no report before the deadline")
            .expect("the server's sink closed")
    }

    async fn stop(self) {
        self.shutdown.send(()).unwrap();
        timeout(DEADLINE, self.served)
            .await
            .expect("serve did not return after shutdown")
            .unwrap()
            .unwrap();
    }
}

/// A report whose one stat carries `seq` as its request count.
fn numbered(seq: u64) -> Vec<RevisionStat> {
    vec![RevisionStat {
        namespace: "ns".into(),
        revision: "rev-00001".into(),
        concurrency: 0.5,
        requests: seq,
    }]
}

fn seq(report: &StatReport) -> u64 {
    report.stats[0].requests
}

/// Sends numbered reports until one arrives at `server` (reports sent while the old
/// stream was dying may be lost: delivery is at most once), returning its number.
async fn send_until_received(reporter: &Reporter, server: &mut Server, first: u64) -> u64 {
    let deadline = Instant::now() + DEADLINE;
    for n in first.. {
        assert!(Instant::now() < deadline, "no report reached the server");
        reporter.send(numbered(n), false);
        if let Ok(report) = timeout(Duration::from_millis(200), server.reports.recv()).await {
            return seq(&report.unwrap());
        }
    }
    unreachable!()
}

#[tokio::test]
async fn reports_arrive_in_order() {
    let mut server = any_port().await;
    let (_target, target) = watch::channel(vec![server.addr]);
    let reporter = Reporter::spawn(target, "gateway-test".into(), StatSource::Ingress);
    for n in 0..20 {
        reporter.send(numbered(n), n == 3);
    }
    for n in 0..20 {
        let report = server.next().await;
        assert_eq!(report.reporter, "gateway-test");
        assert_eq!(report.source(), StatSource::Ingress);
        assert_eq!(report.cold, n == 3);
        assert_eq!(report.stats, numbered(n));
    }
    server.stop().await;
}

#[tokio::test]
async fn reporter_reconnects_after_the_server_restarts_on_the_same_port() {
    let mut first = any_port().await;
    let addr = first.addr;
    let (_target, target) = watch::channel(vec![addr]);
    let reporter = Reporter::spawn(target, "gateway-test".into(), StatSource::Activator);
    reporter.send(numbered(0), false);
    assert_eq!(seq(&first.next().await), 0);

    // `stop` returns only once serve has ended the open stream and returned.
    first.stop().await;
    let mut second = start_server(addr).await;
    let received = send_until_received(&reporter, &mut second, 1).await;
    // Later reports follow on the new stream, in order.
    reporter.send(numbered(1000), false);
    reporter.send(numbered(1001), false);
    let mut rest = Vec::new();
    while rest.last() != Some(&1001) {
        rest.push(seq(&second.next().await));
    }
    assert!(rest.ends_with(&[1000, 1001]), "after {received}: {rest:?}");
    second.stop().await;
}

#[tokio::test]
async fn reporter_follows_a_changed_address() {
    let mut a = any_port().await;
    let mut b = any_port().await;
    let (target_tx, target) = watch::channel(vec![a.addr]);
    let reporter = Reporter::spawn(target, "gateway-test".into(), StatSource::Ingress);
    reporter.send(numbered(0), false);
    assert_eq!(seq(&a.next().await), 0);
    target_tx.send_replace(vec![b.addr]);
    send_until_received(&reporter, &mut b, 1).await;
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn while_disconnected_only_the_latest_reports_are_kept() {
    let mut server = any_port().await;
    let (target_tx, target) = watch::channel(Vec::new());
    let reporter = Reporter::spawn(target, "gateway-test".into(), StatSource::Ingress);
    let sent = 100u64;
    for n in 0..sent {
        reporter.send(numbered(n), false);
    }
    target_tx.send_replace(vec![server.addr]);
    let kept = QUEUE_CAPACITY as u64;
    for n in sent - kept..sent {
        assert_eq!(seq(&server.next().await), n);
    }
    // Nothing else was queued: the next report is the next one sent.
    reporter.send(numbered(sent), false);
    assert_eq!(seq(&server.next().await), sent);
    server.stop().await;
}

#[tokio::test]
async fn periodic_reports_carry_the_counters() {
    let mut server = any_port().await;
    let (_target, target) = watch::channel(vec![server.addr]);
    let reporter = Reporter::spawn(target, "gateway-test".into(), StatSource::Ingress);
    let registry = Arc::new(CounterRegistry::default());
    let counter = registry.counter("ns", "busy");
    registry.sample_all(Instant::now());
    let guard = counter.begin(Instant::now());
    let ticker = spawn_periodic(Arc::clone(&registry), reporter, Duration::from_millis(20));

    // The first report sees the request begin; every later one sees it all period.
    let first = server.next().await;
    assert_eq!(first.stats.len(), 1, "{first:?}");
    assert_eq!(first.stats[0].requests, 1);
    let second = server.next().await;
    assert_eq!(second.stats[0].requests, 0);
    assert!(
        (second.stats[0].concurrency - 1.0).abs() < 1e-6,
        "{second:?}"
    );

    // Once the request ends, the reports go empty (the reporter is alive, all idle).
    drop(guard);
    loop {
        let report = server.next().await;
        if report.stats.is_empty() {
            break;
        }
    }
    ticker.abort();
    server.stop().await;
}

#[tokio::test]
async fn every_known_autoscaler_gets_every_report() {
    let mut a = any_port().await;
    let mut b = any_port().await;
    let (_targets, targets) = watch::channel(vec![a.addr, b.addr]);
    let reporter = Reporter::spawn(targets, "gateway-test".into(), StatSource::Ingress);
    for n in 0..5 {
        reporter.send(numbered(n), false);
    }
    for server in [&mut a, &mut b] {
        for n in 0..5 {
            assert_eq!(seq(&server.next().await), n);
        }
    }
    a.stop().await;
    b.stop().await;
}
