//! The Route reconciler: resolves every Route's `spec.traffic` to ready Revisions,
//! publishes the result into the [`RoutingTable`](crate::routing::RoutingTable) and
//! reports it in the Route's status (Knative's conditions, URLs and resolved traffic).
//!
//! Event driven end to end: the Route, Configuration and Revision caches are
//! reflectors whose events trigger reconciles only after the cache holds the change,
//! and a `config-domain` or `config-network` edit re-reconciles every Route. Nothing polls or requeues
//! on the happy path. Deleted Routes leave the routing table through the watch (no
//! finalizer); while a target is missing the previously published split keeps serving.
//!
//! The pure core is [`resolve::resolve`] and [`status::build_status`].

pub mod hosts;
pub mod missing;
mod priming;
mod reconcile;
pub mod resolve;
mod rolling;
pub mod rollout;
pub mod status;
mod triggers;

use std::sync::Arc;

use crds::{Configuration, Revision, Route};
use futures::{StreamExt, TryStreamExt};
use kube::Api;
use kube::runtime::{Controller, WatchStreamExt, reflector, watcher};

pub use missing::Missing;
pub use resolve::{Lookup, Resolution, resolve};
pub use status::build_status;

use crate::context::Context;
use crate::domain::DomainSource;
use crate::network::NetworkSource;
use priming::RoutePriming;
use reconcile::{RouteContext, error_policy, reconcile};
use triggers::{DeletionTracker, routes_for_configuration, routes_for_revision};

/// Run the Route reconciler until the process ends.
pub async fn run(ctx: Arc<Context>) {
    let client = ctx.client.clone();
    let (routes, routes_writer) = reflector::store::<Route>();
    let (configurations, configurations_writer) = reflector::store::<Configuration>();
    let (revisions, revisions_writer) = reflector::store::<Revision>();
    let domain = DomainSource::new();
    let network = NetworkSource::new();

    let priming = Arc::new(RoutePriming::new(ctx.routing.clone()));
    let mut deletions = DeletionTracker::new(ctx.routing.clone(), priming.clone());
    // `reflect` updates the cache before passing an event on, so deletions are
    // handled after the Route left the cache, and every trigger sees fresh caches.
    let route_events = watcher(
        Api::<Route>::all(client.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .modify(|o| o.metadata.managed_fields = None) // what a cache holds: nobody reads managedFields
    .reflect(routes_writer)
    .inspect_ok(move |event| deletions.observe(event))
    .applied_objects();
    let configuration_events = watcher(
        Api::<Configuration>::all(client.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .modify(|o| o.metadata.managed_fields = None) // what a cache holds: nobody reads managedFields
    .reflect(configurations_writer)
    .touched_objects();
    let revision_events = watcher(
        Api::<Revision>::all(client.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .modify(|o| o.metadata.managed_fields = None) // what a cache holds: nobody reads managedFields
    .reflect(revisions_writer)
    .touched_objects();

    // A new leader re-reconciles every Route: as a follower it published their routing
    // but its status writes were refused.
    let promotions = ctx.leadership.promotions();
    let rc = Arc::new(RouteContext {
        ctx,
        routes: routes.clone(),
        configurations,
        revisions,
        domain: domain.clone(),
        network: network.clone(),
        priming,
    });
    let (by_configuration, by_revision) = (routes.clone(), routes.clone());
    Controller::for_stream(route_events, routes)
        .watches_stream(configuration_events, move |cfg| {
            routes_for_configuration(&by_configuration, &cfg)
        })
        .watches_stream(revision_events, move |rev| {
            routes_for_revision(&by_revision, &rev)
        })
        .reconcile_all_on(futures::stream::select(
            domain.watch(client.clone()),
            network.watch(client),
        ))
        .reconcile_all_on(promotions)
        .with_config(crate::workers::config())
        .run(reconcile, error_policy, rc)
        .for_each(|result| {
            if let Err(error) = result {
                tracing::debug!(%error, "route controller");
            }
            std::future::ready(())
        })
        .await;
}
