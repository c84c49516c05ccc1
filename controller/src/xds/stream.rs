//! One ADS stream's protocol state, as a pure machine: requests and new resources in,
//! responses out. Per resource type it remembers what was sent (version, nonce, names)
//! and what was ACKed, so it can tell an ACK from a NACK, ignore stale nonces, answer
//! subscription changes, and push changes make-before-break:
//!
//! - types go out in the order CDS → EDS → LDS → RDS;
//! - a route configuration is held back until the client has ACKed every cluster it
//!   references and has been sent those clusters' endpoints;
//! - a cluster stays in CDS while the last sent or last ACKed route configuration still
//!   references it, and goes only once the client ACKs routes that no longer do;
//! - an EDS push carries only the load assignments that changed: for EDS (and RDS) a
//!   state-of-the-world response updates the resources it names and leaves the others
//!   as they are, so a replica starting in one revision costs one assignment, not one
//!   per revision. A new subscription or changed names get the whole set.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;

use envoy_types::pb::envoy::config::cluster::v3::Cluster;
use envoy_types::pb::envoy::config::core::v3::Node;
use envoy_types::pb::envoy::service::discovery::v3::{DiscoveryRequest, DiscoveryResponse};
use envoy_types::pb::google::protobuf::{Any, value::Kind};
use envoy_types::util::pack_any;

use super::resources::{empty_assignment, referenced_clusters};
use super::{
    DEFAULT_LISTEN_ADDR, LISTEN_ADDR_METADATA_KEY, ROUTE_CONFIG_NAME, ResourceType, Resources,
    listener,
};

/// The state of one client's ADS stream.
#[derive(Debug)]
pub(crate) struct AdsStream {
    node_id: String,
    listen_addr: SocketAddr,
    node_seen: bool,
    resources: Arc<Resources>,
    types: [TypeState; 4],
    next_nonce: u64,
    /// The clusters last sent, so one whose revision is gone can still be served while
    /// a route the client holds references it.
    sent_clusters: BTreeMap<String, Cluster>,
}

#[derive(Debug, Default)]
struct TypeState {
    subscribed: bool,
    /// Requested names; empty (or `*`) means everything for the wildcard types.
    names: BTreeSet<String>,
    /// A request (first one, or changed names) expects an answer even if nothing
    /// changed.
    must_respond: bool,
    /// The client holds nothing of this type on this stream yet (its request had no
    /// nonce), so the answer must carry everything.
    fresh: bool,
    sent: Option<Sent>,
    acked: Option<Sent>,
}

/// What one response carried.
#[derive(Clone, Debug, Default)]
struct Sent {
    nonce: String,
    version: String,
    resources: Vec<Any>,
    /// For CDS: the clusters packed in `resources`, to compare as messages (see
    /// [`Sent::same_resources`]).
    clusters: BTreeMap<String, Cluster>,
    names: BTreeSet<String>,
    /// For RDS: the clusters the routes send traffic to.
    refs: BTreeSet<String>,
    /// For EDS: each assignment as packed, so a push can carry just the changed ones.
    assignments: BTreeMap<String, Any>,
}

impl Sent {
    /// Whether `other` carries the same resources. Clusters compare as messages, not
    /// bytes: their fnmesh metadata is a protobuf map, which encodes in `HashMap`
    /// order, so equal clusters need not pack to equal bytes and would be pushed again.
    fn same_resources(&self, other: &Sent) -> bool {
        if self.clusters.is_empty() && other.clusters.is_empty() {
            self.resources == other.resources
        } else {
            self.clusters == other.clusters
        }
    }
}

// === impl AdsStream ===

impl AdsStream {
    pub(crate) fn new(resources: Arc<Resources>) -> Self {
        Self {
            node_id: String::new(),
            listen_addr: DEFAULT_LISTEN_ADDR,
            node_seen: false,
            resources,
            types: Default::default(),
            next_nonce: 0,
            sent_clusters: BTreeMap::new(),
        }
    }

    pub(crate) fn node_id(&self) -> &str {
        &self.node_id
    }

    /// Handles one request from the client; returns what to send back.
    pub(crate) fn on_request(&mut self, request: DiscoveryRequest) -> Vec<DiscoveryResponse> {
        if !self.node_seen
            && let Some(node) = &request.node
        {
            self.node_seen = true;
            self.node_id.clone_from(&node.id);
            self.listen_addr = listen_addr_of(node);
        }
        let Some(kind) = ResourceType::from_type_url(&request.type_url) else {
            tracing::warn!(node = %self.node_id, type_url = %request.type_url, "unsupported resource type");
            return Vec::new();
        };
        let state = &mut self.types[kind.index()];
        if request.response_nonce.is_empty() {
            // A new subscription (or the client reconnected): always answer it, in full.
            state.must_respond = true;
            state.fresh = true;
        } else {
            let Some(sent) = state
                .sent
                .as_ref()
                .filter(|s| s.nonce == request.response_nonce)
            else {
                tracing::debug!(node = %self.node_id, %kind, nonce = %request.response_nonce, "stale nonce ignored");
                return Vec::new();
            };
            match &request.error_detail {
                None => state.acked = Some(sent.clone()),
                Some(status) => tracing::error!(
                    node = %self.node_id,
                    %kind,
                    version = %sent.version,
                    kept = %request.version_info,
                    error = %status.message,
                    "client rejected configuration (NACK); it keeps its previous version",
                ),
            }
        }
        state.subscribed = true;
        let names: BTreeSet<String> = request.resource_names.into_iter().collect();
        if names != state.names {
            state.names = names;
            state.must_respond = true;
        }
        self.push()
    }

    /// Takes a new resource set; returns the pushes it causes.
    pub(crate) fn on_resources(&mut self, resources: Arc<Resources>) -> Vec<DiscoveryResponse> {
        self.resources = resources;
        self.push()
    }

    fn push(&mut self) -> Vec<DiscoveryResponse> {
        let mut out = Vec::new();
        for kind in ResourceType::ALL {
            let state = &self.types[kind.index()];
            if !state.subscribed {
                continue;
            }
            let Some(desired) = self.desired(kind) else {
                continue;
            };
            let state = &self.types[kind.index()];
            let changed = state
                .sent
                .as_ref()
                .is_none_or(|s| !s.same_resources(&desired));
            if !(changed || state.must_respond) {
                continue;
            }
            // EDS: a client that holds assignments gets just the new and changed ones
            // (for changed names too: it keeps the others); never an empty answer.
            let only = (kind == ResourceType::Endpoint && !state.fresh)
                .then(|| changed_assignments(state.sent.as_ref(), &desired))
                .filter(|only| !only.is_empty());
            out.push(self.send(kind, desired, only));
        }
        out
    }

    /// Sends `sent` (what the client holds afterwards); the response carries `only`
    /// those resources when given, else all of them.
    fn send(
        &mut self,
        kind: ResourceType,
        mut sent: Sent,
        only: Option<Vec<Any>>,
    ) -> DiscoveryResponse {
        self.next_nonce += 1;
        sent.nonce = self.next_nonce.to_string();
        sent.version = format!("{}.{}", self.resources.version, self.next_nonce);
        let response = DiscoveryResponse {
            version_info: sent.version.clone(),
            resources: only.unwrap_or_else(|| sent.resources.clone()),
            type_url: kind.type_url().to_owned(),
            nonce: sent.nonce.clone(),
            ..Default::default()
        };
        tracing::debug!(node = %self.node_id, %kind, version = %sent.version, count = sent.names.len(), "push");
        let state = &mut self.types[kind.index()];
        state.must_respond = false;
        state.fresh = false;
        state.sent = Some(sent);
        response
    }

    /// What the client should hold of `kind` now; `None` while routes must wait for
    /// their clusters.
    fn desired(&mut self, kind: ResourceType) -> Option<Sent> {
        let state = &self.types[kind.index()];
        let wanted = |name: &str| {
            state.names.is_empty() && kind.is_wildcard()
                || state.names.contains("*")
                || state.names.contains(name)
        };
        let mut sent = Sent::default();
        match kind {
            ResourceType::Cluster => {
                let routes = &self.types[ResourceType::Route.index()];
                let still_routed = routes
                    .sent
                    .iter()
                    .chain(&routes.acked)
                    .flat_map(|s| &s.refs);
                let mut clusters = self.resources.clusters.clone();
                for name in still_routed {
                    if !clusters.contains_key(name)
                        && let Some(kept) = self.sent_clusters.get(name)
                    {
                        clusters.insert(name.clone(), kept.clone());
                    }
                }
                clusters.retain(|name, _| wanted(name));
                sent.names = clusters.keys().cloned().collect();
                sent.resources = clusters.values().cloned().map(pack_any).collect();
                sent.clusters.clone_from(&clusters);
                self.sent_clusters = clusters;
            }
            ResourceType::Endpoint => {
                for name in state.names.iter().filter(|n| wanted(n)) {
                    let assignment = match self.resources.assignments.get(name) {
                        Some(assignment) => assignment.clone(),
                        // A cluster kept for a route that still uses it: its revision
                        // is gone, and so are its endpoints.
                        None if self.sent_clusters.contains_key(name) => empty_assignment(name),
                        None => continue,
                    };
                    let packed = pack_any(assignment);
                    sent.names.insert(name.clone());
                    sent.resources.push(packed.clone());
                    sent.assignments.insert(name.clone(), packed);
                }
            }
            ResourceType::Listener => {
                let listener = listener(self.listen_addr);
                if wanted(&listener.name) {
                    sent.names.insert(listener.name.clone());
                    sent.resources.push(pack_any(listener));
                }
            }
            ResourceType::Route => {
                if wanted(ROUTE_CONFIG_NAME) {
                    let routes = &self.resources.routes;
                    sent.refs = referenced_clusters(routes);
                    if !self.clusters_ready(&sent.refs) {
                        return None;
                    }
                    sent.names.insert(routes.name.clone());
                    sent.resources.push(pack_any(routes.clone()));
                }
            }
        }
        Some(sent)
    }

    /// Whether the client has ACKed every cluster in `refs` and been sent their
    /// endpoints, so routes to them work the moment they arrive.
    fn clusters_ready(&self, refs: &BTreeSet<String>) -> bool {
        let clusters = self.types[ResourceType::Cluster.index()]
            .acked
            .as_ref()
            .map(|s| &s.names);
        let endpoints = self.types[ResourceType::Endpoint.index()]
            .sent
            .as_ref()
            .map(|s| &s.names);
        refs.iter().all(|name| {
            clusters.is_some_and(|acked| acked.contains(name))
                && endpoints.is_some_and(|sent| sent.contains(name))
        })
    }
}

/// The assignments of `desired` that differ from (or are missing in) `previous`, for a
/// push to a client that holds `previous` under the same names.
fn changed_assignments(previous: Option<&Sent>, desired: &Sent) -> Vec<Any> {
    desired
        .assignments
        .iter()
        .filter(|(name, packed)| previous.and_then(|p| p.assignments.get(*name)) != Some(*packed))
        .map(|(_, packed)| packed.clone())
        .collect()
}

/// The listener address a node asked for in its metadata, else the default.
fn listen_addr_of(node: &Node) -> SocketAddr {
    let value = node
        .metadata
        .as_ref()
        .and_then(|m| m.fields.get(LISTEN_ADDR_METADATA_KEY))
        .and_then(|v| v.kind.as_ref());
    match value {
        Some(Kind::StringValue(addr)) => addr.parse().unwrap_or_else(|_| {
            tracing::warn!(node = %node.id, %addr, "unparsable listen address in node metadata; using the default");
            DEFAULT_LISTEN_ADDR
        }),
        _ => DEFAULT_LISTEN_ADDR,
    }
}

#[cfg(test)]
mod tests;
