//! `fnmesh gateway`: the ingress data plane as a process of its own. It finds the
//! controller's xDS server and the autoscalers through their EndpointSlices and follows
//! them as they move.

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::sync::Arc;

use tokio::sync::watch;

use super::component::{self, ConnectArgs, Shutdown};

#[derive(Debug, clap::Args)]
pub(crate) struct GatewayArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// Address of the HTTP ingress that serves the functions.
    #[arg(long, env = "FNMESH_HTTP_ADDR", default_value = "127.0.0.1:8080")]
    http_addr: SocketAddr,
    /// Address of `/metrics`, `/healthz` and `/readyz`.
    #[arg(long, env = "FNMESH_METRICS_ADDR", default_value = "127.0.0.1:9464")]
    metrics_addr: SocketAddr,
    /// Threads serving the ingress, each with its own event loop and upstream
    /// connections [default: one per CPU].
    #[arg(long, env = "FNMESH_GATEWAY_THREADS")]
    threads: Option<NonZeroUsize>,
    #[command(flatten)]
    head_timeout: super::head_timeout::HeadTimeoutArgs,
}

pub(crate) fn run(args: GatewayArgs) -> anyhow::Result<()> {
    component::block_on(gateway(args))
}

async fn gateway(args: GatewayArgs) -> anyhow::Result<()> {
    let http = component::bind(args.http_addr, "HTTP ingress").await?;
    let http_addr = http.local_addr()?;
    let admin = component::bind(args.metrics_addr, "gateway metrics").await?;
    let admin_addr = admin.local_addr()?;
    let connected = args.connect.connect(Some(http_addr)).await?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let stop = Shutdown(stop_rx);

    let config = Arc::new(
        gateway::GatewayConfig::default().with_header_read_timeout(args.head_timeout.timeout()),
    );
    let controllers = discovery::watch_addresses(
        connected.client.clone(),
        discovery::SYSTEM_NAMESPACE,
        discovery::CONTROLLER,
        discovery::CONTROLLER_XDS_PORT,
    );
    let xds_addr = discovery::first_address(controllers);
    // Ready once it has its first table (it accepts no connection before, see
    // `gateway::serve`).
    let ready = config.has_table();
    let xds_client = tokio::spawn(gateway::xds_client::run(
        xds_addr,
        format!("fnmesh-gateway-{}", connected.instance),
        Arc::clone(&config),
    ));
    let autoscalers = discovery::watch_addresses(
        connected.client.clone(),
        discovery::SYSTEM_NAMESPACE,
        discovery::AUTOSCALER,
        discovery::AUTOSCALER_PORT,
    );
    let reports = gateway::report_stats(
        &config,
        autoscalers,
        format!("gateway-{}", connected.instance),
    );
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN));
    let serving =
        gateway::serve_on_threads(http, Arc::clone(&config), threads, stop.clone().wait());
    let serving = tokio::spawn(async move {
        if let Err(error) = serving.await {
            tracing::error!(%error, "the gateway could not start its worker threads");
        }
    });
    let admin_task = tokio::spawn(gateway::serve_admin(
        admin,
        config.registry().clone(),
        ready,
        stop.clone().wait(),
    ));
    let shutdown = component::shutdown_signal();
    component::print_banner(&format!(
        "fnmesh gateway is up\n  ingress:    http://{http_addr}\n  metrics:    http://{admin_addr}/metrics\n  instance:   {}\n  try:        curl -H 'Host: hello.default.example.com' http://{http_addr}/\n",
        connected.instance
    ));

    shutdown.await;
    xds_client.abort();
    reports.abort();
    let _ = stop_tx.send(true);
    let _ = serving.await;
    let _ = admin_task.await;
    tracing::info!("gateway stopped");
    Ok(())
}
