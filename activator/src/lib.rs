//! The activator holds requests for revisions without ready capacity: a request waits
//! in a bounded per-revision queue until a replica has room under its
//! `containerConcurrency`, then is proxied to that replica.
//!
//! - The throttling core (no I/O): per-replica [`Breaker`]s, the
//!   [`LoadBalancingPolicy`] chosen from `containerConcurrency` as Knative does, and
//!   the [`RevisionThrottler`] with its FIFO wait queue.
//! - The shell, [`run`]: an HTTP/1.1 + h2c listener reading the gateway's
//!   `knative-serving-revision` / `knative-serving-namespace` headers, watches of
//!   Revisions (concurrency, timeout, protocol, failure) and EndpointSlices (ready
//!   replicas), the activator's own EndpointSlice, its reports to the autoscaler
//!   (every revision's concurrency each period, and a cold report at once when a
//!   request arrives for a revision without replicas) and its Prometheus metrics.

mod breaker;
mod config;
mod endpoints_watch;
mod error;
mod handler;
mod hop_by_hop;
mod metrics;
mod outbound;
mod policy;
mod proxied_body;
mod publish;
mod queue_depth;
mod registry;
mod replica_set;
mod request_body;
mod responses;
mod retry;
mod revision_settings;
mod revision_state;
mod revisions_watch;
mod run;
mod server;
mod stat_reports;
mod throttler;
mod upstream;
mod wait_queue;

pub use breaker::{Breaker, BreakerPermit};
pub use config::{ACTIVATOR_SERVICE, ActivatorConfig};
pub use error::ThrottleError;
pub use policy::LoadBalancingPolicy;
pub use run::run;
pub use throttler::{DEFAULT_QUEUE_CAPACITY, Permit, RevisionThrottler, ThrottlerConfig};
