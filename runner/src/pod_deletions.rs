//! `kubectl delete pod`: watches this node's Pods, and when one of ours is deleted by
//! someone else, replaces its replica (it stops gracefully, leaving the endpoints
//! first, and the unchanged replica count starts another under a new Pod name), as a
//! ReplicaSet replaces a deleted Pod. A Pod collected with its Deployment replaces
//! nothing: the Deployment's deletion stops the replicas.

use std::collections::HashSet;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, ResourceExt};

use crate::pod_registry::PodRegistry;
use crate::supervisor::Supervisor;

/// Runs until dropped.
pub(crate) async fn watch(
    client: Client,
    supervisor: Supervisor,
    registry: PodRegistry,
    node: String,
) {
    let pods: Api<Pod> = Api::all(client.clone());
    let config = watcher::Config::default().fields(&format!("spec.nodeName={node}"));
    let mut events = watcher(pods, config).default_backoff().boxed();
    let mut relisted: Option<HashSet<(String, String)>> = None;
    while let Some(event) = events.next().await {
        match event {
            Ok(watcher::Event::Init) => relisted = Some(HashSet::new()),
            Ok(watcher::Event::InitApply(pod)) => {
                if let Some(seen) = &mut relisted {
                    seen.insert(key(&pod));
                }
            }
            Ok(watcher::Event::InitDone) => {
                // Deletions missed while the watch was down: a created Pod missing
                // from the list may only be newer than it, so ask.
                let seen = relisted.take().unwrap_or_default();
                for (namespace, name) in registry.created() {
                    if seen.contains(&(namespace.clone(), name.clone())) {
                        continue;
                    }
                    let api: Api<Pod> = Api::namespaced(client.clone(), &namespace);
                    if matches!(api.get_opt(&name).await, Ok(None)) {
                        deleted(&client, &supervisor, &registry, &namespace, &name).await;
                    }
                }
            }
            Ok(watcher::Event::Apply(_)) => {}
            Ok(watcher::Event::Delete(pod)) => {
                let (namespace, name) = key(&pod);
                deleted(&client, &supervisor, &registry, &namespace, &name).await;
            }
            Err(e) => tracing::warn!(error = %e, "pod watch failed; retrying"),
        }
    }
}

async fn deleted(
    client: &Client,
    supervisor: &Supervisor,
    registry: &PodRegistry,
    namespace: &str,
    name: &str,
) {
    // Our own deletions leave the registry first.
    let Some(entry) = registry.remove(namespace, name) else {
        return;
    };
    let deployment_name = entry.owner.split_once('/').map_or("", |(_, n)| n);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let owner_lives = match deployments.get_opt(deployment_name).await {
        Ok(Some(d)) => d.metadata.uid.as_deref() == Some(entry.owner_uid.as_str()),
        Ok(None) => false,
        // Unsure: replacing a replica of a Deployment being deleted costs one start.
        Err(_) => true,
    };
    if owner_lives && supervisor.replace(&entry.owner, entry.replica) {
        tracing::info!(namespace, pod = name, "pod deleted; replacing its replica");
    }
}

fn key(pod: &Pod) -> (String, String) {
    (pod.namespace().unwrap_or_default(), pod.name_any())
}
