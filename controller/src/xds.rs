//! The xDS server: Envoy's Aggregated Discovery Service (state of the world) over
//! gRPC, fed by the [`RoutingTable`]. Gateways — ours (`gateway::xds_client`) or a stock
//! Envoy started with [`crate::bootstrap::envoy_bootstrap`] — open one ADS stream each
//! and receive:
//!
//! - CDS: one EDS cluster per revision, named `<namespace>/<revision>`;
//! - EDS: one `ClusterLoadAssignment` per revision with its ready endpoints;
//! - LDS: the listener [`LISTENER_NAME`] (HTTP connection manager → RDS);
//! - RDS: the route configuration [`ROUTE_CONFIG_NAME`], a virtual host per route host
//!   and per tag host.
//!
//! The translation ([`resources`]) is a pure function of a [`RoutingSnapshot`], run once
//! per routing change and shared by every stream. Each stream then runs its own small
//! protocol machine (`stream`): ACK/NACK per type, stale nonces, subscriptions, and
//! make-before-break ordering so that no client ever holds a route to a cluster it has
//! not been given.
//!
//! **The listener address.** A listener must carry the address the proxy binds, and
//! that belongs to the proxy, not the control plane. The Envoy bootstrap therefore puts
//! it into the node metadata under [`LISTEN_ADDR_METADATA_KEY`]
//! (`fnmesh envoy-bootstrap --listen-addr` decides it), and each stream reads it from
//! the first request's node. A node without it gets [`DEFAULT_LISTEN_ADDR`]. Our own
//! gateway ignores the listener's address (it binds its own socket) and only follows
//! the listener to its route configuration.

mod listener;
mod resources;
mod route_config;
mod server;
mod stream;
#[cfg(test)]
mod tests;

use std::net::{Ipv4Addr, SocketAddr};

pub use listener::listener;
pub use resources::{Resources, resources};
pub use server::serve;
pub use xds_types::ResourceType;

#[cfg(doc)]
use crate::routing::{RoutingSnapshot, RoutingTable};

/// The one listener every gateway gets.
pub const LISTENER_NAME: &str = "fnmesh-http";
/// The route configuration the listener's HTTP connection manager asks for over RDS.
pub const ROUTE_CONFIG_NAME: &str = "fnmesh-routes";
/// Node metadata key holding the address (`ip:port`) the proxy's listener binds.
pub const LISTEN_ADDR_METADATA_KEY: &str = "fnmesh.listen_addr";
/// The listener address for nodes that do not say (all interfaces, Knative's 8080).
pub const DEFAULT_LISTEN_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::UNSPECIFIED), 8080);
/// Knative's default `timeoutSeconds`, for revisions whose spec does not say (or that
/// are routed before their endpoints are known).
pub const DEFAULT_TIMEOUT_SECONDS: u64 = crds::defaults::DEFAULT_TIMEOUT_SECONDS.unsigned_abs();
/// Cluster metadata namespace carrying fnmesh facts Envoy has no field for.
pub const METADATA_NAMESPACE: &str = "fnmesh";
/// Key (in [`METADATA_NAMESPACE`]) of a revision's `timeoutSeconds`: Envoy's timeout is
/// per route, but a split route spans revisions with different timeouts, so our
/// gateway reads the exact one from here.
pub const TIMEOUT_METADATA_KEY: &str = "timeout_seconds";
/// Key of a revision's `responseStartTimeoutSeconds` (never more than its timeout):
/// Envoy has no limit on the wait for a response head alone, so only our gateway
/// enforces it.
pub const RESPONSE_START_TIMEOUT_METADATA_KEY: &str = "response_start_timeout_seconds";
/// Key of a revision's `idleTimeoutSeconds`, 0 for none: the route's `idle_timeout`
/// can only be the most generous of a split, so our gateway reads the exact one here.
pub const IDLE_TIMEOUT_METADATA_KEY: &str = "idle_timeout_seconds";
/// The header selecting a tagged revision on a route's main host.
pub const TAG_HEADER: &str = "knative-serving-tag";
