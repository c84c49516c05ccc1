//! `fnmesh up`: single-node mode — the embedded API server and (as their issues land)
//! the controller, runner, gateway, autoscaler and activator in one process.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use apiserver::{ApiServer, ServerConfig};

#[derive(Debug, clap::Args)]
pub(crate) struct UpArgs {
    /// Where state (one redb file) and the kubeconfig live.
    #[arg(long, env = "FNMESH_DATA_DIR", default_value_os_t = default_data_dir())]
    data_dir: PathBuf,
    /// Address of the Kubernetes-compatible API. Anything but loopback requires a
    /// bearer token, which is written into the kubeconfig.
    #[arg(long, env = "FNMESH_API_ADDR", default_value = "127.0.0.1:6443")]
    api_addr: SocketAddr,
    /// Address of the HTTP ingress that serves the functions.
    #[arg(long, env = "FNMESH_HTTP_ADDR", default_value = "127.0.0.1:8080")]
    http_addr: SocketAddr,
    /// Address of the controller's xDS (ADS) server (arrives with the serving components).
    #[arg(long, env = "FNMESH_XDS_ADDR", default_value = "127.0.0.1:18000")]
    xds_addr: SocketAddr,
    /// Address of the gateway's Prometheus `/metrics` (arrives with the gateway).
    #[arg(long, env = "FNMESH_METRICS_ADDR", default_value = "127.0.0.1:9464")]
    metrics_addr: SocketAddr,
    /// Bearer token clients must send (generated when the API is not on loopback).
    #[arg(long, env = "FNMESH_TOKEN")]
    token: Option<String>,
}

fn default_data_dir() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
        .join(".fnmesh")
}

pub(crate) fn run(args: UpArgs) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(up(args))
}

async fn up(args: UpArgs) -> anyhow::Result<()> {
    let token = match (&args.token, args.api_addr.ip().is_loopback()) {
        (Some(t), _) => Some(t.clone()),
        (None, true) => None,
        (None, false) => Some(uuid_token()),
    };
    let config = ServerConfig {
        data_dir: args.data_dir.clone(),
        addr: args.api_addr,
        token: token.clone(),
    };
    let server = ApiServer::bind(&config).await?;
    let api_addr = server.local_addr();
    let kubeconfig = args.data_dir.join("kubeconfig");
    apiserver::kubeconfig::write(&kubeconfig, api_addr, token.as_deref())
        .with_context(|| format!("writing {}", kubeconfig.display()))?;
    println!("fnmesh is up");
    println!("  API:        http://{api_addr}");
    println!("  kubeconfig: {}", kubeconfig.display());
    println!(
        "  ingress:    http://{} (routes arrive with the serving components)",
        args.http_addr
    );
    println!(
        "  try:        KUBECONFIG={} kubectl get ksvc",
        kubeconfig.display()
    );
    server.serve(shutdown_signal()).await;
    println!("fnmesh stopped");
    Ok(())
}

fn uuid_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
