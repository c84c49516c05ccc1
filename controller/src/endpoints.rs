//! The endpoints watcher: keeps every revision's [`RevisionBackend`] in the
//! [`RoutingTable`] current from two watches — the EndpointSlices of revision Services
//! (`kubernetes.io/service-name: <revision>`, see [`revision_slices`]: the runner's,
//! one per local replica, or the EndpointSlice controller's in a cluster) and Revisions
//! (protocol, timeout, existence). Push-driven: each watch event recomputes just the revision it touches
//! from the reflector caches; a relist recomputes all of them. A revision that is gone
//! leaves the table.
//!
//! [`RevisionBackend`]: crate::routing::RevisionBackend
//! [`RoutingTable`]: crate::routing::RoutingTable

mod backend;
mod placement;
pub mod revision_slices;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::sync::Arc;

use std::net::SocketAddr;

use crds::Revision;
use futures::{FutureExt, StreamExt, stream};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::watcher::{self, Event};
use kube::runtime::{WatchStreamExt, watcher as watch};

pub use backend::{backend, ready_endpoints};
pub use placement::place;
pub use revision_slices::{REVISION_SLICES, slice_revision};

use crate::config_map::CONFIG_MAP_NAMESPACE;
use crate::context::Context;
use crate::labels::{
    ACTIVATOR_SERVICE, REVISION_LABEL, SERVICE_NAME_LABEL, SERVING_MODE_ANNOTATION,
    SERVING_MODE_PROXY,
};
use crate::revision::deployment::deployment_name;
use crate::routing::{ObjectKey, RoutingTable};

/// What a watch event asks the watcher to recompute.
#[derive(Debug)]
enum Touched {
    One(ObjectKey),
    /// A relist finished: the caches hold a fresh, complete view.
    All,
    Nothing,
}

/// The watch caches a backend is computed from.
struct Caches {
    slices: Store<EndpointSlice>,
    revisions: Store<Revision>,
    /// For the serving mode the autoscaler writes on each revision's Deployment.
    deployments: Store<Deployment>,
    activators: Store<EndpointSlice>,
}

/// Watches until the process ends, publishing backends into `ctx.routing`.
pub async fn run(ctx: Arc<Context>) {
    let (slices, slice_writer) = reflector::store::<EndpointSlice>();
    let (revisions, revision_writer) = reflector::store::<Revision>();
    let (deployments, deployment_writer) = reflector::store::<Deployment>();
    let (activators, activator_writer) = reflector::store::<EndpointSlice>();
    let slice_events = watch(
        Api::<EndpointSlice>::all(ctx.client.clone()),
        watcher::Config::default().labels(REVISION_SLICES),
    )
    .default_backoff()
    .modify(|o| o.metadata.managed_fields = None) // what a cache holds: nobody reads managedFields
    .reflect(slice_writer)
    .map(|event| event.map(|e| touched(&e, slice_revision)));
    let revision_events = watch(
        Api::<Revision>::all(ctx.client.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .modify(|o| o.metadata.managed_fields = None) // what a cache holds: nobody reads managedFields
    .reflect(revision_writer)
    .map(|event| event.map(|e| touched(&e, some_revision_key)))
    .boxed();
    let deployment_events = watch(
        Api::<Deployment>::all(ctx.client.clone()),
        watcher::Config::default().labels(REVISION_LABEL),
    )
    .default_backoff()
    .modify(|o| o.metadata.managed_fields = None) // what a cache holds: nobody reads managedFields
    .reflect(deployment_writer)
    .map(|event| event.map(|e| touched(&e, deployment_revision)))
    .boxed();
    // Any change to where the activator is moves every revision behind it.
    let activator_events = watch(
        Api::<EndpointSlice>::namespaced(ctx.client.clone(), CONFIG_MAP_NAMESPACE),
        watcher::Config::default().labels(&format!("{SERVICE_NAME_LABEL}={ACTIVATOR_SERVICE}")),
    )
    .default_backoff()
    .modify(|o| o.metadata.managed_fields = None) // what a cache holds: nobody reads managedFields
    .reflect(activator_writer)
    .map(|event| {
        event.map(|e| match touched(&e, |_| None) {
            Touched::Nothing => Touched::Nothing,
            _ => Touched::All,
        })
    })
    .boxed();
    let slice_events = slice_events.boxed();
    let caches = Caches {
        slices,
        revisions,
        deployments,
        activators,
    };
    let mut events = stream::select_all([
        slice_events,
        revision_events,
        deployment_events,
        activator_events,
    ]);
    let mut published = BTreeSet::new();
    let mut backends_complete = false;
    while let Some(event) = events.next().await {
        match event {
            Ok(Touched::One(key)) => {
                publish(&ctx.routing, &caches, &mut published, key);
            }
            Ok(Touched::All) => {
                let keys: BTreeSet<ObjectKey> = caches
                    .revisions
                    .state()
                    .iter()
                    .map(|r| revision_key(r))
                    .chain(published.iter().cloned())
                    .collect();
                for key in keys {
                    publish(&ctx.routing, &caches, &mut published, key);
                }
            }
            Ok(Touched::Nothing) => {}
            // The watcher retries with backoff by itself; the caches keep serving.
            Err(error) => tracing::warn!(%error, "endpoints watch failed; retrying"),
        }
        // Each cache's first `InitDone` publishes every revision (`Touched::All`); after
        // the last of them every listed revision's endpoints are in the table.
        if !backends_complete && caches.all_listed() {
            backends_complete = true;
            ctx.routing.backends_complete();
        }
    }
}

impl Caches {
    /// Whether every cache holds its first list.
    fn all_listed(&self) -> bool {
        let listed = |ready: Option<Result<(), _>>| matches!(ready, Some(Ok(())));
        listed(self.slices.wait_until_ready().now_or_never())
            && listed(self.revisions.wait_until_ready().now_or_never())
            && listed(self.deployments.wait_until_ready().now_or_never())
            && listed(self.activators.wait_until_ready().now_or_never())
    }
}

fn touched<K>(event: &Event<K>, key_of: fn(&K) -> Option<ObjectKey>) -> Touched {
    match event {
        Event::Apply(object) | Event::Delete(object) => {
            key_of(object).map_or(Touched::Nothing, Touched::One)
        }
        Event::InitDone => Touched::All,
        // The store swaps in the relisted objects only at `InitDone`.
        Event::Init | Event::InitApply(_) => Touched::Nothing,
    }
}

fn revision_key(revision: &Revision) -> ObjectKey {
    ObjectKey::new(
        revision.namespace().unwrap_or_default(),
        revision.name_any(),
    )
}

fn some_revision_key(revision: &Revision) -> Option<ObjectKey> {
    Some(revision_key(revision))
}

fn deployment_revision(deployment: &Deployment) -> Option<ObjectKey> {
    Some(ObjectKey::new(
        deployment.namespace()?,
        deployment.labels().get(REVISION_LABEL)?.clone(),
    ))
}

/// Recomputes `key`'s backend from the caches (or removes it with its revision).
fn publish(
    routing: &RoutingTable,
    caches: &Caches,
    published: &mut BTreeSet<ObjectKey>,
    key: ObjectKey,
) {
    let reference = ObjectRef::new(&key.name).within(&key.namespace);
    let Some(revision) = caches.revisions.get(&reference) else {
        if published.remove(&key) {
            tracing::debug!(revision = %key, "revision gone; backend removed");
            routing.remove_backend(&key);
        }
        return;
    };
    // A scan of the cache: slices are few per node and this runs per event, not per
    // request.
    let all = caches.slices.state();
    let own = all
        .iter()
        .filter(|s| slice_revision(s).as_ref() == Some(&key))
        .map(AsRef::as_ref);
    let deployment = ObjectRef::new(&deployment_name(&key.name)).within(&key.namespace);
    let proxy_mode = caches.deployments.get(&deployment).is_some_and(|d| {
        d.annotations()
            .get(SERVING_MODE_ANNOTATION)
            .map(String::as_str)
            == Some(SERVING_MODE_PROXY)
    });
    let mut activators: Vec<SocketAddr> = caches
        .activators
        .state()
        .iter()
        .flat_map(|s| ready_endpoints(s, Some("http")))
        .collect();
    activators.sort_unstable();
    activators.dedup();
    let backend = place(backend(&revision, own), &revision, proxy_mode, &activators);
    tracing::debug!(revision = %key, endpoints = backend.endpoints.len(), "backend");
    routing.set_backend(backend);
    published.insert(key);
}
