//! The gRPC shell around the stream machine: translates each routing change once,
//! fans the result out to every stream, and ends streams on shutdown (a long-lived ADS
//! stream would otherwise hold graceful shutdown open forever).

use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_server::{
    AggregatedDiscoveryService, AggregatedDiscoveryServiceServer,
};
use envoy_types::pb::envoy::service::discovery::v3::{
    DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse,
};
use futures::StreamExt;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status, Streaming};

use super::Resources;
use super::resources::resources;
use super::stream::AdsStream;
use crate::routing::RoutingTable;

/// Notices dead clients (a silently vanished Envoy) so their streams end.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(30);
/// Responses buffered per stream before the stream task waits for the client.
const STREAM_BUFFER: usize = 16;

type ResponseStream = ReceiverStream<Result<DiscoveryResponse, Status>>;

/// The longest a freshly started server holds back its first responses for a whole
/// routing table (Envoy's own `initial_fetch_timeout` default): past it, it serves
/// what it has rather than nothing.
const WHOLE_TABLE_DEADLINE: Duration = Duration::from_secs(15);

/// Serves ADS on `listener` from `routing` until `shutdown` completes; then ends every
/// stream (clients reconnect elsewhere or later) and returns. Streams get their first
/// response only once `routing` is whole (see [`RoutingTable::whole`]), or after
/// [`WHOLE_TABLE_DEADLINE`]: a gateway that reconnects to a restarted controller keeps
/// the table it had rather than taking a half-filled one.
pub async fn serve(
    listener: TcpListener,
    routing: Arc<RoutingTable>,
    shutdown: impl Future<Output = ()>,
) {
    let mut versions = routing.subscribe();
    let (resources_tx, resources_rx) = watch::channel(None);
    let (stop_tx, stop_rx) = watch::channel(false);
    let service = Ads {
        resources: resources_rx,
        stop: stop_rx.clone(),
    };
    let translate = async {
        let mut stop = stop_rx.clone();
        tokio::select! {
            () = whole_or_deadline(&routing, WHOLE_TABLE_DEADLINE) => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
        let first = routing.snapshot();
        let mut translated = first.version;
        resources_tx.send_replace(Some(Arc::new(resources(&first))));
        loop {
            tokio::select! {
                changed = versions.changed() => if changed.is_err() { break },
                _ = stop.wait_for(|stopped| *stopped) => break,
            }
            let snapshot = routing.snapshot();
            if snapshot.version != translated {
                translated = snapshot.version;
                resources_tx.send_replace(Some(Arc::new(resources(&snapshot))));
            }
        }
    };
    let server = tonic::transport::Server::builder()
        .http2_keepalive_interval(Some(KEEPALIVE_INTERVAL))
        .add_service(AggregatedDiscoveryServiceServer::new(service))
        .serve_with_incoming_shutdown(TcpIncoming::from(listener), async move {
            shutdown.await;
            stop_tx.send_replace(true);
        });
    let (served, ()) = tokio::join!(server, translate);
    if let Err(error) = served {
        tracing::error!(%error, "xDS server failed");
    }
}

/// Completes once `routing` is whole, or after `deadline`.
async fn whole_or_deadline(routing: &RoutingTable, deadline: Duration) {
    if tokio::time::timeout(deadline, routing.whole())
        .await
        .is_err()
    {
        tracing::warn!(
            ?deadline,
            "the routing table is still incomplete; serving xDS from it anyway"
        );
    }
}

/// The translated resources; `None` until the routing table is first whole.
type Published = watch::Receiver<Option<Arc<Resources>>>;

#[derive(Debug)]
struct Ads {
    resources: Published,
    stop: watch::Receiver<bool>,
}

#[tonic::async_trait]
impl AggregatedDiscoveryService for Ads {
    type StreamAggregatedResourcesStream = ResponseStream;

    async fn stream_aggregated_resources(
        &self,
        request: Request<Streaming<DiscoveryRequest>>,
    ) -> Result<Response<ResponseStream>, Status> {
        let peer = request.remote_addr();
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        tokio::spawn(run_stream(
            request.into_inner(),
            self.resources.clone(),
            self.stop.clone(),
            tx,
            peer,
        ));
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    type DeltaAggregatedResourcesStream = ReceiverStream<Result<DeltaDiscoveryResponse, Status>>;

    async fn delta_aggregated_resources(
        &self,
        _request: Request<Streaming<DeltaDiscoveryRequest>>,
    ) -> Result<Response<Self::DeltaAggregatedResourcesStream>, Status> {
        Err(Status::unimplemented(
            "fnmesh serves state-of-the-world ADS only (api_type: GRPC)",
        ))
    }
}

async fn run_stream(
    mut requests: Streaming<DiscoveryRequest>,
    mut resources: Published,
    mut stop: watch::Receiver<bool>,
    tx: mpsc::Sender<Result<DiscoveryResponse, Status>>,
    peer: Option<std::net::SocketAddr>,
) {
    // Requests wait unread in the stream meanwhile; the first one is answered after.
    let first = tokio::select! {
        first = resources.wait_for(Option::is_some) => match first {
            Ok(first) => first.clone(),
            Err(_) => return,
        },
        _ = stop.wait_for(|stopped| *stopped) => return,
    };
    let Some(first) = first else { return };
    let mut stream = AdsStream::new(first);
    let mut stopped = pin!(stop.wait_for(|stopped| *stopped));
    loop {
        let responses = tokio::select! {
            // `next` is cancel-safe: a half-read message stays in the stream.
            message = requests.next() => match message {
                Some(Ok(request)) => stream.on_request(request),
                Some(Err(status)) => {
                    tracing::debug!(?peer, node = %stream.node_id(), %status, "ADS stream broke");
                    break;
                }
                None => break,
            },
            changed = resources.changed() => {
                if changed.is_err() {
                    break;
                }
                let Some(next) = resources.borrow_and_update().clone() else {
                    continue;
                };
                stream.on_resources(next)
            }
            _ = &mut stopped => break,
        };
        for response in responses {
            if tx.send(Ok(response)).await.is_err() {
                return;
            }
        }
    }
    tracing::debug!(?peer, node = %stream.node_id(), "ADS stream ended");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn an_incomplete_table_is_served_after_the_deadline() {
        let routing = RoutingTable::filled_by_watches();
        let start = tokio::time::Instant::now();
        whole_or_deadline(&routing, WHOLE_TABLE_DEADLINE).await;
        assert_eq!(start.elapsed(), WHOLE_TABLE_DEADLINE);
    }

    #[tokio::test(start_paused = true)]
    async fn a_whole_table_is_served_at_once() {
        let routing = RoutingTable::filled_by_watches();
        routing.routes_complete();
        routing.backends_complete();
        let start = tokio::time::Instant::now();
        whole_or_deadline(&routing, WHOLE_TABLE_DEADLINE).await;
        assert_eq!(start.elapsed(), Duration::ZERO);
    }
}
