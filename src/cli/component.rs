//! What every standalone component shares: how it reaches the API (a kubeconfig, or the
//! pod's service account in a cluster), its shutdown signal, its admin port, its banner,
//! and publishing its own listener where no Kubernetes does (see `discovery`).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// How a component reaches the API and how it names itself.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ConnectArgs {
    /// The kubeconfig to reach the API with. Without it: `KUBECONFIG`, then the pod's
    /// service account (`KUBERNETES_SERVICE_HOST`), then `~/.kube/config`.
    #[arg(long, value_name = "FILE")]
    kubeconfig: Option<PathBuf>,
    /// The IP to publish for a listener bound to an unspecified address (0.0.0.0).
    #[arg(long, env = "POD_IP", value_name = "IP")]
    advertise_ip: Option<IpAddr>,
    /// This instance's name: it names the EndpointSlice the component publishes
    /// outside a cluster, its stat reports and (for the controller and the autoscaler)
    /// its leader-election identity [default: <host name>-<listen port>].
    #[arg(long, env = "POD_NAME")]
    instance: Option<String>,
}

/// A component connected to the API.
#[derive(Clone)]
pub(crate) struct Connected {
    pub(crate) client: kube::Client,
    /// What `client` was built from, for a client of its own (leader election's).
    pub(crate) config: kube::Config,
    /// Whether to publish its own EndpointSlices: outside a cluster only.
    pub(crate) publish: bool,
    pub(crate) instance: String,
    /// The host name, which published slices carry (see `discovery::prune_dead`).
    pub(crate) host: String,
    pub(crate) advertise_ip: Option<IpAddr>,
}

impl ConnectArgs {
    /// Connects the component whose main listener is `listening` (which names the
    /// instance unless `--instance` does).
    pub(crate) async fn connect(&self, listening: Option<SocketAddr>) -> anyhow::Result<Connected> {
        let config = match &self.kubeconfig {
            Some(path) => {
                let kubeconfig = kube::config::Kubeconfig::read_from(path)
                    .with_context(|| format!("reading the kubeconfig {}", path.display()))?;
                kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
                    .await
                    .with_context(|| format!("using the kubeconfig {}", path.display()))?
            }
            None => kube::Config::infer().await.context(
                "finding the API: no --kubeconfig, KUBECONFIG, service account or ~/.kube/config",
            )?,
        };
        let client = kube::Client::try_from(config.clone()).context("building the API client")?;
        // In a pod without an explicit kubeconfig, Kubernetes writes the Services'
        // EndpointSlices from deploy/'s selectors.
        let publish = self.kubeconfig.is_some()
            || std::env::var_os("KUBECONFIG").is_some()
            || !discovery::in_cluster();
        let host = host_name();
        Ok(Connected {
            client,
            config,
            publish,
            instance: self
                .instance
                .clone()
                .unwrap_or_else(|| default_instance(&host, listening)),
            host,
            advertise_ip: self.advertise_ip,
        })
    }
}

/// Two replicas on one host cannot listen on one port, and a restart on a fixed port
/// gets the same one: host and port tell replicas apart and keep a restarted
/// instance's name, so it replaces its own slice. A listener on `:0` gets another port
/// at each start; the slice its killed predecessor left is deleted when found dead
/// (`discovery::prune_dead`).
fn default_instance(host: &str, listening: Option<SocketAddr>) -> String {
    match listening {
        Some(addr) => format!("{host}-{}", addr.port()),
        None => host.to_owned(),
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        // Slice names are DNS names: lower case.
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// Runs `component` on a fresh multi-threaded runtime.
pub(crate) fn block_on<F: Future<Output = anyhow::Result<()>>>(component: F) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(component)
}

pub(crate) async fn bind(addr: SocketAddr, what: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} for the {what}"))
}

/// A shutdown signal many tasks can wait on.
#[derive(Clone, Debug)]
pub(crate) struct Shutdown(pub(crate) watch::Receiver<bool>);

impl Shutdown {
    pub(crate) async fn wait(mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

/// SIGTERM or Ctrl-C.
pub(crate) fn shutdown_signal() -> impl Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    // Installed now, not when first polled: a supervisor that sends SIGTERM as soon as
    // the banner is out must find the handler (else the default action kills us).
    let term = signal(SignalKind::terminate());
    let interrupt = signal(SignalKind::interrupt());
    async move {
        let (Ok(mut term), Ok(mut interrupt)) = (term, interrupt) else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = term.recv() => {}
        }
    }
}

/// A closed stdout (a supervisor that stopped reading) must not take fnmesh down.
pub(crate) fn print_banner(banner: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(banner.as_bytes());
    let _ = out.flush();
}

/// True once the API has answered: what `/readyz` reports for a component whose work is
/// all through the API.
pub(crate) fn api_reachable(client: kube::Client) -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        let mut delay = Duration::from_millis(100);
        loop {
            match client.apiserver_version().await {
                Ok(_) => {
                    let _ = tx.send(true);
                    return;
                }
                Err(error) => tracing::debug!(%error, "the API is not reachable yet"),
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    });
    rx
}

/// Publishes `listening` as an endpoint of `service` (port `port_name`) until the
/// returned guard's [`Published::withdraw`], retrying while the API is unreachable; a
/// no-op in a cluster.
pub(crate) fn publish(
    connected: &Connected,
    component: &str,
    service: &str,
    port_name: &str,
    listening: SocketAddr,
) -> Published {
    let publication = discovery::Publication {
        namespace: discovery::SYSTEM_NAMESPACE.to_owned(),
        service: service.to_owned(),
        port_name: port_name.to_owned(),
        name: format!("{component}-{}", connected.instance),
        managed_by: format!("fnmesh-{component}"),
        advertise_ip: connected.advertise_ip,
        host: connected.host.clone(),
    };
    if !connected.publish {
        return Published {
            client: None,
            publication,
            task: None,
        };
    }
    let client = connected.client.clone();
    let task = tokio::spawn({
        let client = client.clone();
        let publication = publication.clone();
        async move {
            let mut delay = Duration::from_millis(100);
            loop {
                match discovery::publish(&client, &publication, listening).await {
                    Ok(()) => {
                        // An orphan left listed costs its users one refused connection
                        // each: not worth failing the start for.
                        if let Err(error) = discovery::prune_dead(&client, &publication).await {
                            let error = format!("{error:#}");
                            tracing::warn!(%error, "could not check for dead EndpointSlices");
                        }
                        return;
                    }
                    Err(error) => {
                        let error = format!("{error:#}");
                        tracing::warn!(%error, retry_in = ?delay, "cannot publish this component's address yet");
                    }
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    });
    Published {
        client: Some(client),
        publication,
        task: Some(task),
    }
}

/// A published address, withdrawn on a clean stop.
pub(crate) struct Published {
    client: Option<kube::Client>,
    publication: discovery::Publication,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Published {
    pub(crate) async fn withdraw(self) {
        if let Some(task) = self.task {
            task.abort();
        }
        if let Some(client) = self.client {
            let withdrawing = discovery::withdraw(&client, &self.publication);
            if tokio::time::timeout(Duration::from_secs(2), withdrawing)
                .await
                .is_err()
            {
                tracing::warn!("withdrawing this component's address timed out");
            }
        }
    }
}
