use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::sync::watch;

use crate::throttler::DEFAULT_QUEUE_CAPACITY;

/// How one activator instance runs.
#[derive(Debug, Clone)]
pub struct ActivatorConfig {
    /// Requests one revision may have waiting before newcomers get 503.
    pub queue_capacity: usize,
    /// Where the activator publishes its own EndpointSlice (Knative's system namespace).
    pub namespace: String,
    /// This instance's name: its EndpointSlice is named after it, so several
    /// activators can publish side by side, and it names the instance's stat reports.
    pub instance: String,
    /// The host it runs on: its slice carries it, so a restart on this host can tell
    /// which listed slices it may check for dead ones (`discovery::prune_dead`).
    pub host: String,
    /// The address to publish instead of the listener's, for a listener bound to an
    /// unspecified address (`0.0.0.0`, `::`), which no peer can dial. Without it such
    /// a listener is published as loopback.
    pub advertise_ip: Option<IpAddr>,
    /// Whether to publish the instance's own EndpointSlice: yes outside a cluster, no
    /// in one (Kubernetes writes the `activator-service` Service's slices there).
    pub publish: bool,
    /// How long in-flight requests may finish after `shutdown` before their
    /// connections are closed.
    pub drain_timeout: Duration,
    /// The autoscalers' metrics streams (empty while none is known), which the activator
    /// reports every revision's concurrency to, and cold arrivals at once. The default
    /// points nowhere: the reports are queued and the oldest dropped.
    pub autoscaler: watch::Receiver<Vec<SocketAddr>>,
    /// How often every revision's concurrency is sampled and reported (Knative: 1 s).
    pub report_period: Duration,
    /// How long a client may take to send a whole HTTP/1.1 request head, from when the
    /// activator starts waiting for it; then the connection is closed (slowloris guard).
    pub header_read_timeout: Duration,
}

/// hyper's default header read timeout, which the activator keeps unless told.
pub(crate) const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The Service name Knative gives the activator; the gateway's xDS points cold
/// revisions at its endpoints.
pub const ACTIVATOR_SERVICE: &str = discovery::ACTIVATOR;

impl Default for ActivatorConfig {
    fn default() -> Self {
        Self {
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            namespace: "knative-serving".to_owned(),
            instance: "activator".to_owned(),
            host: "localhost".to_owned(),
            advertise_ip: None,
            publish: true,
            drain_timeout: Duration::from_secs(30),
            autoscaler: watch::channel(Vec::new()).1,
            report_period: Duration::from_secs(1),
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
        }
    }
}
