//! What the supervisor reports per replica set: the inputs for a Deployment's
//! status and its EndpointSlice.

use std::net::SocketAddr;

/// The observed state of one owner's replicas.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplicaSetStatus {
    /// Replicas running or restarting, old and new spec alike; replicas being
    /// stopped are not counted.
    pub replicas: u32,
    /// Replicas whose readiness probe passes (and that are not being stopped).
    pub ready_replicas: u32,
    /// Of `replicas`, those running the most recent spec (a rollout's new side).
    pub updated_replicas: u32,
    /// Of `ready_replicas`, those running the most recent spec; a failure
    /// report is moot once one of these is ready.
    pub updated_ready_replicas: u32,
    /// Where the ready replicas listen, sorted; the EndpointSlice's content.
    pub ready_endpoints: Vec<SocketAddr>,
    /// The most recent exit of any replica of the current spec, for status
    /// messages. Cleared when the spec changes.
    pub last_failure: Option<ReplicaFailure>,
}

/// One replica process exit (or failure to start).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicaFailure {
    /// The exit code, when the process exited by itself.
    pub exit_code: Option<i32>,
    /// The signal that ended the process, when one did.
    pub signal: Option<i32>,
    /// The last line the process wrote to stderr, or why it could not start.
    pub last_stderr_line: Option<String>,
    /// How many times this replica had been restarted before this exit.
    pub restarts: u32,
}
