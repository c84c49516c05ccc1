//! Shared by the activator's shell tests: an embedded API server, the activator
//! running against it and reporting to a loopback stat stream, a loopback upstream
//! standing in for a replica, and a client that talks to the activator as the gateway
//! does.

#![allow(dead_code, unreachable_pub, unused_imports)]

mod killable;
mod upstream;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use activator::ActivatorConfig;
use bytes::Bytes;
use crds::Revision;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;
use stat_stream::StatReport;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

pub use killable::{KillableReplica, Killed};
pub use upstream::Upstream;

/// Generous for a loaded 2-core machine; the common case is milliseconds.
pub const WITHIN: Duration = Duration::from_secs(20);
pub const HOST: &str = "hello.default.example.com";

/// The activator's configuration with `instance` as its name, Knative's defaults
/// otherwise.
pub fn config(instance: &str) -> ActivatorConfig {
    ActivatorConfig {
        instance: instance.to_owned(),
        ..ActivatorConfig::default()
    }
}

/// An embedded API server on a temporary directory.
pub struct Cluster {
    pub client: kube::Client,
    _dir: tempfile::TempDir,
}

impl Cluster {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let addr = apiserver::ApiServer::start_ephemeral(dir.path())
            .await
            .unwrap();
        let config = kube::Config::new(format!("http://{addr}").parse().unwrap());
        Self {
            client: kube::Client::try_from(config).unwrap(),
            _dir: dir,
        }
    }

    /// Creates Revision `name` in `default` with `spec` merged over a minimal one.
    pub async fn revision(&self, name: &str, spec: serde_json::Value) -> Revision {
        let mut full = json!({
            "containers": [{
                "image": "example.com/hello",
                "command": ["hello"],
                "ports": [{"name": "http1", "containerPort": 8080}],
            }],
        });
        merge(&mut full, spec);
        let revision: Revision = serde_json::from_value(json!({
            "apiVersion": "serving.knative.dev/v1",
            "kind": "Revision",
            "metadata": {"name": name, "namespace": "default"},
            "spec": full,
        }))
        .unwrap();
        Api::<Revision>::namespaced(self.client.clone(), "default")
            .create(&PostParams::default(), &revision)
            .await
            .unwrap()
    }

    /// Publishes a replica of `revision` at `addr`, as the runner does (one slice per
    /// replica, its own port).
    pub async fn publish_replica(&self, revision: &str, addr: SocketAddr, port_name: &str) {
        let slice: EndpointSlice = serde_json::from_value(json!({
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": format!("{revision}-deployment-{}", addr.port()),
                "namespace": "default",
                "labels": {
                    "serving.knative.dev/revision": revision,
                    "kubernetes.io/service-name": revision,
                    "endpointslice.kubernetes.io/managed-by": "runner.fnmesh.dev",
                },
            },
            "addressType": "IPv4",
            "endpoints": [{
                "addresses": [addr.ip().to_string()],
                "conditions": {"ready": true, "serving": true, "terminating": false},
            }],
            "ports": [{"name": port_name, "port": addr.port(), "protocol": "TCP"}],
        }))
        .unwrap();
        Api::<EndpointSlice>::namespaced(self.client.clone(), "default")
            .create(&PostParams::default(), &slice)
            .await
            .unwrap();
    }

    /// Writes condition `type_` = False on the Revision's `/status`, as the controller
    /// does when the runner reports a crash.
    pub async fn fail_revision(&self, name: &str, type_: &str, reason: &str, message: &str) {
        let patch = json!({"status": {"conditions": [{
            "type": type_, "status": "False", "reason": reason, "message": message,
        }]}});
        Api::<Revision>::namespaced(self.client.clone(), "default")
            .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
    }
}

/// The activator running against a cluster; `stop` shuts it down and waits.
pub struct Activator {
    pub addr: SocketAddr,
    /// `(namespace, revision, waiting)` per cold report.
    pub cold: mpsc::UnboundedReceiver<(String, String, usize)>,
    /// The periodic reports, in the order they arrived.
    pub periodic: mpsc::UnboundedReceiver<StatReport>,
    /// Where the activator exports its metrics.
    pub metrics: prometheus::Registry,
    stop: oneshot::Sender<()>,
    task: JoinHandle<anyhow::Result<()>>,
    _stats_server: AbortOnDrop,
}

impl Activator {
    /// Starts the activator with `config`, reporting to a stat stream the harness
    /// serves on loopback (whatever `config.autoscaler` said).
    pub async fn start(cluster: &Cluster, mut config: ActivatorConfig) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stats_addr, cold, periodic, stats_server) = serve_stats().await;
        config.autoscaler = watch::channel(vec![stats_addr]).1;
        let metrics = prometheus::Registry::new();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(activator::run(
            cluster.client.clone(),
            listener,
            config,
            metrics.clone(),
            async {
                let _ = stopped.await;
            },
        ));
        Self {
            addr,
            cold,
            periodic,
            metrics,
            stop,
            task,
            _stats_server: stats_server,
        }
    }

    pub async fn stop(self) {
        let _ = self.stop.send(());
        within("the activator to stop", self.task)
            .await
            .unwrap()
            .unwrap();
    }

    /// The next cold report.
    pub async fn next_cold(&mut self) -> (String, String, usize) {
        within("a cold report", self.cold.recv()).await.unwrap()
    }

    /// The next periodic report.
    pub async fn next_periodic(&mut self) -> StatReport {
        within("a periodic report", self.periodic.recv())
            .await
            .unwrap()
    }

    /// The current value of a sample of `family` for `default`/`revision` (a gauge's or
    /// counter's value, a histogram's observation count), `None` without one.
    /// `extra` adds label pairs the sample must have.
    pub fn metric(&self, family: &str, revision: &str, extra: &[(&str, &str)]) -> Option<f64> {
        let wanted: Vec<(&str, &str)> = [("namespace", "default"), ("revision", revision)]
            .into_iter()
            .chain(extra.iter().copied())
            .collect();
        let families = self.metrics.gather();
        let family = families.iter().find(|f| f.name() == family)?;
        let sample = family.get_metric().iter().find(|m| {
            wanted.iter().all(|(name, value)| {
                m.get_label()
                    .iter()
                    .any(|l| l.name() == *name && l.value() == *value)
            })
        })?;
        #[allow(clippy::cast_precision_loss)]
        let value = match family.get_field_type() {
            prometheus::proto::MetricType::GAUGE => sample.get_gauge().get_value(),
            prometheus::proto::MetricType::COUNTER => sample.get_counter().get_value(),
            prometheus::proto::MetricType::HISTOGRAM => {
                sample.get_histogram().get_sample_count() as f64
            }
            other => panic!("unexpected metric type {other:?}"),
        };
        Some(value)
    }

    /// A GET for `revision` in `default` with the gateway's headers.
    pub fn get(&self, revision: &str, path: &str) -> impl Future<Output = Reply> + 'static {
        let request = Request::get(format!("http://{}{path}", self.addr))
            .header("host", HOST)
            .header("knative-serving-namespace", "default")
            .header("knative-serving-revision", revision)
            .body(Full::new(Bytes::new()))
            .unwrap();
        send(request)
    }

    /// A GET for `revision` in `default`, returned once its head arrives.
    pub fn get_head(
        &self,
        revision: &str,
    ) -> impl Future<Output = http::Response<hyper::body::Incoming>> + 'static {
        let request = Request::get(format!("http://{}/", self.addr))
            .header("host", HOST)
            .header("knative-serving-namespace", "default")
            .header("knative-serving-revision", revision)
            .body(Full::new(Bytes::new()))
            .unwrap();
        let client: Client<HttpConnector, Full<Bytes>> =
            Client::builder(TokioExecutor::new()).build_http();
        async move { client.request(request).await.unwrap() }
    }

    /// Any request, to the activator.
    pub fn send(&self, mut request: Request<Full<Bytes>>) -> impl Future<Output = Reply> + 'static {
        let target = format!(
            "http://{}{}",
            self.addr,
            request.uri().path_and_query().unwrap()
        );
        *request.uri_mut() = target.parse().unwrap();
        send(request)
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

fn send(request: Request<Full<Bytes>>) -> impl Future<Output = Reply> + 'static {
    // A client per request: the tests want concurrent connections, not a shared pool.
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    async move {
        let response = client.request(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        Reply {
            status: parts.status,
            headers: parts.headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }
}

/// `future`, or a panic naming `what` after [`WITHIN`].
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(WITHIN, future).await {
        Ok(v) => v,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

/// Polls `check` until it returns `Some`, panicking with `what` after [`WITHIN`]. Only
/// for state that announces no change (a Prometheus gauge read at scrape time); objects
/// in the API are awaited through a watch, reports through channels.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    within(what, async {
        loop {
            if let Some(v) = check().await {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
}

/// A stat stream server on loopback, as the autoscaler runs it: its address, and the
/// reports received split into cold `(namespace, revision, waiting)` and periodic ones.
/// The splitting task keeps up with the server, so no report is dropped for a slow test.
async fn serve_stats() -> (
    SocketAddr,
    mpsc::UnboundedReceiver<(String, String, usize)>,
    mpsc::UnboundedReceiver<StatReport>,
    AbortOnDrop,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (sink, mut received) = mpsc::channel(1024);
    let (cold_tx, cold) = mpsc::unbounded_channel();
    let (periodic_tx, periodic) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        let serving = stat_stream::serve(listener, sink, std::future::pending());
        let splitting = async {
            while let Some(report) = received.recv().await {
                if !report.cold {
                    let _ = periodic_tx.send(report);
                    continue;
                }
                for stat in report.stats {
                    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                    let waiting = stat.concurrency as usize;
                    let _ = cold_tx.send((stat.namespace, stat.revision, waiting));
                }
            }
        };
        tokio::join!(serving, splitting).0.unwrap();
    });
    (addr, cold, periodic, AbortOnDrop(task))
}

/// Stops a background task when the test is done with it.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn merge(base: &mut serde_json::Value, over: serde_json::Value) {
    match (base, over) {
        (serde_json::Value::Object(base), serde_json::Value::Object(over)) => {
            for (k, v) in over {
                merge(base.entry(k).or_insert(serde_json::Value::Null), v);
            }
        }
        (base, over) => *base = over,
    }
}
