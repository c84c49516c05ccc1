//! The Envoy resources → table translation and the client's ACK/NACK protocol, on
//! hand-built resources shaped like a generic control plane's.

use std::time::Duration as StdDuration;

use envoy_types::pb::envoy::config::cluster::v3::Cluster;
use envoy_types::pb::envoy::config::cluster::v3::cluster::{
    ClusterDiscoveryType, DiscoveryType, EdsClusterConfig,
};
use envoy_types::pb::envoy::config::core::v3::address::Address as AddressKind;
use envoy_types::pb::envoy::config::core::v3::socket_address::PortSpecifier;
use envoy_types::pb::envoy::config::core::v3::{Address, HealthStatus, Metadata, SocketAddress};
use envoy_types::pb::envoy::config::endpoint::v3::lb_endpoint::HostIdentifier;
use envoy_types::pb::envoy::config::endpoint::v3::{
    ClusterLoadAssignment, Endpoint, LbEndpoint, LocalityLbEndpoints,
};
use envoy_types::pb::envoy::config::listener::v3::filter::ConfigType;
use envoy_types::pb::envoy::config::listener::v3::{Filter, FilterChain, Listener};
use envoy_types::pb::envoy::config::route::v3::header_matcher::HeaderMatchSpecifier;
use envoy_types::pb::envoy::config::route::v3::route::Action;
use envoy_types::pb::envoy::config::route::v3::route_action::ClusterSpecifier;
use envoy_types::pb::envoy::config::route::v3::weighted_cluster::ClusterWeight;
use envoy_types::pb::envoy::config::route::v3::{
    HeaderMatcher, Route as EnvoyRoute, RouteAction, RouteConfiguration, RouteMatch, VirtualHost,
    WeightedCluster,
};
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::http_connection_manager::RouteSpecifier;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::{
    HttpConnectionManager, Rds,
};
use envoy_types::pb::envoy::service::discovery::v3::DiscoveryResponse;
use envoy_types::pb::google::protobuf::value::Kind;
use envoy_types::pb::google::protobuf::{Any, Duration, Struct, UInt32Value, Value};
use envoy_types::util::pack_any;

use super::session::Session;
use super::*;
use crate::revision::{DEFAULT_REVISION_TIMEOUT, Protocol, RevisionKey};

fn eds_cluster(name: &str) -> Cluster {
    Cluster {
        name: name.into(),
        cluster_discovery_type: Some(ClusterDiscoveryType::Type(DiscoveryType::Eds.into())),
        eds_cluster_config: Some(EdsClusterConfig::default()),
        ..Default::default()
    }
}

fn assignment(name: &str, endpoints: &[(u16, HealthStatus)]) -> ClusterLoadAssignment {
    let lb_endpoints = endpoints
        .iter()
        .map(|(port, health)| LbEndpoint {
            health_status: (*health).into(),
            host_identifier: Some(HostIdentifier::Endpoint(Endpoint {
                address: Some(Address {
                    address: Some(AddressKind::SocketAddress(SocketAddress {
                        address: "127.0.0.1".into(),
                        port_specifier: Some(PortSpecifier::PortValue(u32::from(*port))),
                        ..Default::default()
                    })),
                }),
                ..Default::default()
            })),
            ..Default::default()
        })
        .collect();
    ClusterLoadAssignment {
        cluster_name: name.into(),
        endpoints: vec![LocalityLbEndpoints {
            lb_endpoints,
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn listener(route_config: &str) -> Listener {
    let manager = HttpConnectionManager {
        route_specifier: Some(RouteSpecifier::Rds(Rds {
            route_config_name: route_config.into(),
            ..Default::default()
        })),
        ..Default::default()
    };
    Listener {
        name: "http".into(),
        filter_chains: vec![FilterChain {
            filters: vec![Filter {
                name: "hcm".into(),
                config_type: Some(ConfigType::TypedConfig(pack_any(manager))),
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn forward(specifier: ClusterSpecifier, headers: Vec<HeaderMatcher>, timeout: i64) -> EnvoyRoute {
    EnvoyRoute {
        r#match: Some(RouteMatch {
            headers,
            ..Default::default()
        }),
        action: Some(Action::Route(RouteAction {
            cluster_specifier: Some(specifier),
            timeout: Some(Duration {
                seconds: timeout,
                nanos: 0,
            }),
            ..Default::default()
        })),
        ..Default::default()
    }
}

fn routes() -> RouteConfiguration {
    #[allow(deprecated)]
    let tag = HeaderMatcher {
        name: "Knative-Serving-Tag".into(),
        header_match_specifier: Some(HeaderMatchSpecifier::ExactMatch("canary".into())),
        ..Default::default()
    };
    let weighted = |a, b| {
        ClusterSpecifier::WeightedClusters(WeightedCluster {
            clusters: [("ns/a", a), ("ns/b", b)]
                .map(|(name, weight)| ClusterWeight {
                    name: name.into(),
                    weight: Some(UInt32Value { value: weight }),
                    ..Default::default()
                })
                .into(),
            ..Default::default()
        })
    };
    RouteConfiguration {
        name: "routes".into(),
        virtual_hosts: vec![VirtualHost {
            name: "hello".into(),
            domains: vec![
                "hello.example:*".into(),
                "Hello.Example".into(),
                "*.wild".into(),
            ],
            routes: vec![
                forward(ClusterSpecifier::Cluster("ns/b".into()), vec![tag], 20),
                forward(weighted(3, 1), vec![], 45),
            ],
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn resources() -> XdsResources {
    XdsResources {
        clusters: [
            ("ns/a".into(), eds_cluster("ns/a")),
            ("ns/b".into(), eds_cluster("ns/b")),
        ]
        .into(),
        assignments: [
            (
                "ns/a".into(),
                assignment(
                    "ns/a",
                    &[(1, HealthStatus::Healthy), (2, HealthStatus::Unhealthy)],
                ),
            ),
            (
                "ns/b".into(),
                assignment(
                    "ns/b",
                    &[(3, HealthStatus::Unknown), (3, HealthStatus::Unknown)],
                ),
            ),
        ]
        .into(),
        listeners: [("http".into(), listener("routes"))].into(),
        route_configs: [("routes".into(), routes())].into(),
    }
}

#[test]
fn generic_envoy_resources_translate() {
    let Translation::Ready(parts) = resources().translate().unwrap() else {
        panic!()
    };
    let route = &parts.routes[0];
    assert_eq!(
        route.hosts,
        ["hello.example"],
        "port wildcard folded, case folded, wildcard skipped"
    );
    let weights: Vec<_> = route
        .traffic
        .iter()
        .map(|t| (t.revision.name.as_str(), t.weight))
        .collect();
    assert_eq!(weights, [("a", 3), ("b", 1)]);
    assert_eq!(route.tags[0].tag, "canary");
    assert_eq!(route.tags[0].revision, RevisionKey::new("ns", "b"));
    let a = &parts.revisions[0];
    assert_eq!(
        a.endpoints,
        vec!["127.0.0.1:1".parse().unwrap()],
        "unhealthy dropped"
    );
    assert_eq!(
        a.timeout,
        StdDuration::from_secs(45),
        "the route's timeout without metadata"
    );
    let b = &parts.revisions[1];
    assert_eq!(b.endpoints.len(), 1, "duplicates folded");
    assert_eq!(
        b.timeout,
        StdDuration::from_secs(45),
        "the longest route timeout"
    );
    assert_eq!(b.protocol, Protocol::Http1);
    parts.build().unwrap();
}

#[test]
fn translation_waits_or_refuses() {
    let mut r = resources();
    r.assignments.remove("ns/b");
    assert!(matches!(r.translate().unwrap(), Translation::Waiting(w) if w.contains("ns/b")));
    let mut r = resources();
    r.listeners.clear();
    assert!(matches!(r.translate().unwrap(), Translation::Waiting(_)));
    let mut r = resources();
    let config = r.route_configs.get_mut("routes").unwrap();
    config.virtual_hosts[0].routes[1] =
        forward(ClusterSpecifier::Cluster("plain".into()), vec![], 0);
    assert!(matches!(r.translate().unwrap(), Translation::Ready(p) if p.routes.is_empty()));
    let mut r = resources();
    r.clusters.insert(
        "ns/a".into(),
        Cluster {
            name: "ns/a".into(),
            ..Default::default()
        },
    );
    let Translation::Ready(parts) = r.translate().unwrap() else {
        panic!()
    };
    assert!(
        parts.revisions[0].endpoints.is_empty(),
        "a static cluster without endpoints"
    );
    assert_eq!(parts.revisions[0].timeout, StdDuration::from_secs(45));
    assert_ne!(parts.revisions[0].timeout, DEFAULT_REVISION_TIMEOUT);
}

/// Sets the `idle_timeout` of route `index` of the test virtual host.
fn set_route_idle(resources: &mut XdsResources, index: usize, seconds: i64) {
    let config = resources.route_configs.get_mut("routes").unwrap();
    let Some(Action::Route(action)) = &mut config.virtual_hosts[0].routes[index].action else {
        panic!("a forwarding route")
    };
    action.idle_timeout = Some(Duration { seconds, nanos: 0 });
}

/// Puts fnmesh metadata `fields` (seconds) on cluster `name`.
fn set_metadata(resources: &mut XdsResources, name: &str, fields: &[(&str, f64)]) {
    let fields = fields
        .iter()
        .map(|(key, seconds)| {
            let value = Value {
                kind: Some(Kind::NumberValue(*seconds)),
            };
            ((*key).to_owned(), value)
        })
        .collect();
    resources.clusters.get_mut(name).unwrap().metadata = Some(Metadata {
        filter_metadata: [("fnmesh".to_owned(), Struct { fields })].into(),
        ..Default::default()
    });
}

fn limits(resources: &XdsResources) -> Vec<(Option<StdDuration>, Option<StdDuration>)> {
    let Translation::Ready(parts) = resources.translate().unwrap() else {
        panic!("consistent resources")
    };
    parts
        .revisions
        .iter()
        .map(|r| (r.response_start_timeout, r.idle_timeout))
        .collect()
}

#[test]
fn idle_and_response_start_limits_come_from_metadata_or_the_routes() {
    let secs = |n| Some(StdDuration::from_secs(n));
    let mut r = resources();
    assert_eq!(
        limits(&r),
        [(None, None), (None, None)],
        "no limits anywhere"
    );

    // Route idle timeouts: a cluster gets the longest of its routes', unless one of its
    // routes has none.
    set_route_idle(&mut r, 1, 10);
    assert_eq!(
        limits(&r),
        [(None, secs(10)), (None, None)],
        "b's tag route has none"
    );
    set_route_idle(&mut r, 0, 4);
    assert_eq!(limits(&r), [(None, secs(10)), (None, secs(10))]);
    set_route_idle(&mut r, 0, 0);
    assert_eq!(limits(&r)[1], (None, None), "zero disables, as in Envoy");

    // fnmesh metadata is exact per revision and wins over the routes; present but zero
    // means no idle limit.
    set_metadata(
        &mut r,
        "ns/a",
        &[
            ("response_start_timeout_seconds", 7.0),
            ("idle_timeout_seconds", 3.0),
        ],
    );
    set_metadata(
        &mut r,
        "ns/b",
        &[
            ("response_start_timeout_seconds", 0.0),
            ("idle_timeout_seconds", 0.0),
        ],
    );
    set_route_idle(&mut r, 0, 4);
    assert_eq!(limits(&r), [(secs(7), secs(3)), (None, None)]);
    set_metadata(&mut r, "ns/a", &[("idle_timeout_seconds", f64::INFINITY)]);
    assert_eq!(
        limits(&r)[0],
        (None, None),
        "unrepresentable is no limit, not a panic"
    );
}

fn response(
    kind: ResourceType,
    version: &str,
    nonce: &str,
    resources: Vec<Any>,
) -> DiscoveryResponse {
    DiscoveryResponse {
        version_info: version.into(),
        resources,
        type_url: kind.type_url().into(),
        nonce: nonce.into(),
        ..Default::default()
    }
}

#[test]
fn session_acks_follows_subscriptions_and_publishes_when_consistent() {
    let mut session = Session::new("gw");
    let initial = session.initial_requests();
    assert_eq!(initial.len(), 2);
    assert!(
        initial
            .iter()
            .all(|r| r.resource_names.is_empty() && r.response_nonce.is_empty())
    );

    let clusters = resources().clusters.into_values().map(pack_any).collect();
    let out = session.on_response(response(ResourceType::Cluster, "v1", "n1", clusters));
    assert!(out.table.is_none());
    assert_eq!(out.requests[0].response_nonce, "n1", "ACK");
    assert_eq!(out.requests[0].version_info, "v1");
    assert!(out.requests[0].error_detail.is_none());
    assert_eq!(out.requests[1].type_url, ResourceType::Endpoint.type_url());
    assert_eq!(out.requests[1].resource_names, ["ns/a", "ns/b"]);

    let out = session.on_response(response(
        ResourceType::Listener,
        "l1",
        "n2",
        vec![pack_any(listener("routes"))],
    ));
    assert_eq!(
        out.requests[1].resource_names,
        ["routes"],
        "RDS follows the listener"
    );
    let eds = resources()
        .assignments
        .into_values()
        .map(pack_any)
        .collect();
    assert!(
        session
            .on_response(response(ResourceType::Endpoint, "e1", "n3", eds))
            .table
            .is_none()
    );
    let out = session.on_response(response(
        ResourceType::Route,
        "r1",
        "n4",
        vec![pack_any(routes())],
    ));
    assert!(out.table.is_some(), "everything arrived: publish");

    // A broken resource is NACKed with the last good version; nothing is published.
    let garbage = Any {
        type_url: ResourceType::Route.type_url().into(),
        value: vec![0xff, 0xff],
    };
    let out = session.on_response(response(ResourceType::Route, "r2", "n5", vec![garbage]));
    assert!(out.table.is_none());
    let nack = &out.requests[0];
    assert_eq!(
        (nack.version_info.as_str(), nack.response_nonce.as_str()),
        ("r1", "n5")
    );
    assert!(
        nack.error_detail
            .as_ref()
            .unwrap()
            .message
            .contains("decode")
    );
    // The same configuration again is acknowledged but not republished.
    let out = session.on_response(response(
        ResourceType::Route,
        "r3",
        "n6",
        vec![pack_any(routes())],
    ));
    assert!(out.table.is_none() && out.requests[0].error_detail.is_none());
}
