//! Routing snapshot → Envoy resources: clusters, their load assignments and the route
//! configuration. Pure, so it is unit tested without a stream and computed once per
//! routing change for every connected gateway.

use std::collections::{BTreeMap, BTreeSet};

use envoy_types::pb::envoy::config::cluster::v3::Cluster;
use envoy_types::pb::envoy::config::cluster::v3::cluster::{
    ClusterDiscoveryType, DiscoveryType, EdsClusterConfig,
};
use envoy_types::pb::envoy::config::core::v3::address::Address as AddressKind;
use envoy_types::pb::envoy::config::core::v3::config_source::ConfigSourceSpecifier;
use envoy_types::pb::envoy::config::core::v3::socket_address::PortSpecifier;
use envoy_types::pb::envoy::config::core::v3::{
    Address, AggregatedConfigSource, ApiVersion, ConfigSource, Http2ProtocolOptions, Metadata,
    SocketAddress,
};
use envoy_types::pb::envoy::config::endpoint::v3::lb_endpoint::HostIdentifier;
use envoy_types::pb::envoy::config::endpoint::v3::{
    ClusterLoadAssignment, Endpoint, LbEndpoint, LocalityLbEndpoints,
};
use envoy_types::pb::envoy::config::route::v3::RouteConfiguration;
use envoy_types::pb::envoy::extensions::upstreams::http::v3::HttpProtocolOptions;
use envoy_types::pb::envoy::extensions::upstreams::http::v3::http_protocol_options::{
    ExplicitHttpConfig, UpstreamProtocolOptions, explicit_http_config::ProtocolConfig,
};
use envoy_types::pb::google::protobuf::{Duration, Struct, Value, value::Kind};
use envoy_types::util::pack_any;

use super::route_config::route_configuration;
use super::{
    IDLE_TIMEOUT_METADATA_KEY, METADATA_NAMESPACE, RESPONSE_START_TIMEOUT_METADATA_KEY,
    TIMEOUT_METADATA_KEY,
};
use crate::routing::{ObjectKey, Protocol, RevisionBackend, RoutingSnapshot};

/// TCP connect timeout to a revision endpoint: local replicas answer at once, so a slow
/// connect means a dead endpoint and another one should be tried.
const CONNECT_TIMEOUT_SECONDS: i64 = 5;
/// The extension key under which Envoy looks for upstream HTTP protocol options.
const HTTP_PROTOCOL_OPTIONS_KEY: &str = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

/// Everything a gateway gets for one routing snapshot, except the listener, which
/// depends on the gateway's own address (see [`super::listener`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Resources {
    /// The routing snapshot's version.
    pub version: u64,
    /// Cluster name (`<namespace>/<revision>`) → cluster.
    pub clusters: BTreeMap<String, Cluster>,
    /// Cluster name → its endpoints (empty for a revision with no ready endpoints).
    pub assignments: BTreeMap<String, ClusterLoadAssignment>,
    /// The route configuration [`super::ROUTE_CONFIG_NAME`].
    pub routes: RouteConfiguration,
}

/// Translates a routing snapshot. Every revision that has endpoints or is targeted by a
/// route gets a cluster; a routed revision whose endpoints are not known yet gets an
/// empty load assignment (requests to it fail fast instead of the route vanishing).
pub fn resources(snapshot: &RoutingSnapshot) -> Resources {
    let mut backends: BTreeMap<ObjectKey, RevisionBackend> = snapshot
        .backends
        .values()
        .map(|b| (b.key.clone(), b.clone()))
        .collect();
    for route in snapshot.routes.values() {
        for target in &route.targets {
            let key = ObjectKey::new(route.key.namespace.clone(), target.revision.clone());
            backends.entry(key.clone()).or_insert_with(|| {
                RevisionBackend::with_default_timeouts(key, Protocol::default(), Vec::new())
            });
        }
    }
    let mut clusters = BTreeMap::new();
    let mut assignments = BTreeMap::new();
    for backend in backends.values() {
        let name = cluster_name(&backend.key);
        clusters.insert(name.clone(), cluster(&name, backend));
        assignments.insert(name.clone(), load_assignment(&name, backend));
    }
    Resources {
        version: snapshot.version,
        clusters,
        assignments,
        routes: route_configuration(snapshot.routes.values(), &backends),
    }
}

/// `<namespace>/<revision>`, the contract's cluster name.
pub(crate) fn cluster_name(key: &ObjectKey) -> String {
    format!("{}/{}", key.namespace, key.name)
}

/// The clusters a route configuration sends traffic to.
pub(crate) fn referenced_clusters(routes: &RouteConfiguration) -> BTreeSet<String> {
    use envoy_types::pb::envoy::config::route::v3::route::Action;
    use envoy_types::pb::envoy::config::route::v3::route_action::ClusterSpecifier;
    let mut names = BTreeSet::new();
    for route in routes.virtual_hosts.iter().flat_map(|v| &v.routes) {
        let Some(Action::Route(action)) = &route.action else {
            continue;
        };
        match &action.cluster_specifier {
            Some(ClusterSpecifier::Cluster(name)) => {
                names.insert(name.clone());
            }
            Some(ClusterSpecifier::WeightedClusters(weighted)) => {
                names.extend(weighted.clusters.iter().map(|c| c.name.clone()));
            }
            _ => {}
        }
    }
    names
}

/// "Over the same ADS stream", for EDS and RDS.
pub(crate) fn ads_source() -> ConfigSource {
    ConfigSource {
        resource_api_version: ApiVersion::V3.into(),
        config_source_specifier: Some(ConfigSourceSpecifier::Ads(AggregatedConfigSource {})),
        ..Default::default()
    }
}

fn cluster(name: &str, backend: &RevisionBackend) -> Cluster {
    let mut typed_extension_protocol_options = std::collections::HashMap::new();
    if backend.protocol == Protocol::H2c {
        let options = HttpProtocolOptions {
            upstream_protocol_options: Some(UpstreamProtocolOptions::ExplicitHttpConfig(
                ExplicitHttpConfig {
                    protocol_config: Some(ProtocolConfig::Http2ProtocolOptions(
                        Http2ProtocolOptions::default(),
                    )),
                },
            )),
            ..Default::default()
        };
        typed_extension_protocol_options
            .insert(HTTP_PROTOCOL_OPTIONS_KEY.to_owned(), pack_any(options));
    }
    let seconds = |seconds: u64| Value {
        // Seconds fit an f64 exactly far beyond any sane timeout.
        #[allow(clippy::cast_precision_loss)]
        kind: Some(Kind::NumberValue(seconds as f64)),
    };
    // Every key is always present (0: no idle limit), so a gateway never falls back to
    // the route's limits, which are a split's most generous.
    let fields = [
        (TIMEOUT_METADATA_KEY, backend.timeout_seconds),
        (
            RESPONSE_START_TIMEOUT_METADATA_KEY,
            backend.response_start_timeout_seconds,
        ),
        (
            IDLE_TIMEOUT_METADATA_KEY,
            backend.idle_timeout_seconds.unwrap_or(0),
        ),
    ]
    .map(|(key, value)| (key.to_owned(), seconds(value)));
    let metadata = Metadata {
        filter_metadata: [(
            METADATA_NAMESPACE.to_owned(),
            Struct {
                fields: fields.into(),
            },
        )]
        .into(),
        ..Default::default()
    };
    Cluster {
        name: name.to_owned(),
        connect_timeout: Some(Duration {
            seconds: CONNECT_TIMEOUT_SECONDS,
            nanos: 0,
        }),
        cluster_discovery_type: Some(ClusterDiscoveryType::Type(DiscoveryType::Eds.into())),
        eds_cluster_config: Some(EdsClusterConfig {
            eds_config: Some(ads_source()),
            service_name: name.to_owned(),
        }),
        typed_extension_protocol_options,
        metadata: Some(metadata),
        ..Default::default()
    }
}

fn load_assignment(name: &str, backend: &RevisionBackend) -> ClusterLoadAssignment {
    let lb_endpoints: Vec<LbEndpoint> = backend
        .endpoints
        .iter()
        .map(|addr| LbEndpoint {
            host_identifier: Some(HostIdentifier::Endpoint(Endpoint {
                address: Some(Address {
                    address: Some(AddressKind::SocketAddress(SocketAddress {
                        address: addr.ip().to_string(),
                        port_specifier: Some(PortSpecifier::PortValue(u32::from(addr.port()))),
                        ..Default::default()
                    })),
                }),
                ..Default::default()
            })),
            ..Default::default()
        })
        .collect();
    ClusterLoadAssignment {
        cluster_name: name.to_owned(),
        endpoints: if lb_endpoints.is_empty() {
            Vec::new()
        } else {
            vec![LocalityLbEndpoints {
                lb_endpoints,
                ..Default::default()
            }]
        },
        ..Default::default()
    }
}

/// An assignment with no endpoints.
pub(crate) fn empty_assignment(name: &str) -> ClusterLoadAssignment {
    ClusterLoadAssignment {
        cluster_name: name.to_owned(),
        ..Default::default()
    }
}
