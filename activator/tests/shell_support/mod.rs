//! Shared by the activator's shell tests: an embedded API server, the activator
//! running against it, a loopback upstream standing in for a replica, and a client
//! that talks to the activator as the gateway does.

#![allow(dead_code, unreachable_pub)]

mod upstream;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use activator::{ActivatorConfig, ColdSignal};
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
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

pub use upstream::Upstream;

/// Generous for a loaded 2-core machine; the common case is milliseconds.
pub const WITHIN: Duration = Duration::from_secs(20);
pub const HOST: &str = "hello.default.example.com";

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
                    "kubernetes.io/service-name": format!("{revision}-deployment"),
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
    /// `(namespace, revision, waiting)` per cold signal.
    pub cold: mpsc::UnboundedReceiver<(String, String, usize)>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Activator {
    pub async fn start(cluster: &Cluster, config: ActivatorConfig) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (cold_tx, cold) = mpsc::unbounded_channel();
        let signal = ColdSignal::new(move |namespace, revision, waiting| {
            let _ = cold_tx.send((namespace.to_owned(), revision.to_owned(), waiting));
        });
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(activator::run(
            cluster.client.clone(),
            listener,
            config,
            signal,
            async {
                let _ = stopped.await;
            },
        ));
        Self {
            addr,
            cold,
            stop,
            task,
        }
    }

    pub async fn stop(self) {
        let _ = self.stop.send(());
        within("the activator to stop", self.task)
            .await
            .unwrap()
            .unwrap();
    }

    /// The next cold signal.
    pub async fn next_cold(&mut self) -> (String, String, usize) {
        within("a cold signal", self.cold.recv()).await.unwrap()
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

/// Polls `check` until it returns `Some`, panicking with `what` after [`WITHIN`]. For
/// state only the API can tell; events the test can subscribe to use channels.
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
