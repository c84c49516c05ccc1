//! What the election tests share: the embedded API server started in-process, a
//! loopback proxy in front of it that can be cut (so one candidate loses the API while
//! the other keeps it), and a monitor that records every leadership change of a set of
//! candidates and fails the moment two lead at once.
//!
//! On paused time, tokio advances the clock whenever the runtime has nothing to run,
//! including while a request waits for the API server's storage thread, which is not
//! the runtime's: a renewal would seem to take seconds. So the tests' clients hold the
//! clock still while a request waits for its response (as if the API answered at once)
//! — for at most [`HOLD`] of real time, so a request that hangs (a cut proxy) lets the
//! clock run again and its timeout fire.

#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{Request, Response};
use kube::client::Body;

use leader_election::{ElectionConfig, LeaderElector, Leadership};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;

pub(crate) const NAMESPACE: &str = "knative-serving";
pub(crate) const LEASE: &str = "fnmesh-test";

/// The embedded API server on a temporary directory.
pub(crate) struct Api {
    pub(crate) addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Api {
    pub(crate) async fn start() -> Self {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let dir = tempfile::tempdir().unwrap();
        let addr = apiserver::ApiServer::start_ephemeral(dir.path())
            .await
            .unwrap();
        Self { addr, _dir: dir }
    }

    pub(crate) fn client(&self) -> kube::Client {
        client_for(self.addr)
    }

    pub(crate) fn candidate(&self, identity: &str) -> LeaderElector {
        LeaderElector::spawn(self.client(), config(identity)).unwrap()
    }
}

/// A client of the API at `addr` whose requests hold the paused clock (see above).
pub(crate) fn client_for(addr: SocketAddr) -> kube::Client {
    let config = kube::Config::new(format!("http://{addr}").parse().unwrap());
    kube::Client::new(
        HoldClock(kube::Client::try_from(config).unwrap()),
        "default",
    )
}

/// The longest real time one request holds the clock.
pub(crate) const HOLD: Duration = Duration::from_secs(2);

#[derive(Clone)]
struct HoldClock(kube::Client);

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl tower_service::Service<Request<Body>> for HoldClock {
    type Response = Response<Body>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let client = self.0.clone();
        Box::pin(async move {
            // A running blocking task keeps a paused current-thread runtime from
            // advancing its clock; this one runs until the response (or HOLD) comes.
            let (done, held) = std::sync::mpsc::channel::<()>();
            tokio::task::spawn_blocking(move || {
                let _ = held.recv_timeout(HOLD);
            });
            let response = client.send(request).await;
            drop(done);
            response.map_err(BoxError::from)
        })
    }
}

/// client-go's default timings.
pub(crate) fn config(identity: &str) -> ElectionConfig {
    ElectionConfig::new(NAMESPACE, LEASE, identity)
}

/// A TCP proxy to the API; [`Proxy::cut`] drops every connection and leaves new ones
/// hanging unanswered, as an API behind a broken network would.
pub(crate) struct Proxy {
    pub(crate) addr: SocketAddr,
    cut: watch::Sender<bool>,
}

impl Proxy {
    pub(crate) async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (cut, cut_rx) = watch::channel(false);
        tokio::spawn(async move {
            let mut held = Vec::new();
            loop {
                let (mut inbound, _) = listener.accept().await.unwrap();
                if *cut_rx.borrow() {
                    held.push(inbound);
                    continue;
                }
                let mut cut_rx = cut_rx.clone();
                tokio::spawn(async move {
                    let mut outbound = TcpStream::connect(upstream).await.unwrap();
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        // Dropping both ends closes the connection.
                        _ = cut_rx.wait_for(|cut| *cut) => {}
                    }
                });
            }
        });
        Self { addr, cut }
    }

    pub(crate) fn client(&self) -> kube::Client {
        client_for(self.addr)
    }

    pub(crate) fn cut(&self) {
        let _ = self.cut.send(true);
    }
}

/// Every leadership change of the candidates it follows, in order, with the instant the
/// monitor saw it, and whether two ever led at once (checked at every change).
#[derive(Clone)]
pub(crate) struct Monitor {
    seen: watch::Receiver<Seen>,
    names: Arc<Vec<String>>,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct Seen {
    pub(crate) changes: Vec<(Instant, usize, bool)>,
    /// The leaders at a change where there were more than one.
    pub(crate) overlap: Option<Vec<String>>,
}

impl Monitor {
    pub(crate) fn follow(candidates: &[(&str, Leadership)]) -> Self {
        let names: Arc<Vec<String>> =
            Arc::new(candidates.iter().map(|(n, _)| (*n).to_owned()).collect());
        let (seen_tx, seen) = watch::channel(Seen::default());
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let states: Vec<Leadership> = candidates.iter().map(|(_, l)| l.clone()).collect();
        for (index, (_, leadership)) in candidates.iter().enumerate() {
            let (tx, mut leadership) = (tx.clone(), leadership.clone());
            tokio::spawn(async move {
                loop {
                    let leading = leadership.changed().await;
                    if tx.send((index, leading)).is_err() {
                        return;
                    }
                }
            });
        }
        let all = Arc::clone(&names);
        tokio::spawn(async move {
            while let Some((index, leading)) = rx.recv().await {
                let leaders: Vec<String> = states
                    .iter()
                    .zip(all.iter())
                    .filter(|(l, _)| l.is_leader())
                    .map(|(_, n)| n.clone())
                    .collect();
                seen_tx.send_modify(|seen| {
                    seen.changes.push((Instant::now(), index, leading));
                    if leaders.len() > 1 && seen.overlap.is_none() {
                        seen.overlap = Some(leaders);
                    }
                });
            }
        });
        Self { seen, names }
    }

    /// When candidate `name` became leader (`leading`) or stopped leading, at or after
    /// `since`; fails after `limit`, or at once if two ever led together.
    pub(crate) async fn when(
        &self,
        name: &str,
        leading: bool,
        since: Instant,
        limit: Duration,
    ) -> Instant {
        let index = self.names.iter().position(|n| n == name).unwrap();
        let find = |seen: &Seen| {
            seen.changes
                .iter()
                .find(|(at, i, l)| *at >= since && *i == index && *l == leading)
                .map(|(at, _, _)| *at)
        };
        let mut seen = self.seen.clone();
        let waited = tokio::time::timeout_at(
            since + limit,
            seen.wait_for(|s| s.overlap.is_some() || find(s).is_some()),
        )
        .await;
        self.assert_never_both();
        match waited {
            Ok(Ok(s)) => find(&s).unwrap(),
            _ => panic!(
                "{name} did not {} within {limit:?}; saw {:?}",
                if leading { "lead" } else { "stop leading" },
                self.changes()
            ),
        }
    }

    /// The first candidate to become leader at or after `since`, and when.
    pub(crate) async fn first_leader(&self, since: Instant, limit: Duration) -> (String, Instant) {
        let find = |seen: &Seen| {
            seen.changes
                .iter()
                .find(|(at, _, l)| *at >= since && *l)
                .map(|(at, i, _)| (self.names[*i].clone(), *at))
        };
        let mut seen = self.seen.clone();
        let waited = tokio::time::timeout_at(
            since + limit,
            seen.wait_for(|s| s.overlap.is_some() || find(s).is_some()),
        )
        .await;
        self.assert_never_both();
        match waited {
            Ok(Ok(s)) => find(&s).unwrap(),
            _ => panic!("nobody led within {limit:?}"),
        }
    }

    pub(crate) fn assert_never_both(&self) {
        let overlap = self.seen.borrow().overlap.clone();
        assert!(
            overlap.is_none(),
            "two led at once: {overlap:?}; saw {:?}",
            self.changes()
        );
    }

    /// `(name, leading)` in the order seen.
    pub(crate) fn changes(&self) -> Vec<(String, bool)> {
        self.seen
            .borrow()
            .changes
            .iter()
            .map(|(_, i, l)| (self.names[*i].clone(), *l))
            .collect()
    }
}
