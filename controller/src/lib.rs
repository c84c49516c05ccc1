//! The control plane: reconcilers for Service → Configuration + Route,
//! Configuration → Revision, Revision → Deployment, and Route → the routing state
//! ([`routing::RoutingTable`]) that the xDS server turns into snapshots for gateways
//! (ours or a stock Envoy). Everything talks to "the API" through kube-rs, so the same
//! code runs against the embedded API server and a real kube-apiserver.

pub mod apply;
pub mod bootstrap;
pub mod cache;
pub mod conditions;
pub mod config_map;
pub mod configuration;
pub mod context;
pub mod domain;
pub mod endpoints;
pub mod events;
pub mod labels;
pub mod network;
pub mod revision;
pub mod revision_lifecycle;
pub mod route;
pub mod routing;
pub mod service;
pub mod workers;
pub mod xds;

use std::sync::Arc;

pub use context::Context;
/// For the binary, which starts the elector whose [`Leadership`] [`run`] takes.
pub use leader_election::{self, Leadership};
pub use routing::RoutingTable;

/// Run every reconciler until the process ends. Every replica watches and publishes
/// into `routing`; only while `leadership` says this replica leads does it write to the
/// API ([`Leadership::always`] for a controller that runs alone).
pub async fn run(client: kube::Client, routing: Arc<RoutingTable>, leadership: Leadership) {
    let ctx = Arc::new(Context::new(client, routing, leadership));
    tokio::join!(
        service::run(ctx.clone()),
        configuration::run(ctx.clone()),
        revision::run(ctx.clone()),
        route::run(ctx.clone()),
        revision_lifecycle::run(ctx.clone()),
        endpoints::run(ctx),
    );
}
