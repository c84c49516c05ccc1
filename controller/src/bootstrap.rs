//! The bootstrap that turns a stock Envoy into an fnmesh gateway: everything dynamic
//! over one ADS stream to the controller, the listener address carried in the node
//! metadata (see [`crate::xds`] for why), the admin interface on loopback.

use std::net::SocketAddr;

use serde_json::json;

use crate::xds::LISTEN_ADDR_METADATA_KEY;

/// The static cluster through which Envoy reaches the controller's xDS server.
pub const XDS_CLUSTER: &str = "xds";
/// The Envoy node cluster fnmesh gateways report.
pub const NODE_CLUSTER: &str = "fnmesh-gateway";

/// Envoy bootstrap YAML for a gateway named `node_id` that fetches its configuration
/// from `xds_addr`, serves traffic on `listen_addr` and its admin API on `admin_addr`
/// (keep that on loopback: it can reconfigure and stop the proxy).
pub fn envoy_bootstrap(
    xds_addr: SocketAddr,
    listen_addr: SocketAddr,
    admin_addr: SocketAddr,
    node_id: &str,
) -> String {
    let ads = json!({ "resource_api_version": "V3", "ads": {} });
    let bootstrap = json!({
        "node": {
            "id": node_id,
            "cluster": NODE_CLUSTER,
            "metadata": { LISTEN_ADDR_METADATA_KEY: listen_addr.to_string() },
        },
        "dynamic_resources": {
            "ads_config": {
                "api_type": "GRPC",
                "transport_api_version": "V3",
                "set_node_on_first_message_only": true,
                "grpc_services": [{ "envoy_grpc": { "cluster_name": XDS_CLUSTER } }],
            },
            "cds_config": ads,
            "lds_config": ads,
        },
        "static_resources": {
            "clusters": [{
                "name": XDS_CLUSTER,
                "type": "STATIC",
                "connect_timeout": "1s",
                // gRPC needs HTTP/2.
                "typed_extension_protocol_options": {
                    "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                        "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                        "explicit_http_config": { "http2_protocol_options": {} },
                    },
                },
                "load_assignment": {
                    "cluster_name": XDS_CLUSTER,
                    "endpoints": [{ "lb_endpoints": [{ "endpoint": { "address": socket_address(xds_addr) } }] }],
                },
            }],
        },
        "admin": { "address": socket_address(admin_addr) },
    });
    serde_saphyr::to_string(&bootstrap).expect("a JSON value always serialises to YAML")
}

fn socket_address(addr: SocketAddr) -> serde_json::Value {
    json!({ "socket_address": { "address": addr.ip().to_string(), "port_value": addr.port() } })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_carries_node_ads_and_addresses() {
        let yaml = envoy_bootstrap(
            "127.0.0.1:18000".parse().unwrap(),
            "0.0.0.0:8080".parse().unwrap(),
            "127.0.0.1:9901".parse().unwrap(),
            "gw-\"1\"",
        );
        let value: serde_json::Value = serde_saphyr::from_str(&yaml).unwrap();
        assert_eq!(value["node"]["id"], "gw-\"1\"");
        assert_eq!(
            value["node"]["metadata"][LISTEN_ADDR_METADATA_KEY],
            "0.0.0.0:8080"
        );
        assert_eq!(value["dynamic_resources"]["ads_config"]["api_type"], "GRPC");
        assert_eq!(
            value["static_resources"]["clusters"][0]["load_assignment"]["endpoints"][0]["lb_endpoints"]
                [0]["endpoint"]["address"]["socket_address"]["port_value"],
            18000
        );
        assert_eq!(
            value["admin"]["address"]["socket_address"]["address"],
            "127.0.0.1"
        );
    }
}
