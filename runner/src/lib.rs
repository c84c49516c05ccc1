//! The single-node "kubelet": runs each Deployment replica as a supervised
//! local process.
//!
//! This crate owns process supervision: a [`Supervisor`] converges, per owner
//! key (`namespace/name`), a number of replicas of a [`ReplicaSpec`]. Each
//! replica gets its own loopback port (`PORT`), runs under
//! `setpriv --pdeathsig KILL` in its own process group (so it dies with the
//! runner, even on `kill -9`, and stop signals reach its children), is probed
//! for readiness aggressively until first ready, is restarted with backoff
//! when it exits, and is stopped with SIGTERM then SIGKILL after its grace
//! period. Spec changes roll out make-before-break. The resulting
//! [`ReplicaSetStatus`] (ready endpoints, last failure) is what the Deployment
//! watch turns into Deployment status and EndpointSlices.
//!
//! Decisions are pure functions (`plan`, `backoff`, `probe`'s tracker) wrapped
//! by thin process I/O.

mod backoff;
mod launcher;
mod output;
mod plan;
mod port;
mod probe;
mod process;
mod replica;
mod replica_set;
mod replica_spec;
mod status;
mod supervisor;

pub use replica_spec::{ProbeAction, ReadinessProbe, ReplicaSpec, SpecError};
pub use status::{ReplicaFailure, ReplicaSetStatus};
pub use supervisor::{Supervisor, SupervisorError};
