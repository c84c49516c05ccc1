//! Watches the EndpointSlices of revision Services in every namespace (the runner's,
//! one per local replica, or the EndpointSlice controller's in a cluster; see
//! `controller::endpoints::revision_slices`) and hands each change to the registry,
//! which recomputes the replicas of the revision the slice's Service is named after. Connections
//! to replicas no revision has any more are then closed: a replica being removed drains
//! until no connection to it is open, so an idle pooled one must not hold it up.

use std::sync::Arc;

use controller::endpoints::{REVISION_SLICES, slice_revision};
use futures::StreamExt;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::Api;
use kube::runtime::reflector::store::Writer;
use kube::runtime::watcher::{self, Event};
use kube::runtime::{WatchStreamExt, reflector};

use crate::registry::Registry;
use crate::upstream::Upstreams;

/// Watches until the stream ends (it retries by itself, so: until dropped).
pub(crate) async fn run(
    client: kube::Client,
    cache: Writer<EndpointSlice>,
    registry: Arc<Registry>,
    upstreams: Upstreams,
) {
    let events = watcher::watcher(
        Api::<EndpointSlice>::all(client),
        watcher::Config::default().labels(REVISION_SLICES),
    )
    .default_backoff()
    .modify(|o| o.metadata.managed_fields = None); // what a cache holds: nobody reads managedFields
    let mut events = std::pin::pin!(reflector::reflector(cache, events));
    while let Some(event) = events.next().await {
        match event {
            // The cache is updated before the event is yielded, so the registry
            // reads the slice it is told about.
            // A slice naming no revision the registry holds refreshes nothing.
            Ok(Event::Apply(slice) | Event::Delete(slice)) => {
                if let Some(revision) = slice_revision(&slice) {
                    registry.refresh(&revision.namespace, &revision.name);
                    upstreams.retain(&registry.live_endpoints());
                }
            }
            // The cache swaps in a relist only at `InitDone`.
            Ok(Event::InitDone) => {
                registry.refresh_all();
                upstreams.retain(&registry.live_endpoints());
            }
            Ok(Event::Init | Event::InitApply(_)) => {}
            Err(error) => tracing::warn!(%error, "EndpointSlice watch failed; retrying"),
        }
    }
}
