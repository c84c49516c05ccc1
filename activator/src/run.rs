//! The activator as a whole: watches in, its EndpointSlice out, the listener serving
//! until shutdown.

use std::future::Future;
use std::sync::Arc;

use anyhow::Context as _;
use kube::runtime::reflector;
use tokio::net::TcpListener;

use crate::cold_signal::ColdSignal;
use crate::config::ActivatorConfig;
use crate::handler::Handler;
use crate::registry::Registry;
use crate::upstream::Upstreams;
use crate::{endpoints_watch, publish, revisions_watch, server};

/// Serves until `shutdown`: the HTTP listener, the Revision and EndpointSlice watches,
/// and the activator's own EndpointSlice (published before the first request is
/// accepted, deleted as soon as `shutdown` resolves, before in-flight requests drain
/// for at most `config.drain_timeout`). Fails only if the slice cannot be published.
pub async fn run(
    client: kube::Client,
    listener: TcpListener,
    config: ActivatorConfig,
    cold: ColdSignal,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let listening = listener
        .local_addr()
        .context("reading the listener's address")?;
    let (revisions, revision_cache) = reflector::store();
    let (slices, slice_cache) = reflector::store();
    let registry = Arc::new(Registry::new(
        client.clone(),
        revisions,
        slices,
        config.queue_capacity,
    ));
    let _watches = [
        AbortOnDrop(tokio::spawn(revisions_watch::run(
            client.clone(),
            revision_cache,
            Arc::clone(&registry),
        ))),
        AbortOnDrop(tokio::spawn(endpoints_watch::run(
            client.clone(),
            slice_cache,
            Arc::clone(&registry),
        ))),
    ];
    publish::publish(&client, &config, listening).await?;
    tracing::info!(%listening, instance = %config.instance, "activator serving");
    let handler = Arc::new(Handler::new(registry, Upstreams::new(), cold));
    let draining = server::accept_until(listener, handler, shutdown).await;
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
