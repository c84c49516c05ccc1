//! A minimal ADS client (state of the world, as an Envoy subscribes): it ACKs every
//! response, asks for the endpoints of every cluster and the route configuration, and
//! tallies what the server pushes.
//!
//! When CDS changes the clusters, it asks for their endpoints as Envoy does: the new
//! names with the version and nonce of the last EDS response it holds. A request with
//! no nonce says "I hold nothing of this type" (a new stream), which the server answers
//! with every assignment; Envoy sends that only on a new stream.

use std::fmt;
use std::time::Duration;

use tokio::time::Instant;

use envoy_types::pb::envoy::config::cluster::v3::Cluster;
use envoy_types::pb::envoy::config::core::v3::Node;
use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_client::AggregatedDiscoveryServiceClient;
use envoy_types::pb::envoy::service::discovery::v3::{DiscoveryRequest, DiscoveryResponse};
use prost::Message as _;
use tokio::sync::mpsc;
use tokio_stream::wrappers::UnboundedReceiverStream;
use xds_types::ResourceType;

/// The name of fnmesh's one route configuration (the controller's `ROUTE_CONFIG_NAME`).
const ROUTE_CONFIG: &str = "fnmesh-routes";

pub(crate) struct AdsClient {
    requests: mpsc::UnboundedSender<DiscoveryRequest>,
    responses: tonic::Streaming<DiscoveryResponse>,
    /// The endpoint names last asked for, so EDS is re-requested only when CDS changes them.
    clusters: Vec<String>,
    /// The last EDS response ACKed, whose version and nonce a resubscription carries.
    last_endpoints: Option<DiscoveryResponse>,
}

/// What arrived in one settle period.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    /// Bytes and resources per type, in [`ResourceType::ALL`] order.
    bytes: [usize; 4],
    resources: [usize; 4],
    responses: usize,
    pub(crate) last_at: Option<Instant>,
}

impl fmt::Display for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} responses", self.responses)?;
        for t in ResourceType::ALL {
            let i = t.index();
            write!(
                f,
                ", {t:?} {} resources / {:.1} KiB",
                self.resources[i],
                self.bytes[i] as f64 / 1024.0
            )?;
        }
        Ok(())
    }
}

fn request(t: ResourceType, names: &[String], ack: Option<&DiscoveryResponse>) -> DiscoveryRequest {
    DiscoveryRequest {
        node: Some(Node {
            id: "control-plane-bench".into(),
            ..Node::default()
        }),
        type_url: t.type_url().into(),
        resource_names: names.to_vec(),
        version_info: ack.map(|r| r.version_info.clone()).unwrap_or_default(),
        response_nonce: ack.map(|r| r.nonce.clone()).unwrap_or_default(),
        ..DiscoveryRequest::default()
    }
}

impl AdsClient {
    pub(crate) async fn connect(addr: &str) -> anyhow::Result<Self> {
        let mut client = AggregatedDiscoveryServiceClient::connect(format!("http://{addr}"))
            .await?
            .max_decoding_message_size(256 << 20);
        let (tx, rx) = mpsc::unbounded_channel();
        tx.send(request(ResourceType::Cluster, &[], None))?;
        tx.send(request(ResourceType::Listener, &[], None))?;
        tx.send(request(
            ResourceType::Route,
            &[ROUTE_CONFIG.to_owned()],
            None,
        ))?;
        let responses = client
            .stream_aggregated_resources(UnboundedReceiverStream::new(rx))
            .await?
            .into_inner();
        Ok(Self {
            requests: tx,
            responses,
            clusters: Vec::new(),
            last_endpoints: None,
        })
    }

    /// Reads and ACKs responses until none arrives for `quiet`.
    pub(crate) async fn settle(&mut self, quiet: Duration) -> anyhow::Result<Tally> {
        let mut tally = Tally::default();
        loop {
            let Ok(next) = tokio::time::timeout(quiet, self.responses.message()).await else {
                return Ok(tally);
            };
            let Some(response) = next? else {
                anyhow::bail!("the xDS server closed the stream");
            };
            let Some(t) = ResourceType::from_type_url(&response.type_url) else {
                continue;
            };
            tally.responses += 1;
            tally.bytes[t.index()] += response.encoded_len();
            tally.resources[t.index()] += response.resources.len();
            tally.last_at = Some(Instant::now());
            let names = match t {
                ResourceType::Cluster => Vec::new(),
                ResourceType::Endpoint => self.clusters.clone(),
                ResourceType::Listener => Vec::new(),
                ResourceType::Route => vec![ROUTE_CONFIG.to_owned()],
            };
            self.requests.send(request(t, &names, Some(&response)))?;
            if t == ResourceType::Endpoint {
                // Only the version and nonce are kept: the resources can be large.
                self.last_endpoints = Some(DiscoveryResponse {
                    resources: Vec::new(),
                    ..response
                });
                continue;
            }
            if t == ResourceType::Cluster {
                let clusters: Vec<String> = response
                    .resources
                    .iter()
                    .filter_map(|any| Cluster::decode(any.value.as_slice()).ok())
                    .map(|c| c.name)
                    .collect();
                if clusters != self.clusters {
                    self.clusters = clusters;
                    self.requests.send(request(
                        ResourceType::Endpoint,
                        &self.clusters,
                        self.last_endpoints.as_ref(),
                    ))?;
                }
            }
        }
    }
}
