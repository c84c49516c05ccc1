//! `fnmesh autoscaler`: the KPA autoscaler as a process of its own.

use std::net::SocketAddr;

use tokio::sync::watch;

use super::component::{self, ConnectArgs, Shutdown};
use super::election::{AUTOSCALER_LEASE, ElectionArgs};

#[derive(Debug, clap::Args)]
pub(crate) struct AutoscalerRunArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    #[command(flatten)]
    election: ElectionArgs,
    /// Address of the metrics stream (gRPC) the gateways and activators report to.
    #[arg(long, env = "FNMESH_STATS_ADDR", default_value = "127.0.0.1:18080")]
    stats_addr: SocketAddr,
    /// Address of `/metrics`, `/healthz` and `/readyz`.
    #[arg(long, env = "FNMESH_METRICS_ADDR", default_value = "127.0.0.1:9091")]
    metrics_addr: SocketAddr,
}

pub(crate) async fn run(args: AutoscalerRunArgs) -> anyhow::Result<()> {
    let stats = component::bind(args.stats_addr, "autoscaler metrics stream").await?;
    let stats_addr = stats.local_addr()?;
    let admin = component::bind(args.metrics_addr, "autoscaler metrics").await?;
    let admin_addr = admin.local_addr()?;
    let connected = args.connect.connect(Some(stats_addr)).await?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let stop = Shutdown(stop_rx);

    let registry = prometheus::Registry::new();
    // Every replica decides; only the Lease's holder scales.
    let elector = args.election.elect(&connected, AUTOSCALER_LEASE)?;
    let scaling = tokio::spawn(autoscaler::run(
        connected.client.clone(),
        stats,
        registry.clone(),
        elector.leadership(),
        stop.clone().wait(),
    ));
    let ready = component::api_reachable(connected.client.clone());
    let admin_task = tokio::spawn(gateway::serve_admin(
        admin,
        registry,
        ready,
        stop.clone().wait(),
    ));
    let published = component::publish(
        &connected,
        "autoscaler",
        discovery::AUTOSCALER,
        discovery::AUTOSCALER_PORT,
        stats_addr,
    );
    let shutdown = component::shutdown_signal();
    component::print_banner(&format!(
        "fnmesh autoscaler is up\n  stats:      {stats_addr}\n  metrics:    http://{admin_addr}/metrics\n  instance:   {}\n  try:        curl http://{admin_addr}/metrics\n",
        connected.instance
    ));

    shutdown.await;
    published.withdraw().await;
    let _ = stop_tx.send(true);
    let _ = scaling.await;
    // The other replica takes over at once instead of waiting out the lease.
    elector.release().await;
    let _ = admin_task.await;
    tracing::info!("autoscaler stopped");
    Ok(())
}
