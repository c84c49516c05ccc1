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
    #[command(flatten)]
    pub(crate) auth: AuthArgs,
    #[command(flatten)]
    head_timeout: super::head_timeout::HeadTimeoutArgs,
    #[command(flatten)]
    event_ttl: super::event_ttl::EventTtlArgs,
}

/// Who may use the API (`docs/security.md`); shared by `fnmesh up`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct AuthArgs {
    /// The admin bearer token, unrestricted and written into the kubeconfig
    /// (generated when the API is not on loopback or a token file is given).
    #[arg(long, env = "FNMESH_TOKEN")]
    pub(crate) token: Option<String>,
    /// More tokens, in kube-apiserver's static token file format
    /// (`token,user,uid,"group1,group2"`) plus an optional fifth column of the
    /// namespaces the token may touch (`"team-a,team-b"`). With it every request
    /// needs a token, on loopback too.
    #[arg(long, env = "FNMESH_TOKEN_AUTH_FILE", value_name = "FILE")]
    pub(crate) token_auth_file: Option<PathBuf>,
}

impl AuthArgs {
    /// The server config's auth part for an API on `addr`: the admin token (given,
    /// or generated when one is required) and the token file.
    pub(crate) fn resolve(&self, addr: SocketAddr) -> (Option<String>, Option<PathBuf>) {
        let required = apiserver::auth::requires_token(addr, self.token_auth_file.is_some());
        let token = match &self.token {
            Some(t) => Some(t.clone()),
            None if required => Some(uuid::Uuid::new_v4().simple().to_string()),
            None => None,
        };
        (token, self.token_auth_file.clone())
    }
}

pub(crate) fn run(args: ApiServerArgs) -> anyhow::Result<()> {
    component::block_on(async move {
        let (token, token_auth_file) = args.auth.resolve(args.api_addr);
        let server = ApiServer::bind(&ServerConfig {
            data_dir: args.data_dir.clone(),
            addr: args.api_addr,
            token: token.clone(),
            token_auth_file,
            header_read_timeout: args.head_timeout.timeout(),
            event_ttl: args.event_ttl.ttl(),
        })
        .await?;
        serve_alone(server, &args.data_dir, token.as_deref()).await
    })
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
    let shutdown = component::shutdown_signal();
    component::print_banner(&format!(
        "fnmesh is up (API only)\n  API:        {api_url}\n  kubeconfig: {kc}\n  try:        KUBECONFIG={kc} kubectl get ns\n",
        kc = kubeconfig.display()
    ));
    server.serve(shutdown).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::AuthArgs;

    fn resolve(addr: &str, token: Option<&str>, file: bool) -> (Option<String>, bool) {
        let args = AuthArgs {
            token: token.map(str::to_string),
            token_auth_file: file.then(|| "tokens.csv".into()),
        };
        let (token, file) = args.resolve(addr.parse().unwrap());
        (token, file.is_some())
    }

    #[test]
    fn an_admin_token_is_generated_only_when_one_is_required() {
        assert_eq!(resolve("127.0.0.1:6443", None, false), (None, false));
        let (generated, _) = resolve("0.0.0.0:6443", None, false);
        assert_eq!(generated.map(|t| t.len()), Some(32));
        let (generated, with_file) = resolve("127.0.0.1:6443", None, true);
        assert!(generated.is_some() && with_file);
        assert_eq!(
            resolve("0.0.0.0:6443", Some("given"), true),
            (Some("given".into()), true)
        );
    }
}
