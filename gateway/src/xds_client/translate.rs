//! Accepted Envoy resources → the gateway's routes and revisions. Pure, so the mapping
//! is unit tested without a control plane.

mod virtual_host;

use virtual_host::RouteTimeouts;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use envoy_types::pb::envoy::config::cluster::v3::Cluster;
use envoy_types::pb::envoy::config::core::v3::address::Address as AddressKind;
use envoy_types::pb::envoy::config::core::v3::socket_address::PortSpecifier;
use envoy_types::pb::envoy::config::core::v3::{Address, HealthStatus};
use envoy_types::pb::envoy::config::endpoint::v3::ClusterLoadAssignment;
use envoy_types::pb::envoy::config::endpoint::v3::lb_endpoint::HostIdentifier;
use envoy_types::pb::envoy::config::listener::v3::Listener;
use envoy_types::pb::envoy::config::route::v3::RouteConfiguration;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::http_connection_manager::RouteSpecifier;
use envoy_types::pb::google::protobuf::value::Kind;

use super::decode::{eds_name, http_managers, protocol};
use crate::revision::{DEFAULT_REVISION_TIMEOUT, Revision, RevisionKey};
use crate::route_table::{Route, RouteTable, RouteTableError};

/// Cluster metadata namespace and keys where fnmesh's control plane puts a revision's
/// exact `timeoutSeconds` and `idleTimeoutSeconds` (Envoy's route limits can only be
/// the most generous of a split) and its `responseStartTimeoutSeconds` (Envoy has no
/// such limit).
const METADATA_NAMESPACE: &str = "fnmesh";
const TIMEOUT_METADATA_KEY: &str = "timeout_seconds";
const RESPONSE_START_TIMEOUT_METADATA_KEY: &str = "response_start_timeout_seconds";
const IDLE_TIMEOUT_METADATA_KEY: &str = "idle_timeout_seconds";

/// The resources a client has accepted, by name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct XdsResources {
    /// CDS: every cluster (`<namespace>/<revision>`).
    pub clusters: BTreeMap<String, Cluster>,
    /// EDS: load assignments by EDS service name.
    pub assignments: BTreeMap<String, ClusterLoadAssignment>,
    /// LDS: every listener.
    pub listeners: BTreeMap<String, Listener>,
    /// RDS: route configurations by name.
    pub route_configs: BTreeMap<String, RouteConfiguration>,
}

/// What the accepted resources amount to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Translation {
    /// A consistent configuration.
    Ready(RouteTableParts),
    /// Something a route needs has not arrived yet (named here); keep the table in
    /// force.
    Waiting(String),
}

/// The inputs of [`RouteTable::try_new`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RouteTableParts {
    /// One route per usable virtual host.
    pub routes: Vec<Route>,
    /// Every revision the routes use.
    pub revisions: Vec<Revision>,
}

/// Why resources cannot be used; the client NACKs the response that caused it.
#[derive(Debug, thiserror::Error)]
pub enum TranslateError {
    /// A resource of another type than the response's.
    #[error("expected {expected}, got {got}")]
    UnexpectedType {
        /// The type URL we expected.
        expected: String,
        /// The type URL we got.
        got: String,
    },
    /// A resource that does not decode.
    #[error("cannot decode {type_url}: {source}")]
    Decode {
        /// Its type URL.
        type_url: String,
        /// The protobuf error.
        source: prost::DecodeError,
    },
    /// A routed cluster whose name is not `<namespace>/<revision>`.
    #[error("cluster {0:?} is not named <namespace>/<revision>")]
    ClusterName(String),
    /// An endpoint that is not an IP socket address.
    #[error("cluster {cluster}: endpoint {endpoint:?} is not an IP address and port")]
    Endpoint {
        /// The cluster.
        cluster: String,
        /// What it listed.
        endpoint: String,
    },
    /// The routes and revisions do not form a valid table.
    #[error(transparent)]
    Table(#[from] RouteTableError),
}

// === impl XdsResources ===

impl XdsResources {
    /// The EDS names the clusters need.
    pub fn eds_names(&self) -> BTreeSet<String> {
        self.clusters
            .values()
            .filter_map(eds_name)
            .map(str::to_owned)
            .collect()
    }

    /// The route configurations the listeners fetch over RDS.
    pub fn rds_names(&self) -> Result<BTreeSet<String>, TranslateError> {
        let mut names = BTreeSet::new();
        for listener in self.listeners.values() {
            names.extend(super::decode::rds_names(listener)?);
        }
        Ok(names)
    }

    /// Maps the resources onto routes and revisions: each virtual host is a route
    /// (its domains, minus `:*` port wildcards, are the hosts); its header-less route
    /// is the split; routes matching `Knative-Serving-Tag: <tag>` exactly are tags;
    /// each routed cluster is a revision (name `<namespace>/<revision>`, HTTP/2
    /// options → h2c, healthy endpoints, timeout from fnmesh metadata or the longest
    /// route timeout, else Knative's default; idle timeout from fnmesh metadata or the
    /// longest route idle timeout; response-start timeout from fnmesh metadata only).
    pub fn translate(&self) -> Result<Translation, TranslateError> {
        if self.listeners.is_empty() {
            return Ok(Translation::Waiting("a listener".into()));
        }
        let mut configs = Vec::new();
        for listener in self.listeners.values() {
            for manager in http_managers(listener)? {
                match manager.route_specifier {
                    Some(RouteSpecifier::Rds(rds)) => {
                        match self.route_configs.get(&rds.route_config_name) {
                            Some(config) => configs.push(config.clone()),
                            None => {
                                let what = format!("route configuration {}", rds.route_config_name);
                                return Ok(Translation::Waiting(what));
                            }
                        }
                    }
                    Some(RouteSpecifier::RouteConfig(config)) => configs.push(config),
                    _ => {}
                }
            }
        }
        let mut routes = Vec::new();
        let mut timeouts = BTreeMap::new();
        let mut hosts_seen = BTreeSet::new();
        for vh in configs.iter().flat_map(|c| &c.virtual_hosts) {
            if let Some(route) = virtual_host::route(vh, &mut hosts_seen, &mut timeouts) {
                routes.push(route);
            }
        }
        let empty = ClusterLoadAssignment::default();
        let mut revisions = Vec::with_capacity(timeouts.len());
        for (name, route_timeouts) in timeouts {
            let Some(cluster) = self.clusters.get(&name) else {
                return Ok(Translation::Waiting(format!("cluster {name}")));
            };
            let assignment = match eds_name(cluster) {
                Some(eds) => match self.assignments.get(eds) {
                    Some(assignment) => assignment,
                    None => return Ok(Translation::Waiting(format!("endpoints of {name}"))),
                },
                None => cluster.load_assignment.as_ref().unwrap_or(&empty),
            };
            revisions.push(revision(cluster, assignment, route_timeouts)?);
        }
        Ok(Translation::Ready(RouteTableParts { routes, revisions }))
    }
}

// === impl RouteTableParts ===

impl RouteTableParts {
    /// Compiles the parts into a table.
    pub fn build(self) -> Result<RouteTable, RouteTableError> {
        RouteTable::try_new(self.routes, self.revisions)
    }
}

fn revision(
    cluster: &Cluster,
    assignment: &ClusterLoadAssignment,
    route_timeouts: RouteTimeouts,
) -> Result<Revision, TranslateError> {
    let Some((namespace, name)) = cluster.name.split_once('/') else {
        return Err(TranslateError::ClusterName(cluster.name.clone()));
    };
    let mut endpoints = Vec::new();
    for lb in assignment.endpoints.iter().flat_map(|l| &l.lb_endpoints) {
        let usable = [
            HealthStatus::Unknown,
            HealthStatus::Healthy,
            HealthStatus::Degraded,
        ]
        .map(i32::from)
        .contains(&lb.health_status);
        let Some(HostIdentifier::Endpoint(endpoint)) = &lb.host_identifier else {
            continue;
        };
        let addr =
            socket_addr(endpoint.address.as_ref()).ok_or_else(|| TranslateError::Endpoint {
                cluster: cluster.name.clone(),
                endpoint: format!("{:?}", endpoint.address),
            })?;
        // The table refuses duplicates; a control plane listing one twice means once.
        if usable && !endpoints.contains(&addr) {
            endpoints.push(addr);
        }
    }
    let timeout = metadata_seconds(cluster, TIMEOUT_METADATA_KEY)
        .flatten()
        .or(route_timeouts.timeout)
        .unwrap_or(DEFAULT_REVISION_TIMEOUT);
    // Present but zero means "no limit"; only an absent key defers to the routes.
    let idle_timeout =
        metadata_seconds(cluster, IDLE_TIMEOUT_METADATA_KEY).unwrap_or(route_timeouts.idle);
    let response_start_timeout =
        metadata_seconds(cluster, RESPONSE_START_TIMEOUT_METADATA_KEY).flatten();
    Ok(Revision {
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        protocol: protocol(cluster)?,
        endpoints,
        timeout,
        response_start_timeout,
        idle_timeout,
    })
}

fn socket_addr(address: Option<&Address>) -> Option<SocketAddr> {
    let Some(AddressKind::SocketAddress(socket)) = address?.address.as_ref() else {
        return None;
    };
    let ip: IpAddr = socket.address.parse().ok()?;
    let Some(PortSpecifier::PortValue(port)) = socket.port_specifier else {
        return None;
    };
    Some(SocketAddr::new(ip, u16::try_from(port).ok()?))
}

/// A limit in seconds from the cluster's fnmesh metadata: `None` when the key is
/// absent (or not a number), `Some(None)` when it says there is no limit (zero or
/// less), `Some(Some(_))` for a limit (too large to represent: none either).
fn metadata_seconds(cluster: &Cluster, key: &str) -> Option<Option<Duration>> {
    let value = cluster
        .metadata
        .as_ref()?
        .filter_metadata
        .get(METADATA_NAMESPACE)?
        .fields
        .get(key)?;
    match value.kind {
        Some(Kind::NumberValue(seconds)) if seconds > 0.0 => {
            Some(Duration::try_from_secs_f64(seconds).ok())
        }
        Some(Kind::NumberValue(_)) => Some(None),
        _ => None,
    }
}

/// The revision key a cluster name stands for, if it follows the contract.
pub(super) fn revision_key(cluster: &str) -> Option<RevisionKey> {
    let (namespace, name) = cluster.split_once('/')?;
    Some(RevisionKey::new(namespace, name))
}
