//! The activator holds requests for revisions without ready capacity: a request waits
//! in a bounded per-revision queue until a replica has room under its
//! `containerConcurrency`, then leaves with a [`Permit`] naming the replica to forward
//! to. This crate owns that throttling core — per-replica [`Breaker`]s, the
//! [`LoadBalancingPolicy`] chosen from `containerConcurrency` as Knative does, and the
//! [`RevisionThrottler`] with its FIFO wait queue. It does no I/O: the HTTP shell
//! (proxying, 503/504 mapping, probing new endpoints) and the kube shell (watching
//! endpoints, poking the autoscaler on a cold request) are still to come.

mod breaker;
mod error;
mod policy;
mod replica_set;
mod throttler;
mod wait_queue;

pub use breaker::{Breaker, BreakerPermit};
pub use error::ThrottleError;
pub use policy::LoadBalancingPolicy;
pub use throttler::{DEFAULT_QUEUE_CAPACITY, Permit, RevisionThrottler, ThrottlerConfig};
