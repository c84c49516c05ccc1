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
//! Its Kubernetes side, [`run`], watches Deployments: each one's first
//! container becomes a [`ReplicaSpec`] (`pod_template`, `env_sources`), and
//! each replica status change becomes the Deployment's `/status`
//! (`deployment_status`) and one EndpointSlice per ready replica
//! (`endpoint_slices`), written by a per-Deployment `deployment_worker`.
//!
//! Decisions are pure functions (`plan`, `backoff`, `probe`'s tracker, the
//! template, status and slice mappings) wrapped by thin I/O.

mod backoff;
mod container_log;
mod deployment_status;
mod deployment_worker;
mod drain;
mod endpoint_slices;
mod env_fetch;
mod env_sources;
mod kubelet;
mod launcher;
mod log_query;
mod log_server;
mod log_stream;
mod node;
mod output;
mod plan;
mod pod_deletions;
mod pod_manifest;
mod pod_publisher;
mod pod_registry;
mod pod_status;
mod pod_template;
mod pod_worker;
mod port;
mod probe;
mod process;
mod replica;
mod replica_name;
mod replica_set;
mod replica_spec;
mod replica_state;
mod stale_pods;
mod stale_slices;
mod status;
mod supervisor;

pub use kubelet::run;
pub use replica_spec::{ProbeAction, ReadinessProbe, ReplicaSpec, SpecError};
pub use status::{ReplicaFailure, ReplicaSetStatus};
pub use supervisor::{Supervisor, SupervisorError};
