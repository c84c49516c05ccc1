//! Leader election on `coordination.k8s.io/v1` Leases, with client-go's semantics, for
//! components that run as several replicas of which only one may write to the API.
//!
//! A [`LeaderElector`] campaigns for one Lease under one identity and exposes the result
//! as a [`Leadership`]: read it before acting, or follow its changes (a replica that
//! becomes leader re-reconciles what it skipped as a follower). [`gate_writes`] wraps a
//! kube client so its writes are refused while the replica does not lead, which lets a
//! component gate every write in one place and keep all of its watches.
//!
//! - Timing is client-go's: lease duration 15 s, renew deadline 10 s, retry period 2 s
//!   ([`ElectionConfig`]).
//! - Expiry is judged on the candidate's own monotonic clock from when it last saw the
//!   Lease change, never by comparing the wall-clock `renewTime` another machine wrote.
//! - Every write carries the `resourceVersion` it was decided on, so two candidates
//!   never both win.
//! - A leader that cannot renew within the renew deadline stops leading before the
//!   others can see its lease expire.
//! - [`LeaderElector::release`] clears `holderIdentity`, so the next candidate takes
//!   over at once.

mod config;
mod elector;
mod gate;
mod leadership;
mod record;

pub use config::{
    ConfigError, DEFAULT_LEASE_DURATION, DEFAULT_RENEW_DEADLINE, DEFAULT_RETRY_PERIOD,
    ElectionConfig, JITTER,
};
pub use elector::{LeaderElector, SpawnError};
pub use gate::{NotLeader, gate_writes, is_not_leader};
pub use leadership::Leadership;
