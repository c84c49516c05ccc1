//! `fnmesh controller`: the reconcilers and the xDS server as a process of their own.

use std::net::SocketAddr;

use tokio::sync::watch;

use super::component::{self, ConnectArgs, Shutdown};
use super::election::{CONTROLLER_LEASE, ElectionArgs};

#[derive(Debug, clap::Args)]
pub(crate) struct ControllerArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    #[command(flatten)]
    election: ElectionArgs,
    /// Address of the xDS (ADS) server the gateways (or a stock Envoy) follow.
    #[arg(long, env = "FNMESH_XDS_ADDR", default_value = "127.0.0.1:18000")]
    xds_addr: SocketAddr,
    /// Address of `/metrics`, `/healthz` and `/readyz`.
    #[arg(long, env = "FNMESH_METRICS_ADDR", default_value = "127.0.0.1:9090")]
    metrics_addr: SocketAddr,
}

pub(crate) fn run(args: ControllerArgs) -> anyhow::Result<()> {
    component::block_on(controller(args))
}

async fn controller(args: ControllerArgs) -> anyhow::Result<()> {
    let xds = component::bind(args.xds_addr, "xDS server").await?;
    let xds_addr = xds.local_addr()?;
    let admin = component::bind(args.metrics_addr, "controller metrics").await?;
    let admin_addr = admin.local_addr()?;
    let connected = args.connect.connect(Some(xds_addr)).await?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let stop = Shutdown(stop_rx);

    let routing = controller::RoutingTable::filled_by_watches();
    // Every replica reconciles and serves xDS; only the Lease's holder writes.
    let elector = args.election.elect(&connected, CONTROLLER_LEASE)?;
    let reconcilers = tokio::spawn(controller::run(
        connected.client.clone(),
        routing.clone(),
        elector.leadership(),
    ));
    let xds_task = tokio::spawn(controller::xds::serve(xds, routing, stop.clone().wait()));
    let ready = component::api_reachable(connected.client.clone());
    let admin_task = tokio::spawn(gateway::serve_admin(
        admin,
        prometheus::Registry::new(),
        ready,
        stop.clone().wait(),
    ));
    let published = component::publish(
        &connected,
        "controller",
        discovery::CONTROLLER,
        discovery::CONTROLLER_XDS_PORT,
        xds_addr,
    );
    let shutdown = component::shutdown_signal();
    component::print_banner(&format!(
        "fnmesh controller is up\n  xDS:        {xds_addr}\n  metrics:    http://{admin_addr}/metrics\n  instance:   {}\n  try:        fnmesh gateway --kubeconfig <kubeconfig>\n",
        connected.instance
    ));

    shutdown.await;
    published.withdraw().await;
    reconcilers.abort();
    // The other replica takes over at once instead of waiting out the lease.
    elector.release().await;
    let _ = stop_tx.send(true);
    let _ = xds_task.await;
    let _ = admin_task.await;
    tracing::info!("controller stopped");
    Ok(())
}
