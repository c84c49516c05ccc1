//! `fnmesh envoy-bootstrap`: a bootstrap with which a stock Envoy takes its listener,
//! routes, clusters and endpoints from fnmesh's xDS server — the same routes the built-in
//! gateway serves.

use std::net::SocketAddr;

#[derive(Debug, clap::Args)]
pub(crate) struct EnvoyBootstrapArgs {
    /// The xDS server (`fnmesh up --xds-addr`).
    #[arg(long, default_value = "127.0.0.1:18000")]
    xds_addr: SocketAddr,
    /// Where Envoy should serve HTTP.
    #[arg(long, default_value = "127.0.0.1:8081")]
    listen_addr: SocketAddr,
    /// Envoy's admin interface (loopback).
    #[arg(long, default_value = "127.0.0.1:9901")]
    admin_addr: SocketAddr,
    /// The xDS node id.
    #[arg(long, default_value = "fnmesh-envoy")]
    node_id: String,
}

pub(crate) fn run(args: &EnvoyBootstrapArgs) {
    print!(
        "{}",
        controller::bootstrap::envoy_bootstrap(
            args.xds_addr,
            args.listen_addr,
            args.admin_addr,
            &args.node_id
        )
    );
}
