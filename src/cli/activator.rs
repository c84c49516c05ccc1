//! `fnmesh activator`: the activator as a process of its own.

use std::net::SocketAddr;

use tokio::sync::watch;

use super::component::{self, ConnectArgs, Shutdown};

#[derive(Debug, clap::Args)]
pub(crate) struct ActivatorArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// Address of the activator's HTTP listener (Knative's activator port).
    #[arg(long, env = "FNMESH_ACTIVATOR_ADDR", default_value = "127.0.0.1:8012")]
    http_addr: SocketAddr,
    /// Address of `/metrics`, `/healthz` and `/readyz`.
    #[arg(long, env = "FNMESH_METRICS_ADDR", default_value = "127.0.0.1:9092")]
    metrics_addr: SocketAddr,
    #[command(flatten)]
    head_timeout: super::head_timeout::HeadTimeoutArgs,
    #[command(flatten)]
    queue_depth: super::queue_depth::QueueDepthArgs,
}

pub(crate) fn run(args: ActivatorArgs) -> anyhow::Result<()> {
    component::block_on(activator(args))
}

async fn activator(args: ActivatorArgs) -> anyhow::Result<()> {
    let listener = component::bind(args.http_addr, "activator").await?;
    let http_addr = listener.local_addr()?;
    let admin = component::bind(args.metrics_addr, "activator metrics").await?;
    let admin_addr = admin.local_addr()?;
    let connected = args.connect.connect(Some(http_addr)).await?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let stop = Shutdown(stop_rx);

    let registry = prometheus::Registry::new();
    let autoscalers = discovery::watch_addresses(
        connected.client.clone(),
        discovery::SYSTEM_NAMESPACE,
        discovery::AUTOSCALER,
        discovery::AUTOSCALER_PORT,
    );
    let config = activator::ActivatorConfig {
        instance: format!("activator-{}", connected.instance),
        host: connected.host.clone(),
        advertise_ip: connected.advertise_ip,
        publish: connected.publish,
        autoscaler: autoscalers,
        header_read_timeout: args.head_timeout.timeout(),
        queue_capacity: args.queue_depth.depth(1),
        ..activator::ActivatorConfig::default()
    };
    let ready = component::api_reachable(connected.client.clone());
    let admin_task = tokio::spawn(gateway::serve_admin(
        admin,
        registry.clone(),
        ready,
        stop.clone().wait(),
    ));
    let serving = tokio::spawn(activator::run(
        connected.client.clone(),
        listener,
        config,
        registry,
        stop.clone().wait(),
    ));
    let shutdown = component::shutdown_signal();
    component::print_banner(&format!(
        "fnmesh activator is up\n  activator:  {http_addr}\n  metrics:    http://{admin_addr}/metrics\n  instance:   {}\n  try:        curl http://{admin_addr}/readyz\n",
        connected.instance
    ));

    let mut serving = serving;
    // The activator ends early only if it cannot start (its address cannot be published).
    let result = tokio::select! {
        () = shutdown => {
            let _ = stop_tx.send(true);
            (&mut serving).await
        }
        ended = &mut serving => ended,
    };
    let _ = stop_tx.send(true);
    let _ = admin_task.await;
    match result {
        Ok(Ok(())) => {
            tracing::info!("activator stopped");
            Ok(())
        }
        Ok(Err(error)) => Err(error),
        Err(error) => Err(error.into()),
    }
}
