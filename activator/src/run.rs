//! The activator as a whole: watches in, its EndpointSlice, stat reports and metrics
//! out, the listener serving until shutdown.

use std::future::Future;
use std::sync::Arc;

use anyhow::Context as _;
use kube::runtime::reflector;
use prometheus::core::Collector;
use stat_stream::CounterRegistry;
use tokio::net::TcpListener;

use crate::config::ActivatorConfig;
use crate::handler::Handler;
use crate::metrics::{ActivatorMetrics, Registered};
use crate::queue_depth::QueueDepth;
use crate::registry::Registry;
use crate::stat_reports::StatReports;
use crate::upstream::Upstreams;
use crate::{endpoints_watch, publish, revisions_watch, server};

/// Serves until `shutdown`: the HTTP listener, the Revision and EndpointSlice watches,
/// and the activator's own EndpointSlice (published before the first request is
/// accepted, deleted as soon as `shutdown` resolves, before in-flight requests drain
/// for at most `config.drain_timeout`). Fails only if the slice cannot be published.
///
/// Meanwhile it reports every revision's concurrency to `config.autoscaler` each
/// `config.report_period`, and each cold arrival at once; and exports its metrics
/// (`fnmesh_activator_*`) on `metrics` until it returns.
pub async fn run(
    client: kube::Client,
    listener: TcpListener,
    config: ActivatorConfig,
    metrics: prometheus::Registry,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let listening = listener
        .local_addr()
        .context("reading the listener's address")?;
    let (revisions, revision_cache) = reflector::store();
    let (slices, slice_cache) = reflector::store();
    let counters = Arc::new(CounterRegistry::default());
    let families = ActivatorMetrics::new();
    let registry = Arc::new(Registry::new(
        client.clone(),
        revisions,
        slices,
        config.queue_capacity,
        Arc::clone(&counters),
        families.clone(),
    ));
    let queue_depth: Box<dyn Collector> = Box::new(QueueDepth::new(Arc::downgrade(&registry)));
    let _exported = Registered::on(
        &metrics,
        families.collectors().into_iter().chain([queue_depth]),
    );
    let reports = StatReports::spawn(&config);
    let upstreams = Upstreams::new();
    let _background = [
        AbortOnDrop(reports.spawn_periodic(counters, config.report_period)),
        AbortOnDrop(tokio::spawn(revisions_watch::run(
            client.clone(),
            revision_cache,
            Arc::clone(&registry),
        ))),
        AbortOnDrop(tokio::spawn(endpoints_watch::run(
            client.clone(),
            slice_cache,
            Arc::clone(&registry),
            upstreams.clone(),
        ))),
    ];
    publish::publish(&client, &config, listening).await?;
    tracing::info!(%listening, instance = %config.instance, "activator serving");
    let handler = Arc::new(Handler::new(registry, upstreams, reports));
    let draining =
        server::accept_until(listener, handler, config.header_read_timeout, shutdown).await;
    publish::withdraw(&client, &config).await;
    draining.finish(config.drain_timeout).await;
    Ok(())
}

/// Stops a background task when `run` returns, however it returns.
#[derive(Debug)]
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
