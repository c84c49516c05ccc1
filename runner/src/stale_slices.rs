//! Startup cleanup: EndpointSlices left by a runner that died (even by
//! `kill -9`: its replicas died with it) point at ports nobody serves. The runner's
//! slices are the ones labelled `endpointslice.kubernetes.io/managed-by:
//! runner.fnmesh.dev`, whatever Service they are for.

use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, ListParams};
use kube::{Client, ResourceExt};

use crate::deployment_worker::delete_slice;
use crate::endpoint_slices::{self, MANAGED_BY, RUNNER};
use crate::supervisor::Supervisor;

/// Deletes every runner-managed slice that is not for a ready replica of
/// `supervisor`; returns how many were deleted.
pub(crate) async fn delete_stale(
    client: &Client,
    supervisor: &Supervisor,
) -> Result<usize, kube::Error> {
    delete_where(client, |slice| !is_live(slice, supervisor)).await
}

/// Deletes every runner-managed slice: on shutdown, before the replicas
/// stop, so routing moves away from them while they drain.
pub(crate) async fn delete_all(client: &Client) -> Result<usize, kube::Error> {
    delete_where(client, |_| true).await
}

async fn delete_where(
    client: &Client,
    doomed: impl Fn(&EndpointSlice) -> bool,
) -> Result<usize, kube::Error> {
    let all: Api<EndpointSlice> = Api::all(client.clone());
    let params = ListParams::default().labels(&format!("{MANAGED_BY}={RUNNER}"));
    let mut deleted = 0;
    for slice in all.list(&params).await? {
        if !doomed(&slice) {
            continue;
        }
        let namespace = slice.namespace().unwrap_or_default();
        let api: Api<EndpointSlice> = Api::namespaced(client.clone(), &namespace);
        delete_slice(&api, &slice.name_any()).await.1?;
        tracing::info!(namespace, slice = %slice.name_any(), "deleted endpoint slice");
        deleted += 1;
    }
    Ok(deleted)
}

/// Whether a ready replica in the slice's namespace serves on its port: a slice is
/// named for its Service, not its Deployment, but every local replica has a port of
/// its own.
fn is_live(slice: &EndpointSlice, supervisor: &Supervisor) -> bool {
    let Some((namespace, port)) = endpoint_slices::slice_replica(slice) else {
        return false;
    };
    let prefix = format!("{namespace}/");
    supervisor
        .keys()
        .iter()
        .filter(|key| key.starts_with(&prefix))
        .filter_map(|key| supervisor.status(key))
        .any(|status| {
            status
                .borrow()
                .ready_endpoints
                .iter()
                .any(|a| a.port() == port)
        })
}
