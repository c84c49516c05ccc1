//! The snapshot → Envoy resources translation.

use std::net::SocketAddr;

use envoy_types::pb::envoy::config::cluster::v3::cluster::{ClusterDiscoveryType, DiscoveryType};
use envoy_types::pb::envoy::config::core::v3::address::Address as AddressKind;
use envoy_types::pb::envoy::config::route::v3::header_matcher::HeaderMatchSpecifier;
use envoy_types::pb::envoy::config::route::v3::route::Action;
use envoy_types::pb::envoy::config::route::v3::route_action::ClusterSpecifier;
use envoy_types::pb::envoy::config::route::v3::{Route, RouteAction, VirtualHost};
use envoy_types::pb::envoy::r#type::matcher::v3::string_matcher::MatchPattern;
use envoy_types::pb::google::protobuf::value::Kind;

use super::*;
use crate::routing::{
    ObjectKey, Protocol, ResolvedRoute, ResolvedTarget, RevisionBackend, RoutingSnapshot,
};

fn backend(name: &str, protocol: Protocol, endpoints: &[&str], timeout: u64) -> RevisionBackend {
    RevisionBackend {
        key: ObjectKey::new("default", name),
        protocol,
        endpoints: endpoints.iter().map(|e| e.parse().unwrap()).collect(),
        timeout_seconds: timeout,
        response_start_timeout_seconds: timeout,
        idle_timeout_seconds: None,
    }
}

fn target(revision: &str, percent: u32, tag: Option<&str>) -> ResolvedTarget {
    ResolvedTarget {
        revision: revision.into(),
        percent,
        tag: tag.map(Into::into),
        tag_host: tag.map(|t| format!("{t}-hello.default.example.com")),
    }
}

fn snapshot(targets: Vec<ResolvedTarget>) -> RoutingSnapshot {
    let mut s = RoutingSnapshot {
        version: 7,
        ..Default::default()
    };
    for b in [
        backend(
            "hello-00001",
            Protocol::Http1,
            &["127.0.0.1:9001", "127.0.0.1:9002"],
            30,
        ),
        backend("hello-00002", Protocol::H2c, &["127.0.0.1:9003"], 60),
    ] {
        s.backends.insert(b.key.clone(), b);
    }
    let route = ResolvedRoute {
        key: ObjectKey::new("default", "hello"),
        host: "hello.default.example.com".into(),
        targets,
    };
    s.routes.insert(route.key.clone(), route);
    s
}

fn eighty_twenty() -> RoutingSnapshot {
    snapshot(vec![
        target("hello-00001", 80, Some("current")),
        target("hello-00002", 20, Some("latest")),
        target("hello-00003", 0, Some("next")),
    ])
}

fn vhost<'a>(r: &'a Resources, name: &str) -> &'a VirtualHost {
    r.routes
        .virtual_hosts
        .iter()
        .find(|v| v.name == name)
        .unwrap()
}

fn action(route: &Route) -> &RouteAction {
    match &route.action {
        Some(Action::Route(a)) => a,
        other => panic!("not a route action: {other:?}"),
    }
}

#[test]
fn every_revision_gets_an_eds_cluster_and_an_assignment() {
    let r = resources(&eighty_twenty());
    assert_eq!(r.version, 7);
    let names: Vec<_> = r.clusters.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "default/hello-00001",
            "default/hello-00002",
            "default/hello-00003"
        ]
    );
    let h1 = &r.clusters["default/hello-00001"];
    assert_eq!(
        h1.cluster_discovery_type,
        Some(ClusterDiscoveryType::Type(DiscoveryType::Eds.into()))
    );
    assert_eq!(
        h1.eds_cluster_config.as_ref().unwrap().service_name,
        "default/hello-00001"
    );
    assert!(h1.connect_timeout.is_some());
    assert!(
        h1.typed_extension_protocol_options.is_empty(),
        "HTTP/1 needs no options"
    );
    assert_eq!(
        r.clusters["default/hello-00002"]
            .typed_extension_protocol_options
            .keys()
            .collect::<Vec<_>>(),
        ["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]
    );
    let timeout = &h1.metadata.as_ref().unwrap().filter_metadata[METADATA_NAMESPACE].fields
        [TIMEOUT_METADATA_KEY];
    assert_eq!(timeout.kind, Some(Kind::NumberValue(30.0)));

    let endpoints = |name: &str| -> Vec<SocketAddr> {
        r.assignments[name]
            .endpoints
            .iter()
            .flat_map(|l| &l.lb_endpoints)
            .map(|lb| {
                use envoy_types::pb::envoy::config::endpoint::v3::lb_endpoint::HostIdentifier;
                let Some(HostIdentifier::Endpoint(e)) = &lb.host_identifier else {
                    panic!()
                };
                let Some(AddressKind::SocketAddress(s)) = &e.address.as_ref().unwrap().address
                else {
                    panic!()
                };
                use envoy_types::pb::envoy::config::core::v3::socket_address::PortSpecifier;
                let Some(PortSpecifier::PortValue(port)) = s.port_specifier else {
                    panic!()
                };
                format!("{}:{port}", s.address).parse().unwrap()
            })
            .collect()
    };
    assert_eq!(endpoints("default/hello-00001").len(), 2);
    assert_eq!(
        endpoints("default/hello-00002"),
        ["127.0.0.1:9003".parse::<SocketAddr>().unwrap()]
    );
    // Routed before its endpoints are known: a cluster with no endpoints.
    assert!(endpoints("default/hello-00003").is_empty());
}

#[test]
fn split_becomes_weighted_clusters_after_the_tag_routes() {
    let r = resources(&eighty_twenty());
    assert_eq!(r.routes.name, ROUTE_CONFIG_NAME);
    let main = vhost(&r, "default/hello");
    assert_eq!(
        main.domains,
        ["hello.default.example.com:*", "hello.default.example.com"]
    );
    assert!(
        main.request_headers_to_remove
            .iter()
            .any(|h| h == "k-network-probe")
    );
    // Tag routes (with the header match) first, the split last.
    let tags: Vec<_> = main.routes[..3]
        .iter()
        .map(|route| {
            let header = &route.r#match.as_ref().unwrap().headers[0];
            assert_eq!(header.name, TAG_HEADER);
            let Some(HeaderMatchSpecifier::StringMatch(m)) = &header.header_match_specifier else {
                panic!()
            };
            let Some(MatchPattern::Exact(tag)) = &m.match_pattern else {
                panic!()
            };
            tag.clone()
        })
        .collect();
    assert_eq!(tags, ["current", "latest", "next"]);
    let split = main.routes.last().unwrap();
    assert!(split.r#match.as_ref().unwrap().headers.is_empty());
    let Some(ClusterSpecifier::WeightedClusters(w)) = &action(split).cluster_specifier else {
        panic!("expected weighted clusters")
    };
    let weights: Vec<_> = w
        .clusters
        .iter()
        .map(|c| (c.name.as_str(), c.weight.as_ref().unwrap().value))
        .collect();
    assert_eq!(
        weights,
        [("default/hello-00001", 80), ("default/hello-00002", 20)],
        "0% dropped"
    );
    // The split's timeout is the longest of its revisions'.
    assert_eq!(action(split).timeout.as_ref().unwrap().seconds, 60);
    // Tag hosts serve one revision with its own timeout.
    let latest = vhost(&r, "default/hello/latest");
    assert_eq!(latest.domains[1], "latest-hello.default.example.com");
    let only = action(&latest.routes[0]);
    assert_eq!(
        only.cluster_specifier,
        Some(ClusterSpecifier::Cluster("default/hello-00002".into()))
    );
    assert_eq!(only.timeout.as_ref().unwrap().seconds, 60);
    assert_eq!(r.routes.virtual_hosts.len(), 4);
}

/// The fnmesh metadata value `key` of `cluster`.
fn metadata(r: &Resources, cluster: &str, key: &str) -> Option<Kind> {
    r.clusters[cluster]
        .metadata
        .as_ref()
        .unwrap()
        .filter_metadata[METADATA_NAMESPACE]
        .fields[key]
        .kind
        .clone()
}

#[test]
fn response_start_and_idle_timeouts_reach_the_clusters_and_envoys_routes() {
    let mut s = eighty_twenty();
    let one = s
        .backends
        .get_mut(&ObjectKey::new("default", "hello-00001"))
        .unwrap();
    one.response_start_timeout_seconds = 10;
    one.idle_timeout_seconds = Some(5);
    let r = resources(&s);
    // Exact per revision in the metadata, every key always there (0: no idle limit).
    let number = |n: f64| Some(Kind::NumberValue(n));
    let one = "default/hello-00001";
    let two = "default/hello-00002";
    assert_eq!(
        metadata(&r, one, RESPONSE_START_TIMEOUT_METADATA_KEY),
        number(10.0)
    );
    assert_eq!(metadata(&r, one, IDLE_TIMEOUT_METADATA_KEY), number(5.0));
    assert_eq!(
        metadata(&r, two, RESPONSE_START_TIMEOUT_METADATA_KEY),
        number(60.0)
    );
    assert_eq!(metadata(&r, two, IDLE_TIMEOUT_METADATA_KEY), number(0.0));
    let unknown = "default/hello-00003";
    assert_eq!(
        metadata(&r, unknown, RESPONSE_START_TIMEOUT_METADATA_KEY),
        number(300.0),
        "routed before its endpoints are known: Knative's defaults"
    );
    assert_eq!(
        metadata(&r, unknown, IDLE_TIMEOUT_METADATA_KEY),
        number(0.0)
    );

    // Envoy's route idle timeout: the revision's own on a tag route, the most generous
    // of a split's, 0 (disabled) where a revision has none.
    let idle = |route: &Route| action(route).idle_timeout.as_ref().unwrap().seconds;
    let main = vhost(&r, "default/hello");
    let tag = |name: &str| main.routes.iter().find(|r| r.name == name).unwrap();
    assert_eq!(idle(tag("tag-current")), 5);
    assert_eq!(idle(tag("tag-latest")), 0);
    assert_eq!(idle(main.routes.last().unwrap()), 0, "hello-00002 has none");
    let current = vhost(&r, "default/hello/current");
    assert_eq!(idle(&current.routes[0]), 5);

    s.backends
        .get_mut(&ObjectKey::new("default", "hello-00002"))
        .unwrap()
        .idle_timeout_seconds = Some(8);
    let r = resources(&s);
    assert_eq!(idle(vhost(&r, "default/hello").routes.last().unwrap()), 8);
}

#[test]
fn single_target_uses_cluster_and_conflicting_hosts_are_dropped() {
    let mut s = snapshot(vec![target("hello-00001", 100, None)]);
    let clash = ResolvedRoute {
        key: ObjectKey::new("other", "hello"),
        host: "HELLO.default.example.com".into(),
        targets: vec![target("x", 100, None)],
    };
    s.routes.insert(clash.key.clone(), clash);
    let r = resources(&s);
    assert_eq!(
        r.routes.virtual_hosts.len(),
        1,
        "the second claimant is dropped"
    );
    let main = vhost(&r, "default/hello");
    assert_eq!(main.routes.len(), 1);
    assert_eq!(
        action(&main.routes[0]).cluster_specifier,
        Some(ClusterSpecifier::Cluster("default/hello-00001".into()))
    );
    assert_eq!(
        action(&main.routes[0]).timeout.as_ref().unwrap().seconds,
        30
    );
    assert!(
        main.routes[0]
            .request_headers_to_add
            .iter()
            .any(|h| h.header.as_ref().unwrap().value == "hello-00001")
    );
}

#[test]
fn listener_binds_the_given_address_and_fetches_the_routes() {
    use envoy_types::pb::envoy::config::core::v3::socket_address::PortSpecifier;
    let l = listener("127.0.0.1:18080".parse().unwrap());
    assert_eq!(l.name, LISTENER_NAME);
    let Some(AddressKind::SocketAddress(s)) = &l.address.as_ref().unwrap().address else {
        panic!()
    };
    assert_eq!(s.address, "127.0.0.1");
    assert_eq!(s.port_specifier, Some(PortSpecifier::PortValue(18080)));
    let filter = &l.filter_chains[0].filters[0];
    let Some(envoy_types::pb::envoy::config::listener::v3::filter::ConfigType::TypedConfig(any)) =
        &filter.config_type
    else {
        panic!()
    };
    use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager;
    use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::http_connection_manager::RouteSpecifier;
    use prost::Message;
    let hcm = HttpConnectionManager::decode(any.value.as_slice()).unwrap();
    let Some(RouteSpecifier::Rds(rds)) = hcm.route_specifier else {
        panic!()
    };
    assert_eq!(rds.route_config_name, ROUTE_CONFIG_NAME);
    assert!(hcm.use_remote_address.unwrap().value);
    // Client headers with a platform prefix go before the router adds ours.
    let filters: Vec<&str> = hcm.http_filters.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        filters,
        [
            "envoy.filters.http.header_mutation",
            "envoy.filters.http.router"
        ]
    );
}

#[test]
fn resource_types_round_trip_their_urls() {
    for kind in ResourceType::ALL {
        assert_eq!(ResourceType::from_type_url(kind.type_url()), Some(kind));
    }
    assert!(ResourceType::Cluster < ResourceType::Endpoint);
    assert!(ResourceType::Listener < ResourceType::Route);
    assert_eq!(ResourceType::from_type_url("type.googleapis.com/x"), None);
}
