//! Unpacking `Any`s and reading the few nested, typed fields the gateway needs: a
//! listener's route configuration name and a cluster's upstream protocol.

use envoy_types::pb::envoy::config::cluster::v3::Cluster;
use envoy_types::pb::envoy::config::cluster::v3::cluster::{ClusterDiscoveryType, DiscoveryType};
use envoy_types::pb::envoy::config::listener::v3::Listener;
use envoy_types::pb::envoy::config::listener::v3::filter::ConfigType;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::http_connection_manager::RouteSpecifier;
use envoy_types::pb::envoy::extensions::upstreams::http::v3::HttpProtocolOptions;
use envoy_types::pb::envoy::extensions::upstreams::http::v3::http_protocol_options::{
    UpstreamProtocolOptions, explicit_http_config::ProtocolConfig,
};
use envoy_types::pb::google::protobuf::Any;
use prost::{Message, Name};

use super::translate::TranslateError;
use crate::revision::Protocol;

const HTTP_PROTOCOL_OPTIONS_KEY: &str = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

/// Unpacks `any` as a `T`, refusing any other type.
pub(super) fn unpack<T: Message + Name + Default>(any: &Any) -> Result<T, TranslateError> {
    if any.type_url != T::type_url() {
        return Err(TranslateError::UnexpectedType {
            expected: T::type_url(),
            got: any.type_url.clone(),
        });
    }
    T::decode(any.value.as_slice()).map_err(|source| TranslateError::Decode {
        type_url: any.type_url.clone(),
        source,
    })
}

/// The HTTP connection managers of a listener's filter chains.
pub(super) fn http_managers(
    listener: &Listener,
) -> Result<Vec<HttpConnectionManager>, TranslateError> {
    let mut managers = Vec::new();
    for filter in listener
        .filter_chains
        .iter()
        .chain(&listener.default_filter_chain)
        .flat_map(|chain| &chain.filters)
    {
        if let Some(ConfigType::TypedConfig(any)) = &filter.config_type
            && any.type_url == HttpConnectionManager::type_url()
        {
            managers.push(unpack(any)?);
        }
    }
    Ok(managers)
}

/// The route configuration names a listener fetches over RDS.
pub(super) fn rds_names(listener: &Listener) -> Result<Vec<String>, TranslateError> {
    Ok(http_managers(listener)?
        .into_iter()
        .filter_map(|m| match m.route_specifier {
            Some(RouteSpecifier::Rds(rds)) => Some(rds.route_config_name),
            _ => None,
        })
        .collect())
}

/// The name under which a cluster's endpoints come over EDS, if they do.
pub(super) fn eds_name(cluster: &Cluster) -> Option<&str> {
    let eds = i32::from(DiscoveryType::Eds);
    if cluster.cluster_discovery_type != Some(ClusterDiscoveryType::Type(eds)) {
        return None;
    }
    Some(
        cluster
            .eds_cluster_config
            .as_ref()
            .map(|c| c.service_name.as_str())
            .filter(|s| !s.is_empty())
            .unwrap_or(&cluster.name),
    )
}

/// HTTP/2 upstream options (the current or the deprecated field) mean h2c.
pub(super) fn protocol(cluster: &Cluster) -> Result<Protocol, TranslateError> {
    #[allow(deprecated)]
    if cluster.http2_protocol_options.is_some() {
        return Ok(Protocol::H2c);
    }
    let Some(any) = cluster
        .typed_extension_protocol_options
        .get(HTTP_PROTOCOL_OPTIONS_KEY)
    else {
        return Ok(Protocol::Http1);
    };
    let options: HttpProtocolOptions = unpack(any)?;
    Ok(match options.upstream_protocol_options {
        Some(UpstreamProtocolOptions::ExplicitHttpConfig(explicit)) => {
            match explicit.protocol_config {
                Some(ProtocolConfig::Http2ProtocolOptions(_)) => Protocol::H2c,
                _ => Protocol::Http1,
            }
        }
        _ => Protocol::Http1,
    })
}
