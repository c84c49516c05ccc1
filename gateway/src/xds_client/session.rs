//! One ADS stream's client side, as a pure machine: responses in, requests (ACKs,
//! NACKs, subscription changes) and new tables out.

use envoy_types::pb::envoy::config::cluster::v3::Cluster;
use envoy_types::pb::envoy::config::core::v3::Node;
use envoy_types::pb::envoy::config::endpoint::v3::ClusterLoadAssignment;
use envoy_types::pb::envoy::config::listener::v3::Listener;
use envoy_types::pb::envoy::config::route::v3::RouteConfiguration;
use envoy_types::pb::envoy::service::discovery::v3::{DiscoveryRequest, DiscoveryResponse};
use envoy_types::pb::google::protobuf::Any;
use envoy_types::pb::google::rpc::Status;

use super::decode::unpack;
use super::translate::{RouteTableParts, TranslateError, Translation, XdsResources};
use crate::route_table::RouteTable;
use xds_types::ResourceType;

/// `google.rpc.Code.INVALID_ARGUMENT`, the code of our NACKs.
const INVALID_ARGUMENT: i32 = 3;

/// What handling one response produced.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    /// To send, in order.
    pub(super) requests: Vec<DiscoveryRequest>,
    /// A new table to publish.
    pub(super) table: Option<RouteTable>,
}

#[derive(Debug)]
pub(super) struct Session {
    node: Node,
    accepted: XdsResources,
    types: [TypeState; 4],
    /// The parts of the table last published, to skip republishing an equal one.
    published: Option<RouteTableParts>,
}

#[derive(Debug, Default)]
struct TypeState {
    /// Version of the last accepted response (what ACKs and NACKs report).
    version: String,
    /// Nonce of the last response received.
    nonce: String,
    /// Subscribed names; empty for the wildcard types.
    names: Vec<String>,
}

// === impl Session ===

impl Session {
    pub(super) fn new(node_id: &str) -> Self {
        Self {
            node: Node {
                id: node_id.to_owned(),
                cluster: "fnmesh-gateway".into(),
                user_agent_name: "fnmesh-gateway".into(),
                ..Default::default()
            },
            accepted: XdsResources::default(),
            types: Default::default(),
            published: None,
        }
    }

    /// Wildcard subscriptions to clusters and listeners; EDS and RDS follow from them.
    pub(super) fn initial_requests(&self) -> Vec<DiscoveryRequest> {
        [ResourceType::Cluster, ResourceType::Listener]
            .into_iter()
            .map(|kind| self.request(kind, None))
            .collect()
    }

    pub(super) fn on_response(&mut self, response: DiscoveryResponse) -> Outcome {
        let Some(kind) = ResourceType::from_type_url(&response.type_url) else {
            tracing::warn!(type_url = %response.type_url, "unexpected resource type; ignored");
            return Outcome::default();
        };
        self.types[kind.index()].nonce.clone_from(&response.nonce);
        match self.accept(kind, &response.resources) {
            Ok((next, table)) => {
                self.accepted = next;
                self.types[kind.index()].version = response.version_info;
                let mut requests = vec![self.request(kind, None)];
                requests.extend(self.resubscribe());
                Outcome { requests, table }
            }
            Err(error) => {
                tracing::error!(%kind, version = %response.version_info, %error, "rejecting configuration (NACK)");
                Outcome {
                    requests: vec![self.request(kind, Some(error.to_string()))],
                    table: None,
                }
            }
        }
    }

    /// The state after accepting `resources` of `kind`, and the table to publish if
    /// that state is consistent and differs from the one in force.
    fn accept(
        &mut self,
        kind: ResourceType,
        resources: &[Any],
    ) -> Result<(XdsResources, Option<RouteTable>), TranslateError> {
        let mut next = self.accepted.clone();
        match kind {
            ResourceType::Cluster => {
                next.clusters = resources
                    .iter()
                    .map(|any| unpack(any).map(|c: Cluster| (c.name.clone(), c)))
                    .collect::<Result<_, _>>()?;
            }
            ResourceType::Listener => {
                next.listeners = resources
                    .iter()
                    .map(|any| unpack(any).map(|l: Listener| (l.name.clone(), l)))
                    .collect::<Result<_, _>>()?;
            }
            // EDS and RDS name their resources: a response updates those it carries.
            ResourceType::Endpoint => {
                for any in resources {
                    let assignment: ClusterLoadAssignment = unpack(any)?;
                    next.assignments
                        .insert(assignment.cluster_name.clone(), assignment);
                }
            }
            ResourceType::Route => {
                for any in resources {
                    let config: RouteConfiguration = unpack(any)?;
                    next.route_configs.insert(config.name.clone(), config);
                }
            }
        }
        // Forget what no cluster or listener refers to any more.
        let eds = next.eds_names();
        let rds = next.rds_names()?;
        next.assignments.retain(|name, _| eds.contains(name));
        next.route_configs.retain(|name, _| rds.contains(name));
        let table = match next.translate()? {
            Translation::Waiting(what) => {
                tracing::debug!(%kind, waiting_for = %what, "configuration not complete yet");
                None
            }
            Translation::Ready(parts) if self.published.as_ref() == Some(&parts) => None,
            Translation::Ready(parts) => {
                let table = parts.clone().build()?;
                tracing::info!(
                    routes = parts.routes.len(),
                    revisions = parts.revisions.len(),
                    "new routing table from xDS"
                );
                self.published = Some(parts);
                Some(table)
            }
        };
        Ok((next, table))
    }

    /// Requests for EDS/RDS whose wanted names changed with the accepted state.
    fn resubscribe(&mut self) -> Vec<DiscoveryRequest> {
        let eds: Vec<String> = self.accepted.eds_names().into_iter().collect();
        // Listener decoding already succeeded in `accept`.
        let rds: Vec<String> = self
            .accepted
            .rds_names()
            .unwrap_or_default()
            .into_iter()
            .collect();
        let mut requests = Vec::new();
        for (kind, names) in [(ResourceType::Endpoint, eds), (ResourceType::Route, rds)] {
            let state = &mut self.types[kind.index()];
            if state.names != names {
                state.names = names;
                requests.push(self.request(kind, None));
            }
        }
        requests
    }

    /// A request for `kind` reporting the last accepted version and the last nonce
    /// (an ACK, or a NACK when `error` is set).
    fn request(&self, kind: ResourceType, error: Option<String>) -> DiscoveryRequest {
        let state = &self.types[kind.index()];
        DiscoveryRequest {
            version_info: state.version.clone(),
            node: Some(self.node.clone()),
            resource_names: state.names.clone(),
            type_url: kind.type_url().to_owned(),
            response_nonce: state.nonce.clone(),
            error_detail: error.map(|message| Status {
                code: INVALID_ARGUMENT,
                message,
                details: Vec::new(),
            }),
            ..Default::default()
        }
    }
}
