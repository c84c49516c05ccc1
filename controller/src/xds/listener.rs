//! The `fnmesh-http` listener: HTTP/1.1 and h2c on one port, routes from RDS over ADS,
//! behaving as the edge proxy it is (it owns `X-Forwarded-For`/`-Proto`).

use std::net::SocketAddr;

use envoy_types::pb::envoy::config::common::mutation_rules::v3::HeaderMutation;
use envoy_types::pb::envoy::config::common::mutation_rules::v3::header_mutation::{
    Action as MutationAction, RemoveOnMatch,
};
use envoy_types::pb::envoy::config::core::v3::address::Address as AddressKind;
use envoy_types::pb::envoy::config::core::v3::socket_address::PortSpecifier;
use envoy_types::pb::envoy::config::core::v3::{Address, SocketAddress};
use envoy_types::pb::envoy::config::listener::v3::filter::ConfigType;
use envoy_types::pb::envoy::config::listener::v3::{Filter, FilterChain, Listener};
use envoy_types::pb::envoy::extensions::filters::http::header_mutation::v3::{
    HeaderMutation as HeaderMutationFilter, Mutations,
};
use envoy_types::pb::envoy::extensions::filters::http::router::v3::Router;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::http_connection_manager::{
    CodecType, RouteSpecifier, UpgradeConfig,
};
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::http_filter::ConfigType as HttpFilterConfig;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::{
    HttpConnectionManager, HttpFilter, Rds,
};
use envoy_types::pb::envoy::r#type::matcher::v3::StringMatcher;
use envoy_types::pb::envoy::r#type::matcher::v3::string_matcher::MatchPattern;
use envoy_types::pb::google::protobuf::BoolValue;
use envoy_types::util::pack_any;

use super::resources::ads_source;
use super::{LISTENER_NAME, ROUTE_CONFIG_NAME};

/// The name prefixes Knative reserves for the platform (`K-Network-Probe`,
/// `Knative-Serving-Revision`, …), as the gateway's `internal_headers` has them.
const INTERNAL_PREFIXES: [&str; 2] = ["k-", "knative-serving-"];

/// The listener for a proxy that binds `addr`.
pub fn listener(addr: SocketAddr) -> Listener {
    let router = HttpFilter {
        name: "envoy.filters.http.router".into(),
        config_type: Some(HttpFilterConfig::TypedConfig(pack_any(Router::default()))),
        ..Default::default()
    };
    let manager = HttpConnectionManager {
        stat_prefix: "fnmesh".into(),
        codec_type: CodecType::Auto.into(),
        route_specifier: Some(RouteSpecifier::Rds(Rds {
            config_source: Some(ads_source()),
            route_config_name: ROUTE_CONFIG_NAME.into(),
        })),
        http_filters: vec![strip_internal_headers(), router],
        // The first hop for clients: record the real peer in X-Forwarded-For and set
        // X-Forwarded-Proto from our own connection instead of trusting the client's.
        use_remote_address: Some(BoolValue { value: true }),
        xff_num_trusted_hops: 0,
        // Knative functions may serve WebSockets.
        upgrade_configs: vec![UpgradeConfig {
            upgrade_type: "websocket".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    Listener {
        name: LISTENER_NAME.into(),
        address: Some(Address {
            address: Some(AddressKind::SocketAddress(SocketAddress {
                address: addr.ip().to_string(),
                port_specifier: Some(PortSpecifier::PortValue(u32::from(addr.port()))),
                ..Default::default()
            })),
        }),
        filter_chains: vec![FilterChain {
            filters: vec![Filter {
                name: "envoy.filters.network.http_connection_manager".into(),
                config_type: Some(ConfigType::TypedConfig(pack_any(manager))),
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// Drops every client header with a platform prefix, as the gateway does. A virtual
/// host's `request_headers_to_remove` takes exact names only, so whatever `K-*` it did
/// not list reached the function. The route is chosen before this filter runs (the tag
/// header still routes), and the router adds the revision headers after it.
fn strip_internal_headers() -> HttpFilter {
    let remove = |prefix: &str| HeaderMutation {
        action: Some(MutationAction::RemoveOnMatch(RemoveOnMatch {
            key_matcher: Some(StringMatcher {
                match_pattern: Some(MatchPattern::Prefix(prefix.to_owned())),
                ignore_case: true,
            }),
        })),
    };
    let mutations = HeaderMutationFilter {
        mutations: Some(Mutations {
            request_mutations: INTERNAL_PREFIXES.iter().map(|p| remove(p)).collect(),
            ..Default::default()
        }),
        ..Default::default()
    };
    HttpFilter {
        name: "envoy.filters.http.header_mutation".into(),
        config_type: Some(HttpFilterConfig::TypedConfig(pack_any(mutations))),
        ..Default::default()
    }
}
