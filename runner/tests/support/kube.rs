//! Helpers for the runner's Kubernetes tests: an embedded API server, a
//! runner task against it, Deployments built from JSON, and polling waits.

#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::Client;
use kube::api::{Api, ListParams, PostParams};
use runner::Supervisor;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const WITHIN: Duration = Duration::from_secs(20);

/// An embedded API server (its data dir lives as long as this).
pub struct Cluster {
    pub client: Client,
    _dir: tempfile::TempDir,
}

pub async fn cluster() -> Cluster {
    let dir = tempfile::tempdir().unwrap();
    let addr = apiserver::ApiServer::start_ephemeral(dir.path())
        .await
        .unwrap();
    let config = kube::Config::new(format!("http://{addr}").parse().unwrap());
    Cluster {
        client: Client::try_from(config).unwrap(),
        _dir: dir,
    }
}

/// A runner task; `stop` shuts it down gracefully, dropping `task` does not.
pub struct Runner {
    pub supervisor: Supervisor,
    pub task: JoinHandle<()>,
    stop: oneshot::Sender<()>,
    /// The replicas' container logs.
    pub logs: tempfile::TempDir,
}

pub fn start_runner(client: &Client) -> Runner {
    let logs = tempfile::tempdir().unwrap();
    let supervisor = Supervisor::new(logs.path()).unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(runner::run(client.clone(), supervisor.clone(), async {
        let _ = stopped.await;
    }));
    Runner {
        supervisor,
        task,
        stop,
        logs,
    }
}

impl Runner {
    pub async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(WITHIN, self.task)
            .await
            .unwrap()
            .unwrap();
    }
}

/// A Deployment `name` in `default` whose only container is `container`.
pub fn deployment(name: &str, replicas: i32, container: serde_json::Value) -> Deployment {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name, "serving.knative.dev/revision": name}},
                "spec": {"containers": [container], "terminationGracePeriodSeconds": 5},
            },
        },
    }))
    .unwrap()
}

/// Creates `d` and a Service of the same name selecting its pods, so its ready
/// replicas get EndpointSlices.
pub async fn create(client: &Client, d: &Deployment) -> Deployment {
    create_service(client, &service_for(d)).await;
    create_deployment(client, d).await
}

/// Creates `d` alone: no Service selects its pods.
pub async fn create_deployment(client: &Client, d: &Deployment) -> Deployment {
    let api: Api<Deployment> = Api::default_namespaced(client.clone());
    api.create(&PostParams::default(), d).await.unwrap()
}

/// A Service named like `d`, selecting its `app` label, port `http` targeting the
/// container's port, with a label of its own for the slices to copy.
pub fn service_for(d: &Deployment) -> Service {
    let name = d.metadata.name.clone().unwrap_or_default();
    let target = d
        .spec
        .template
        .spec
        .as_ref()
        .and_then(|p| p.containers.first())
        .and_then(|c| c.ports.as_ref())
        .and_then(|p| p.first())
        .map_or(8080, |p| p.container_port);
    serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "labels": {"copied": "yes"}},
        "spec": {
            "selector": {"app": name},
            "ports": [{"name": "http", "port": 80, "targetPort": target}],
        },
    }))
    .unwrap()
}

pub async fn create_service(client: &Client, s: &Service) -> Service {
    let api: Api<Service> = Api::default_namespaced(client.clone());
    api.create(&PostParams::default(), s).await.unwrap()
}

/// Polls `check` until it returns `Some`, panicking with `what` after `WITHIN`.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + WITHIN;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub async fn get_deployment(client: &Client, name: &str) -> Deployment {
    let api: Api<Deployment> = Api::default_namespaced(client.clone());
    api.get(name).await.unwrap()
}

/// The slices of Service `name` (the one [`create`] makes for Deployment `name`),
/// sorted by name.
pub async fn slices(client: &Client, name: &str) -> Vec<EndpointSlice> {
    let api: Api<EndpointSlice> = Api::default_namespaced(client.clone());
    let params = ListParams::default().labels(&format!("kubernetes.io/service-name={name}"));
    let mut list = api.list(&params).await.unwrap().items;
    list.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    list
}

/// The ports of `slices`.
pub fn ports(slices: &[EndpointSlice]) -> Vec<u16> {
    slices
        .iter()
        .map(|s| u16::try_from(s.ports.as_ref().unwrap()[0].port.unwrap()).unwrap())
        .collect()
}

/// `readyReplicas` (0 when unset) and the slice count, once the status has
/// observed the current generation.
pub async fn ready_and_slices(client: &Client, name: &str) -> Option<(i32, usize)> {
    let d = get_deployment(client, name).await;
    let status = d.status?;
    if status.observed_generation != d.metadata.generation {
        return None;
    }
    Some((
        status.ready_replicas.unwrap_or(0),
        slices(client, name).await.len(),
    ))
}

/// The condition `type_` as (status, reason, message).
pub fn condition(d: &Deployment, type_: &str) -> Option<(String, String, String)> {
    let c = d
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_.as_deref() == Some(type_))?;
    Some((
        c.status.clone().unwrap_or_default(),
        c.reason.clone().unwrap_or_default(),
        c.message.clone().unwrap_or_default(),
    ))
}

/// `GET path` on a loopback port over HTTP/1.0; `None` if the replica is
/// gone (a slice may be read just before its replica stops).
pub async fn try_get(port: u16, path: &str) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .ok()?;
    let request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await.ok()?;
    Some(response.split_once("\r\n\r\n")?.1.to_owned())
}
