//! A component's own EndpointSlice, for when no Kubernetes writes one for it.

use std::net::{IpAddr, SocketAddr};

use anyhow::Context as _;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::address::advertised_ip;

/// What one component instance publishes: the slice `name` in `namespace`, labelled as
/// an endpoint of `service` with the port `port_name`.
#[derive(Debug, Clone)]
pub struct Publication {
    pub namespace: String,
    pub service: String,
    pub port_name: String,
    /// The slice's name: unique per instance, and stable across restarts of the same
    /// instance so a restart after a crash replaces what the crashed run left.
    pub name: String,
    /// The component, as `endpointslice.kubernetes.io/managed-by` names the writer
    /// (`fnmesh-<component>`); it is also the server-side-apply field manager.
    pub managed_by: String,
    /// Published instead of an unspecified listener address (see [`advertised_ip`]).
    pub advertise_ip: Option<IpAddr>,
    /// The host the instance runs on, as the slice's [`HOST_LABEL`]: what tells
    /// [`crate::prune_dead`] which slices it can check.
    pub host: String,
}

/// The host a published instance runs on.
pub const HOST_LABEL: &str = "fnmesh.dev/host";

/// Whether this process runs in a Kubernetes pod, where the Services' EndpointSlices
/// are Kubernetes' to write.
pub fn in_cluster() -> bool {
    std::env::var_os("KUBERNETES_SERVICE_HOST").is_some_and(|v| !v.is_empty())
}

/// Creates or replaces the slice naming `listening` (after making sure the namespace
/// exists).
pub async fn publish(
    client: &kube::Client,
    publication: &Publication,
    listening: SocketAddr,
) -> anyhow::Result<()> {
    ensure_namespace(client, &publication.namespace).await?;
    let ip = advertised_ip(listening.ip(), publication.advertise_ip);
    let slice = json!({
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": publication.name,
            "namespace": publication.namespace,
            "labels": {
                "kubernetes.io/service-name": publication.service,
                "endpointslice.kubernetes.io/managed-by": publication.managed_by,
                HOST_LABEL: publication.host,
            },
        },
        "addressType": if ip.is_ipv4() { "IPv4" } else { "IPv6" },
        "endpoints": [{
            "addresses": [ip.to_string()],
            "conditions": {"ready": true, "serving": true, "terminating": false},
        }],
        "ports": [{"name": publication.port_name, "port": listening.port(), "protocol": "TCP"}],
    });
    // Server-side apply: creates it, or replaces what a previous run of the same
    // instance left behind.
    slices(client, publication)
        .patch(
            &publication.name,
            &PatchParams::apply(&publication.managed_by).force(),
            &Patch::Apply(&slice),
        )
        .await
        .with_context(|| {
            format!(
                "publishing EndpointSlice {}/{}",
                publication.namespace, publication.name
            )
        })?;
    Ok(())
}

/// Deletes the slice, so nothing is sent to an instance that is going away.
pub async fn withdraw(client: &kube::Client, publication: &Publication) {
    match slices(client, publication)
        .delete(&publication.name, &DeleteParams::default())
        .await
    {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 404 => {}
        Err(error) => tracing::warn!(
            %error,
            slice = %publication.name,
            "could not withdraw the EndpointSlice"
        ),
    }
}

pub(crate) fn slices(client: &kube::Client, publication: &Publication) -> Api<EndpointSlice> {
    Api::namespaced(client.clone(), &publication.namespace)
}

async fn ensure_namespace(client: &kube::Client, name: &str) -> anyhow::Result<()> {
    let namespace: Namespace = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name},
    }))?;
    match Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &namespace)
        .await
    {
        Ok(_) => Ok(()),
        // 403: a cluster's RBAC may not let a component create namespaces; it exists.
        Err(kube::Error::Api(status)) if status.code == 409 || status.code == 403 => Ok(()),
        Err(error) => Err(error).with_context(|| format!("creating namespace {name}")),
    }
}
