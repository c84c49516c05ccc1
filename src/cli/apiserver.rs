//! `fnmesh apiserver`: the embedded Kubernetes-compatible API server alone, for running
//! the other components as separate processes (or to measure it alone). It writes
//! `DIR/kubeconfig` for them and for kubectl.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use apiserver::{ApiServer, ServerConfig};

use super::component;

#[derive(Debug, clap::Args)]
pub(crate) struct ApiServerArgs {
    /// Where state (one redb file) and the kubeconfig live.
    #[arg(long, env = "FNMESH_DATA_DIR", default_value_os_t = super::up::default_data_dir())]
    pub(crate) data_dir: PathBuf,
    /// Address of the API. Anything but loopback requires a bearer token, which is
    /// written into the kubeconfig.
    #[arg(long, env = "FNMESH_API_ADDR", default_value = "127.0.0.1:6443")]
    pub(crate) api_addr: SocketAddr,
    /// Bearer token clients must send (generated when the API is not on loopback).
    #[arg(long, env = "FNMESH_TOKEN")]
    pub(crate) token: Option<String>,
}

pub(crate) fn run(args: ApiServerArgs) -> anyhow::Result<()> {
    component::block_on(async move {
        let token = token_for(args.token.as_deref(), args.api_addr);
        let server = ApiServer::bind(&ServerConfig {
            data_dir: args.data_dir.clone(),
            addr: args.api_addr,
            token: token.clone(),
        })
        .await?;
        serve_alone(server, &args.data_dir, token.as_deref()).await
    })
}

/// The token the API requires: the one given, else a fresh one off loopback.
pub(crate) fn token_for(given: Option<&str>, addr: SocketAddr) -> Option<String> {
    match (given, addr.ip().is_loopback()) {
        (Some(t), _) => Some(t.to_owned()),
        (None, true) => None,
        (None, false) => Some(uuid::Uuid::new_v4().simple().to_string()),
    }
}

/// Writes the kubeconfig, prints the banner and serves until SIGTERM / Ctrl-C.
pub(crate) async fn serve_alone(
    server: ApiServer,
    data_dir: &Path,
    token: Option<&str>,
) -> anyhow::Result<()> {
    let api_addr = server.local_addr();
    let kubeconfig = data_dir.join("kubeconfig");
    let api_url = server.url();
    apiserver::kubeconfig::write(&kubeconfig, api_addr, token, server.tls_cert_pem())
        .with_context(|| format!("writing {}", kubeconfig.display()))?;
    component::print_banner(&format!(
        "fnmesh is up (API only)\n  API:        {api_url}\n  kubeconfig: {kc}\n  try:        KUBECONFIG={kc} kubectl get ns\n",
        kc = kubeconfig.display()
    ));
    server.serve(component::shutdown_signal()).await;
    Ok(())
}
