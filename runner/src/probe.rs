//! Readiness probing.
//!
//! Cold starts are the product's weak spot, so a replica that is ready should
//! be seen ready within about a millisecond. Until its first success a replica
//! is probed in a tight loop (a refused loopback connect costs microseconds),
//! backing off as it proves slow to start; once it has been ready it is probed
//! at the spec's period like kubelet does.
//!
//! The back-off is what bounds the cost of replicas that never become ready: a
//! flood at such a revision scales it to dozens of them (one per 70 waiting
//! requests), and at a fixed 10 ms each 87 of them cost the node ~4,000 connects a
//! second, enough to double other revisions' latency on two cores.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Empty;
use hyper::header::{HOST, HeaderName, HeaderValue, USER_AGENT};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::replica_spec::{ProbeAction, ReadinessProbe};

/// Probe interval before the first success, by time since the process start:
/// 1 ms for the first 250 ms (most functions are up by then), 5 ms until 1 s,
/// 25 ms until 10 s, 100 ms until 30 s, then 1 s (kubelet's shortest period).
/// A replica that starts in `t` is seen ready within `t / 10` at most, past the
/// first 250 ms, and one that never starts costs 1 probe a second after 30 s.
pub(crate) fn startup_interval(since_start: Duration) -> Duration {
    const SCHEDULE: [(Duration, Duration); 4] = [
        (Duration::from_millis(250), Duration::from_millis(1)),
        (Duration::from_secs(1), Duration::from_millis(5)),
        (Duration::from_secs(10), Duration::from_millis(25)),
        (Duration::from_secs(30), Duration::from_millis(100)),
    ];
    SCHEDULE
        .iter()
        .find(|(until, _)| since_start < *until)
        .map_or(Duration::from_secs(1), |(_, interval)| *interval)
}

/// Consecutive-result counting against the probe's thresholds.
#[derive(Debug, Default)]
pub(crate) struct ReadinessTracker {
    ready: bool,
    successes: u32,
    failures: u32,
}

impl ReadinessTracker {
    /// Records one probe result; returns the new readiness if it changed.
    pub(crate) fn observe(&mut self, success: bool, probe: &ReadinessProbe) -> Option<bool> {
        if success {
            self.successes = self.successes.saturating_add(1);
            self.failures = 0;
        } else {
            self.failures = self.failures.saturating_add(1);
            self.successes = 0;
        }
        let ready = if self.ready {
            self.failures < probe.failure_threshold
        } else {
            self.successes >= probe.success_threshold
        };
        (ready != self.ready).then(|| {
            self.ready = ready;
            ready
        })
    }
}

/// Probes forever, calling `on_change` on each readiness transition.
pub(crate) async fn watch_readiness(
    probe: &ReadinessProbe,
    replica_port: u16,
    mut on_change: impl FnMut(bool),
) -> Infallible {
    let started = Instant::now();
    let mut tracker = ReadinessTracker::default();
    let mut ever_ready = false;
    loop {
        let success = probe_once(probe, replica_port).await;
        if let Some(ready) = tracker.observe(success, probe) {
            ever_ready |= ready;
            on_change(ready);
        }
        let delay = if ever_ready {
            probe.period
        } else {
            startup_interval(started.elapsed())
        };
        tokio::time::sleep(delay).await;
    }
}

/// One probe, bounded by the probe's timeout.
pub(crate) async fn probe_once(probe: &ReadinessProbe, replica_port: u16) -> bool {
    let attempt = async {
        match &probe.action {
            ProbeAction::TcpSocket { port } => {
                TcpStream::connect(loopback(port.unwrap_or(replica_port)))
                    .await
                    .is_ok()
            }
            ProbeAction::HttpGet {
                path,
                port,
                headers,
            } => http_get(loopback(port.unwrap_or(replica_port)), path, headers).await,
        }
    };
    tokio::time::timeout(probe.timeout, attempt)
        .await
        .unwrap_or(false)
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// A plain `GET` (no platform probe headers: the function must not need
/// them); 200..=399 is a success, as for kubelet.
async fn http_get(addr: SocketAddr, path: &str, headers: &[(String, String)]) -> bool {
    let Ok(stream) = TcpStream::connect(addr).await else {
        return false;
    };
    let _ = stream.set_nodelay(true);
    let Ok((mut sender, connection)) =
        hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(stream)).await
    else {
        return false;
    };
    let mut request = hyper::Request::get(path)
        .header(HOST, addr.to_string())
        .header(USER_AGENT, "fnmesh-runner-probe")
        .body(Empty::new())
        .expect("a path validated by ReplicaSpec::validate is a valid URI");
    for (name, value) in headers {
        // Validated by ReplicaSpec::validate; a user Host header replaces ours.
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            request.headers_mut().insert(name, value);
        }
    }
    tokio::pin!(connection);
    tokio::select! {
        response = sender.send_request(request) => {
            response.is_ok_and(|r| (200..400).contains(&r.status().as_u16()))
        }
        _ = &mut connection => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(success_threshold: u32, failure_threshold: u32) -> ReadinessProbe {
        ReadinessProbe {
            success_threshold,
            failure_threshold,
            ..ReadinessProbe::default()
        }
    }

    #[test]
    fn startup_interval_backs_off_as_the_replica_proves_slow() {
        let at = |ms: u64| startup_interval(Duration::from_millis(ms));
        let ms = Duration::from_millis;
        assert_eq!(at(0), ms(1));
        assert_eq!(at(249), ms(1));
        assert_eq!(at(250), ms(5));
        assert_eq!(at(999), ms(5));
        assert_eq!(at(2_000), ms(25));
        assert_eq!(at(10_000), ms(100));
        assert_eq!(at(30_000), ms(1_000));
        assert_eq!(at(3_600_000), ms(1_000));
        // Past the first 250 ms, a replica is seen ready within a tenth of the time
        // it took to start.
        for t in (250..60_000).step_by(250) {
            assert!(at(t) * 10 <= ms(t), "at {t} ms: {:?}", at(t));
        }
    }

    #[test]
    fn tracker_applies_thresholds() {
        let p = probe(2, 3);
        let mut t = ReadinessTracker::default();
        assert_eq!(t.observe(true, &p), None);
        assert_eq!(t.observe(false, &p), None, "successes must be consecutive");
        assert_eq!(t.observe(true, &p), None);
        assert_eq!(t.observe(true, &p), Some(true));
        assert_eq!(t.observe(false, &p), None);
        assert_eq!(t.observe(false, &p), None);
        assert_eq!(t.observe(true, &p), None, "a success resets the failures");
        for _ in 0..2 {
            assert_eq!(t.observe(false, &p), None);
        }
        assert_eq!(t.observe(false, &p), Some(false));
        assert_eq!(t.observe(false, &p), None);
    }

    #[tokio::test]
    async fn tcp_probe_sees_a_listener() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(probe_once(&probe(1, 1), port).await);
        drop(listener);
        assert!(!probe_once(&probe(1, 1), port).await);
    }

    #[tokio::test]
    async fn a_late_listener_is_seen_within_milliseconds() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let mut ready_tx = Some(ready_tx);
        let probe = ReadinessProbe::default();
        let watcher = tokio::spawn(async move {
            watch_readiness(&probe, port, |ready| {
                if ready && let Some(tx) = ready_tx.take() {
                    let _ = tx.send(Instant::now());
                }
            })
            .await
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let _listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        let listening = Instant::now();
        let seen = ready_rx.await.unwrap();
        // About 1 ms by design; generous for a loaded 2-core CI box.
        assert!(
            seen - listening < Duration::from_millis(25),
            "{:?}",
            seen - listening
        );
        watcher.abort();
    }
}
