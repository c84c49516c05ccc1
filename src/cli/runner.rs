//! `fnmesh runner`: single-node mode's stand-in for the kubelet as a process of its own:
//! it runs every Deployment's replicas as local processes. In a cluster the kubelet
//! does this and no runner runs.

use std::path::PathBuf;

use anyhow::Context as _;
use tokio::sync::watch;

use super::component::{self, ConnectArgs, Shutdown};

#[derive(Debug, clap::Args)]
pub(crate) struct RunnerArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// Where the runner keeps what it must (its replicas' logs).
    #[arg(long, env = "FNMESH_DATA_DIR", default_value_os_t = super::up::default_data_dir())]
    data_dir: PathBuf,
}

pub(crate) fn run(args: RunnerArgs) -> anyhow::Result<()> {
    component::block_on(runner(args))
}

async fn runner(args: RunnerArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating {}", args.data_dir.display()))?;
    let connected = args.connect.connect(None).await?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let stop = Shutdown(stop_rx);
    let supervisor = runner::Supervisor::new(args.data_dir.join("logs"))
        .context("starting the process runner")?;
    let running = tokio::spawn(runner::run(
        connected.client.clone(),
        supervisor,
        stop.wait(),
    ));
    let shutdown = component::shutdown_signal();
    component::print_banner(&format!(
        "fnmesh runner is up\n  data:       {}\n  instance:   {}\n  try:        kubectl get deployments -A\n",
        args.data_dir.display(),
        connected.instance
    ));
    shutdown.await;
    let _ = stop_tx.send(true);
    let _ = running.await;
    tracing::info!("runner stopped");
    Ok(())
}
