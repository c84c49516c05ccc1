//! `fnmesh up`: single-node mode — the embedded API server, the controller (with its
//! xDS server), the runner, the gateway, the autoscaler and the activator in one
//! process, wired exactly as they would be as separate processes: through the API, xDS
//! and the metrics stream on loopback.

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use apiserver::{ApiServer, ServerConfig};
use tokio::sync::watch;

use super::component::{Shutdown, bind, print_banner, shutdown_signal};

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
    /// Address of the controller's xDS (ADS) server, for the gateway or a stock Envoy.
    #[arg(long, env = "FNMESH_XDS_ADDR", default_value = "127.0.0.1:18000")]
    xds_addr: SocketAddr,
    /// Address of the activator, which holds requests for revisions without a ready
    /// replica (Knative's activator port).
    #[arg(long, env = "FNMESH_ACTIVATOR_ADDR", default_value = "127.0.0.1:8012")]
    activator_addr: SocketAddr,
    /// Address of the autoscaler's metrics stream (gRPC), which the gateway and the
    /// activator report to every second.
    #[arg(
        long,
        env = "FNMESH_AUTOSCALER_ADDR",
        default_value = "127.0.0.1:18080"
    )]
    autoscaler_addr: SocketAddr,
    /// Address of the gateway's Prometheus `/metrics`.
    #[arg(long, env = "FNMESH_METRICS_ADDR", default_value = "127.0.0.1:9464")]
    metrics_addr: SocketAddr,
    /// Threads serving the ingress, each with its own event loop and upstream
    /// connections [default: one per CPU].
    #[arg(long, env = "FNMESH_GATEWAY_THREADS")]
    gateway_threads: Option<NonZeroUsize>,
    /// Run only the embedded API server (no controller, runner or gateway): the same
    /// as `fnmesh apiserver`.
    #[arg(long)]
    api_only: bool,
    #[command(flatten)]
    auth: super::apiserver::AuthArgs,
    #[command(flatten)]
    head_timeout: super::head_timeout::HeadTimeoutArgs,
    #[command(flatten)]
    event_ttl: super::event_ttl::EventTtlArgs,
    #[command(flatten)]
    queue_depth: super::queue_depth::QueueDepthArgs,
}

pub(crate) fn default_data_dir() -> PathBuf {
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
    let (token, token_auth_file) = args.auth.resolve(args.api_addr);
    // Bind every port first: a port in use fails `up` before anything starts.
    let server = ApiServer::bind(&ServerConfig {
        data_dir: args.data_dir.clone(),
        addr: args.api_addr,
        token: token.clone(),
        token_auth_file,
        header_read_timeout: args.head_timeout.timeout(),
        event_ttl: args.event_ttl.ttl(),
    })
    .await?;
    let api_addr = server.local_addr();
    if args.api_only {
        return super::apiserver::serve_alone(server, &args.data_dir, token.as_deref()).await;
    }
    let http = bind(args.http_addr, "HTTP ingress").await?;
    let http_addr = http.local_addr()?;
    let xds = bind(args.xds_addr, "xDS server").await?;
    let xds_addr = xds.local_addr()?;
    let metrics = bind(args.metrics_addr, "gateway metrics").await?;
    let metrics_addr = metrics.local_addr()?;
    let activator = bind(args.activator_addr, "activator").await?;
    let activator_addr = activator.local_addr()?;
    let stats = bind(args.autoscaler_addr, "autoscaler metrics stream").await?;
    let stats_addr = stats.local_addr()?;

    let kubeconfig = args.data_dir.join("kubeconfig");
    let api_url = server.url();
    let cert_pem = server.tls_cert_pem().map(str::to_string);
    apiserver::kubeconfig::write(&kubeconfig, api_addr, token.as_deref(), cert_pem.as_deref())
        .with_context(|| format!("writing {}", kubeconfig.display()))?;

    let (stop_tx, stop_rx) = watch::channel(false);
    let stop = Shutdown(stop_rx);
    // The API stops last, so nothing that watches it sees it go away.
    let (api_stop_tx, api_stop_rx) = watch::channel(false);
    let api_task = tokio::spawn(server.serve(Shutdown(api_stop_rx).wait()));

    let mut config = kube::Config::new(api_url.parse()?);
    if let Some(pem) = &cert_pem {
        config.root_cert = Some(pem_to_der(pem)?);
    }
    if let Some(t) = &token {
        config.auth_info.token = Some(t.clone().into());
    }
    let client = kube::Client::try_from(config).context("building the API client")?;

    let routing = controller::RoutingTable::filled_by_watches();
    // Alone, the controller and the autoscaler always lead: no Lease is needed.
    let controller_task = tokio::spawn(controller::run(
        client.clone(),
        routing.clone(),
        controller::Leadership::always(),
    ));
    tokio::spawn(controller::xds::serve(xds, routing, stop.clone().wait()));

    let gateway_config = Arc::new(
        gateway::GatewayConfig::default().with_header_read_timeout(args.head_timeout.timeout()),
    );
    let xds_client_task = tokio::spawn(gateway::xds_client::run(
        watch::channel(Some(xds_addr)).1,
        "fnmesh-gateway".to_string(),
        gateway_config.clone(),
    ));
    let gateway_threads = args
        .gateway_threads
        .unwrap_or_else(|| std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN));
    let gateway_task = tokio::spawn({
        let serving = gateway::serve_on_threads(
            http,
            gateway_config.clone(),
            gateway_threads,
            stop.clone().wait(),
        );
        async move {
            if let Err(error) = serving.await {
                tracing::error!(%error, "the gateway could not start its worker threads");
            }
        }
    });
    let gateway_config_for_stats = Arc::clone(&gateway_config);
    tokio::spawn(gateway::serve_metrics(
        metrics,
        gateway_config,
        stop.clone().wait(),
    ));

    // Scale to zero and back: every data-plane instance reports to the autoscaler.
    let (_stats_addr_tx, stats_target) = watch::channel(vec![stats_addr]);
    // Stable across restarts: a restart after `kill -9` replaces the activator's slice
    // instead of leaving a dead one beside the new.
    let instance = "local";
    gateway::report_stats(
        &gateway_config_for_stats,
        stats_target.clone(),
        format!("gateway-{instance}"),
    );
    // One /metrics for the whole process: the autoscaler's gauges join the gateway's.
    let autoscaler_task = tokio::spawn(autoscaler::run(
        client.clone(),
        stats,
        gateway_config_for_stats.registry().clone(),
        controller::Leadership::always(),
        stop.clone().wait(),
    ));
    // The activator reports too: what it holds, and at once each request for a revision
    // with no ready replica, so the wake-up starts immediately.
    let activator_task = tokio::spawn({
        let config = activator::ActivatorConfig {
            instance: format!("activator-{instance}"),
            autoscaler: stats_target,
            header_read_timeout: args.head_timeout.timeout(),
            queue_capacity: args.queue_depth.depth(3),
            ..activator::ActivatorConfig::default()
        };
        let running = activator::run(
            client.clone(),
            activator,
            config,
            gateway_config_for_stats.registry().clone(),
            stop.clone().wait(),
        );
        async move {
            if let Err(error) = running.await {
                tracing::error!(%error, "the activator stopped");
            }
        }
    });

    let supervisor = runner::Supervisor::new(args.data_dir.join("logs"))
        .context("starting the process runner")?;
    let runner_task = tokio::spawn(runner::run(client, supervisor, stop.clone().wait()));

    let banner = format!(
        "fnmesh is up\n  API:        {api_url}\n  kubeconfig: {kc}\n  ingress:    http://{http_addr}\n  xDS:        {xds_addr}\n  metrics:    http://{metrics_addr}/metrics\n  activator:  {activator_addr}\n  autoscaler: {stats_addr}\n  try:        KUBECONFIG={kc} kubectl apply -f examples/hello.yaml\n",
        kc = kubeconfig.display()
    );
    let shutdown = shutdown_signal();
    print_banner(&banner);

    shutdown.await;
    // Reconcilers and the gateway's xDS stream hold no state worth finishing.
    controller_task.abort();
    xds_client_task.abort();
    let _ = stop_tx.send(true);
    // Drain the ingress and stop the replicas before the API goes away.
    let _ = gateway_task.await;
    let _ = activator_task.await;
    let _ = autoscaler_task.await;
    let _ = runner_task.await;
    let _ = api_stop_tx.send(true);
    let _ = api_task.await;
    tracing::info!("fnmesh stopped");
    Ok(())
}

/// The DER certificates in a PEM bundle.
fn pem_to_der(pem: &str) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut der = Vec::new();
    for block in pem.split("-----BEGIN CERTIFICATE-----").skip(1) {
        let body: String = block
            .split("-----END CERTIFICATE-----")
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        use base64::Engine;
        der.push(base64::engine::general_purpose::STANDARD.decode(body)?);
    }
    Ok(der)
}
