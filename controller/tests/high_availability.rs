//! Two controllers against one embedded API server, each with its own elector on the
//! `fnmesh-controller` Lease, as two replicas would run: only the leader writes, the
//! follower's routing table is complete all the same, and when the leader stops the
//! follower takes over and acts. Nothing runs replicas: the test plays the runner by
//! writing each Deployment's `/status`.
//!
//! Each controller reaches the API through a proxy of its own that records every
//! request line and response status it carries, so the test sees exactly which replica
//! wrote what, and that no write was refused as a conflict.

mod common;
mod service_harness;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::{Cluster, eventually};
use controller::RoutingTable;
use controller::routing::ObjectKey;
use crds::{Revision, Service};
use kube::ResourceExt;
use kube::api::ListParams;
use leader_election::{ElectionConfig, LeaderElector};
use serde_json::json;
use service_harness::condition;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Short timings, so a takeover takes seconds of real time; the same rules as the
/// defaults (renew deadline < lease duration, retries well inside the deadline).
fn election(identity: &str) -> ElectionConfig {
    ElectionConfig {
        lease_duration: Duration::from_secs(3),
        renew_deadline: Duration::from_secs(2),
        retry_period: Duration::from_millis(400),
        ..ElectionConfig::new("knative-serving", "fnmesh-controller", identity)
    }
}

/// One controller replica: its elector, its reconcilers, its routing table and the
/// traffic it sent.
struct Replica {
    elector: Option<LeaderElector>,
    reconcilers: JoinHandle<()>,
    routing: Arc<RoutingTable>,
    traffic: Traffic,
}

impl Replica {
    async fn start(cluster: &Cluster, api: SocketAddr, identity: &str) -> Self {
        let elector = LeaderElector::spawn(cluster.client.clone(), election(identity)).unwrap();
        let (addr, traffic) = Traffic::proxy(api).await;
        let config = kube::Config::new(format!("http://{addr}").parse().unwrap());
        let client = kube::Client::try_from(config).unwrap();
        let routing = RoutingTable::new();
        let reconcilers = tokio::spawn(controller::run(
            client,
            routing.clone(),
            elector.leadership(),
        ));
        Self {
            elector: Some(elector),
            reconcilers,
            routing,
            traffic,
        }
    }

    fn leads(&self) -> bool {
        self.elector
            .as_ref()
            .is_some_and(|e| e.leadership().is_leader())
    }

    /// As a crash: the reconcilers and the elector stop, nothing is released.
    fn kill(&mut self) {
        self.reconcilers.abort();
        drop(self.elector.take());
    }

    fn routes(&self, service: &str) -> bool {
        let snapshot = self.routing.snapshot();
        snapshot
            .routes
            .contains_key(&ObjectKey::new("default", service))
            && snapshot
                .backends
                .contains_key(&ObjectKey::new("default", format!("{service}-00001")))
    }
}

/// Request lines (`PATCH /apis/...`) and response status codes one replica's
/// connections carried, in order.
#[derive(Clone, Default)]
struct Traffic(Arc<parking_lot::Mutex<(Vec<String>, Vec<u16>)>>);

impl Traffic {
    /// A loopback proxy to `upstream` that records what passes.
    async fn proxy(upstream: SocketAddr) -> (SocketAddr, Self) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let traffic = Self::default();
        let recorder = traffic.clone();
        tokio::spawn(async move {
            loop {
                let (inbound, _) = listener.accept().await.unwrap();
                let outbound = TcpStream::connect(upstream).await.unwrap();
                let (in_read, in_write) = inbound.into_split();
                let (out_read, out_write) = outbound.into_split();
                let (up, down) = (recorder.clone(), recorder.clone());
                tokio::spawn(pipe(in_read, out_write, move |line| up.request(line)));
                tokio::spawn(pipe(out_read, in_write, move |line| down.response(line)));
            }
        });
        (addr, traffic)
    }

    /// A request line, perhaps after the previous request's body (which ends without
    /// a line break).
    fn request(&self, line: &str) {
        let Some(head) = line.strip_suffix(" HTTP/1.1") else {
            return;
        };
        let start = ["GET /", "POST /", "PUT /", "PATCH /", "DELETE /"]
            .iter()
            .filter_map(|m| head.rfind(m))
            .max();
        if let Some(start) = start {
            self.0.lock().0.push(head[start..].to_owned());
        }
    }

    /// A status line, perhaps after the previous response's body.
    fn response(&self, line: &str) {
        if let Some(code) = line
            .rfind("HTTP/1.1 ")
            .and_then(|at| line.get(at + 9..at + 12))
            .and_then(|code| code.parse().ok())
        {
            self.0.lock().1.push(code);
        }
    }

    /// Requests that change something, from the `from`th on.
    fn writes(&self, from: usize) -> Vec<String> {
        self.0.lock().0[from..]
            .iter()
            .filter(|r| !r.starts_with("GET "))
            .cloned()
            .collect()
    }

    fn requests(&self) -> usize {
        self.0.lock().0.len()
    }

    fn statuses(&self) -> Vec<u16> {
        self.0.lock().1.clone()
    }
}

/// Copies `from` to `to`, handing every complete line to `line` (HTTP/1.1 heads are
/// lines; the JSON bodies between them hold no line breaks).
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    line: impl Fn(&str),
) {
    let mut buffer = [0u8; 16 * 1024];
    let mut pending: Vec<u8> = Vec::new();
    loop {
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        pending.extend_from_slice(&buffer[..n]);
        while let Some(end) = pending.windows(2).position(|w| w == b"\r\n") {
            line(&String::from_utf8_lossy(&pending[..end]));
            pending.drain(..end + 2);
        }
        // A long body: only its end can hold the start of the next head.
        if pending.len() > 8192 {
            pending.drain(..pending.len() - 4096);
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}

fn service(name: &str) -> serde_json::Value {
    json!({
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"template": {"spec": {"containers": [{
            "command": ["python3", "-m", "http.server"],
        }]}}},
    })
}

/// Plays the runner for the Service's first Revision and waits until it is Ready.
async fn ready(h: &Cluster, name: &str) {
    h.deployment_status(
        &format!("{name}-00001-deployment"),
        json!({"replicas": 1, "readyReplicas": 1}),
    )
    .await;
    eventually(&format!("{name} Ready"), || async {
        let s: Service = h.get(name).await?;
        let st = s.status?;
        (condition(st.conditions.as_ref(), "Ready")?.status == "True").then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_follower_computes_and_takes_over_without_double_writes() {
    let h = Cluster::start().await;
    let api = h.api_addr();
    let mut replicas = [
        Replica::start(&h, api, "controller-a").await,
        Replica::start(&h, api, "controller-b").await,
    ];
    let leader = eventually("a leader", || async {
        replicas.iter().position(Replica::leads)
    })
    .await;
    let follower = 1 - leader;

    h.apply_service(service("one")).await;
    ready(&h, "one").await;
    // The follower's table is complete: a gateway may follow either replica.
    eventually("both replicas route one", || async {
        replicas.iter().all(|r| r.routes("one")).then_some(())
    })
    .await;
    assert!(!replicas[follower].leads());
    assert_eq!(
        replicas[follower].traffic.writes(0),
        Vec::<String>::new(),
        "the follower wrote"
    );
    assert!(!replicas[leader].traffic.writes(0).is_empty());

    let killed_at = tokio::time::Instant::now();
    replicas[leader].kill();
    let from = replicas[follower].traffic.requests();
    // While nobody leads: the follower sees the Service and reconciles it, but its
    // writes are refused; it must make up for them once it leads.
    h.apply_service(service("two")).await;
    let looked = "GET /apis/serving.knative.dev/v1/namespaces/default/configurations/two";
    eventually("the follower reconciles two", || async {
        let requests = replicas[follower].traffic.0.lock().0.clone();
        requests.iter().any(|r| r.starts_with(looked)).then_some(())
    })
    .await;
    assert!(
        !replicas[follower].leads(),
        "took over too soon for the test"
    );
    assert_eq!(
        replicas[follower].traffic.writes(from),
        Vec::<String>::new()
    );
    eventually("the follower leads", || async {
        replicas[follower].leads().then_some(())
    })
    .await;
    // Within the lease duration of the last renewal it saw, plus scheduling slack.
    let took = killed_at.elapsed();
    assert!(took <= Duration::from_secs(5), "took over after {took:?}");

    // Nothing about two changed since: only the promotion's full reconcile makes its
    // Configuration, Revision and Deployment.
    let dead_before = replicas[leader].traffic.requests();
    ready(&h, "two").await;
    eventually("the new leader routes two", || async {
        replicas[follower].routes("two").then_some(())
    })
    .await;
    assert!(!replicas[follower].traffic.writes(from).is_empty());
    assert_eq!(
        replicas[leader].traffic.requests(),
        dead_before,
        "the stopped leader still talked to the API"
    );

    // Every Revision was created once, by one replica, and no write met a conflict.
    let creates: Vec<String> = replicas
        .iter()
        .flat_map(|r| r.traffic.writes(0))
        .filter(|w| w.starts_with("POST ") && w.contains("/revisions"))
        .collect();
    assert_eq!(creates.len(), 2, "revision creates: {creates:?}");
    let mut names: Vec<String> = h
        .api::<Revision>()
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .iter()
        .map(ResourceExt::name_any)
        .collect();
    names.sort();
    assert_eq!(names, ["one-00001", "two-00001"]);
    for r in &replicas {
        let statuses = r.traffic.statuses();
        assert!(!statuses.contains(&409), "a write conflicted: {statuses:?}");
    }
}
