//! The runner's Pods against the embedded API server with real processes: a Pod per
//! replica with the template's labels and the replica's status, gone at scale-down,
//! replaced (with its replica) when deleted, and the Node they are bound to.

#[path = "support/fixture.rs"]
mod fixture;
#[path = "support/kube.rs"]
mod kube_support;

use fixture::{fixture_script, pids_in};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube_support::{cluster, create, deployment, eventually, start_runner};
use serde_json::json;

fn container(pid_dir: &std::path::Path) -> serde_json::Value {
    json!({
        "name": "user-container",
        "image": "fixture",
        "command": ["python3", fixture_script().display().to_string()],
        "env": [{"name": "FIXTURE_PID_DIR", "value": pid_dir.display().to_string()}],
        "readinessProbe": {"httpGet": {"path": "/", "port": 0}, "periodSeconds": 1},
    })
}

/// The Pods of Deployment `name`, sorted by name.
async fn pods(client: &kube::Client, name: &str) -> Vec<Pod> {
    let api: Api<Pod> = Api::default_namespaced(client.clone());
    let mut list = api
        .list(&ListParams::default().labels(&format!("app={name}")))
        .await
        .unwrap()
        .items;
    list.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    list
}

fn is_ready(pod: &Pod) -> bool {
    let status = pod.status.as_ref();
    status.and_then(|s| s.phase.as_deref()) == Some("Running")
        && status
            .and_then(|s| s.conditions.as_ref())
            .into_iter()
            .flatten()
            .any(|c| c.type_ == "Ready" && c.status == "True")
}

async fn ready_pods(client: &kube::Client, name: &str, n: usize) -> Vec<Pod> {
    eventually(&format!("{n} ready pods of {name}"), || async {
        let list = pods(client, name).await;
        (list.len() == n && list.iter().all(is_ready)).then_some(list)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_per_replica_replaced_when_deleted_and_gone_at_scale_down() {
    let c = cluster().await;
    let pid_dir = tempfile::tempdir().unwrap();
    let runner = start_runner(&c.client);
    let d = create(&c.client, &deployment("web", 1, container(pid_dir.path()))).await;

    let first = ready_pods(&c.client, "web", 1).await.remove(0);
    let name = first.metadata.name.clone().unwrap();
    let labels = first.metadata.labels.clone().unwrap();
    assert_eq!(labels["serving.knative.dev/revision"], "web");
    assert!(
        name.starts_with(&format!("web-{}-", labels["pod-template-hash"])),
        "{name}"
    );
    let owner = &first.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.uid.as_str()),
        ("Deployment", d.metadata.uid.as_deref().unwrap())
    );
    let node_name = first.spec.as_ref().unwrap().node_name.clone().unwrap();
    let nodes: Api<Node> = Api::all(c.client.clone());
    let node = nodes.get(&node_name).await.unwrap();
    let port = node
        .status
        .as_ref()
        .unwrap()
        .daemon_endpoints
        .as_ref()
        .unwrap()
        .kubelet_endpoint
        .as_ref()
        .unwrap()
        .port;
    assert!(port > 0);
    let status = first.status.as_ref().unwrap();
    let container = &status.container_statuses.as_ref().unwrap()[0];
    assert_eq!(
        (
            container.name.as_str(),
            container.ready,
            container.restart_count
        ),
        ("user-container", true, 0)
    );
    assert_eq!(pids_in(pid_dir.path()).len(), 1);

    // Deleted by someone else: a new replica under a new name; the count stays.
    let api: Api<Pod> = Api::default_namespaced(c.client.clone());
    api.delete(&name, &DeleteParams::default()).await.unwrap();
    let replaced = eventually("a replacement pod", || async {
        let list = pods(&c.client, "web").await;
        match list.as_slice() {
            [p] if p.metadata.name.as_deref() != Some(name.as_str()) && is_ready(p) => {
                Some(p.clone())
            }
            _ => None,
        }
    })
    .await;
    assert_eq!(pids_in(pid_dir.path()).len(), 2, "a second process started");
    let deployments: Api<Deployment> = Api::default_namespaced(c.client.clone());
    assert_eq!(deployments.get("web").await.unwrap().spec.replicas, Some(1));

    // Scaled: a Pod per replica, and back.
    let scale = |n: i32| {
        let deployments = deployments.clone();
        async move {
            deployments
                .patch_scale(
                    "web",
                    &PatchParams::default(),
                    &Patch::Merge(json!({"spec": {"replicas": n}})),
                )
                .await
                .unwrap();
        }
    };
    scale(2).await;
    ready_pods(&c.client, "web", 2).await;
    scale(0).await;
    eventually("no pods at zero", || async {
        pods(&c.client, "web").await.is_empty().then_some(())
    })
    .await;
    assert!(replaced.metadata.name.is_some());

    // A clean stop leaves no Pods and a Node that reads as stopped.
    scale(1).await;
    ready_pods(&c.client, "web", 1).await;
    runner.stop().await;
    assert!(pods(&c.client, "web").await.is_empty());
    let node = nodes.get(&node_name).await.unwrap();
    let ready = node
        .status
        .unwrap()
        .conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_ == "Ready")
        .unwrap();
    assert_eq!(ready.status, "Unknown");
}
