//! The gateway's xDS client: it follows a control plane's Aggregated Discovery Service
//! (state of the world) exactly as an Envoy would, and publishes what it learns as a
//! [`RouteTable`](crate::RouteTable) through [`GatewayConfig::store`].
//!
//! It subscribes to every cluster and listener (wildcard CDS/LDS), then to the
//! endpoints of those clusters (EDS) and the route configurations the listeners name
//! (RDS), ACKing every response it accepts and NACKing (with the reason) any it cannot
//! use, which leaves the table in force untouched. A new table is published only when
//! the accepted resources are consistent — every cluster a route uses is known, with
//! its endpoints — so the gateway never routes to a revision it has not been told
//! about (make-before-break on the client side).
//!
//! Resources map back to the gateway's model as the fnmesh contract lays them out (see
//! [`XdsResources::translate`]): a cluster `<namespace>/<revision>` is a revision, a
//! virtual host is a route, `weighted_clusters` is its split, and a route matching the
//! `Knative-Serving-Tag` header is a tag.

mod decode;
mod session;
#[cfg(test)]
mod tests;
mod translate;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_client::AggregatedDiscoveryServiceClient;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::UnboundedReceiverStream;

use crate::config::GatewayConfig;

pub use translate::{RouteTableParts, TranslateError, Translation, XdsResources};
pub use xds_types::ResourceType;

use session::Session;
use stat_stream::Backoff;

/// How long one connection attempt to the control plane may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Notices a vanished control plane so the client reconnects.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(30);

/// Why one ADS session ended.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The control plane could not be reached.
    #[error("cannot connect to the xDS server: {0}")]
    Connect(#[from] tonic::transport::Error),
    /// The stream failed or was refused.
    #[error("ADS stream failed: {0}")]
    Stream(#[from] tonic::Status),
    /// The control plane closed the stream.
    #[error("the xDS server closed the stream")]
    Closed,
}

/// Follows the ADS server at the address `xds_addr` holds (`None`: not known yet) as
/// node `node_id` forever, publishing every consistent configuration to `config`.
/// Reconnects with capped exponential backoff, so the server may start later or
/// restart, and at once to a new address when `xds_addr` changes; the table in force
/// stays until a new consistent one arrives.
pub async fn run(
    mut xds_addr: watch::Receiver<Option<SocketAddr>>,
    node_id: String,
    config: Arc<GatewayConfig>,
) {
    // The control plane may take a moment to come back: start at 100 ms.
    let mut backoff = Backoff::starting_at(std::time::Duration::from_millis(100));
    // Once the sender is gone the address can no longer change: stop watching it.
    let mut watching = true;
    loop {
        let Some(addr) = *xds_addr.borrow_and_update() else {
            changed(&mut xds_addr, &mut watching).await;
            continue;
        };
        let mut progressed = false;
        let error = tokio::select! {
            error = session(addr, &node_id, &config, &mut progressed) => error,
            () = changed(&mut xds_addr, &mut watching) => {
                tracing::info!(old = %addr, "the xDS server moved; reconnecting");
                backoff.reset();
                continue;
            }
        };
        if progressed {
            backoff.reset();
        }
        let delay = backoff.next_delay();
        tracing::warn!(xds_addr = %addr, %error, retry_in = ?delay, "xDS session ended");
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = changed(&mut xds_addr, &mut watching) => backoff.reset(),
        }
    }
}

/// Completes when `target` changes; never, once its sender is gone.
async fn changed(target: &mut watch::Receiver<Option<SocketAddr>>, watching: &mut bool) {
    if *watching && target.changed().await.is_ok() {
        return;
    }
    *watching = false;
    std::future::pending::<()>().await;
}

async fn session(
    xds_addr: SocketAddr,
    node_id: &str,
    config: &GatewayConfig,
    progressed: &mut bool,
) -> SessionError {
    match session_inner(xds_addr, node_id, config, progressed).await {
        Ok(()) => SessionError::Closed,
        Err(error) => error,
    }
}

async fn session_inner(
    xds_addr: SocketAddr,
    node_id: &str,
    config: &GatewayConfig,
    progressed: &mut bool,
) -> Result<(), SessionError> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{xds_addr}"))?
        .connect_timeout(CONNECT_TIMEOUT)
        .http2_keep_alive_interval(KEEPALIVE_INTERVAL)
        .connect()
        .await?;
    let mut client = AggregatedDiscoveryServiceClient::new(channel);
    let mut session = Session::new(node_id);
    let (tx, rx) = mpsc::unbounded_channel();
    for request in session.initial_requests() {
        tx.send(request).map_err(|_| SessionError::Closed)?;
    }
    let stream = UnboundedReceiverStream::new(rx);
    let mut responses = client
        .stream_aggregated_resources(stream)
        .await?
        .into_inner();
    tracing::info!(%xds_addr, node = node_id, "xDS stream open");
    while let Some(response) = responses.message().await? {
        *progressed = true;
        let outcome = session.on_response(response);
        if let Some(table) = outcome.table {
            config.store(table);
        }
        for request in outcome.requests {
            tx.send(request).map_err(|_| SessionError::Closed)?;
        }
    }
    Ok(())
}
