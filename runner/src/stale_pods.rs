//! Pods left on this node by a runner that died (even by `kill -9`: its replicas died
//! with it) stand for processes that no longer run; they go at start, as the stale
//! EndpointSlices do, and this runner's own go when it stops.

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use kube::{Client, ResourceExt};

use crate::pod_registry::PodRegistry;
use crate::pod_worker;

/// Deletes every Pod bound to `node` that the registry does not hold; returns how
/// many were deleted.
pub(crate) async fn delete_unregistered(
    client: &Client,
    node: &str,
    registry: &PodRegistry,
) -> Result<usize, kube::Error> {
    let all: Api<Pod> = Api::all(client.clone());
    let params = ListParams::default().fields(&format!("spec.nodeName={node}"));
    let mut deleted = 0;
    for pod in all.list(&params).await? {
        let namespace = pod.namespace().unwrap_or_default();
        let name = pod.name_any();
        if registry.contains(&namespace, &name) {
            continue;
        }
        let api: Api<Pod> = Api::namespaced(client.clone(), &namespace);
        if pod_worker::delete(&api, &name).await {
            tracing::info!(namespace, pod = %name, "deleted a pod whose replica is gone");
            deleted += 1;
        }
    }
    Ok(deleted)
}
