//! What one replica is doing, in the terms its Pod shows: published by its replica
//! set next to the aggregate [`ReplicaSetStatus`](crate::ReplicaSetStatus), for the
//! runner's Pod writer and log endpoint. Plain data; only what a user can see, so an
//! unchanged state means nothing to write.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;

use crate::container_log::ContainerLog;
use crate::replica::ReplicaId;
use crate::status::ReplicaFailure;

/// One replica, from its start until its process is gone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ReplicaState {
    /// Unique within the supervisor; a higher id is a newer replica.
    pub(crate) id: ReplicaId,
    /// Five characters unique within the set: the Pod name's random suffix.
    pub(crate) name: Arc<str>,
    /// The spec generation it runs (unique within the supervisor).
    pub(crate) generation: u64,
    pub(crate) port: u16,
    pub(crate) created_at: Timestamp,
    pub(crate) ready: bool,
    /// When `ready` last changed (its creation until then).
    pub(crate) ready_changed_at: Timestamp,
    /// Picked to stop: out of the endpoints, draining or signalled.
    pub(crate) stopping: bool,
    /// How many times its process was restarted.
    pub(crate) restarts: u32,
    pub(crate) container: ContainerState,
    /// The previous process's end, once one ended.
    pub(crate) last_terminated: Option<Terminated>,
    pub(crate) log: LogHandle,
}

/// The replica's process, as a container state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ContainerState {
    /// Not started yet.
    Creating,
    Running {
        started_at: Timestamp,
        pid: i32,
    },
    /// Exited; restarts after `delay` (kubelet's CrashLoopBackOff).
    BackOff {
        delay: Duration,
    },
    /// Exited and will not restart (it was stopping).
    Terminated(Terminated),
}

/// How a process ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Terminated {
    pub(crate) exit_code: Option<i32>,
    pub(crate) signal: Option<i32>,
    /// The last stderr line, or why the process could not start.
    pub(crate) message: Option<String>,
    /// `None` when it never started.
    pub(crate) started_at: Option<Timestamp>,
    pub(crate) finished_at: Timestamp,
    /// Its pid, when it started.
    pub(crate) pid: Option<i32>,
}

/// The replica's log, compared by identity (each replica has its own).
#[derive(Clone, Debug)]
pub(crate) struct LogHandle(pub(crate) Arc<ContainerLog>);

// === impl ReplicaState ===

impl ReplicaState {
    pub(crate) fn new(
        id: ReplicaId,
        name: Arc<str>,
        generation: u64,
        port: u16,
        log: Arc<ContainerLog>,
        now: Timestamp,
    ) -> Self {
        Self {
            id,
            name,
            generation,
            port,
            created_at: now,
            ready: false,
            ready_changed_at: now,
            stopping: false,
            restarts: 0,
            container: ContainerState::Creating,
            last_terminated: None,
            log: LogHandle(log),
        }
    }

    pub(crate) fn set_ready(&mut self, ready: bool, now: Timestamp) {
        if self.ready != ready {
            self.ready = ready;
            self.ready_changed_at = now;
        }
    }

    pub(crate) fn started(&mut self, pid: i32, restarts: u32, now: Timestamp) {
        self.restarts = restarts;
        self.container = ContainerState::Running {
            started_at: now,
            pid,
        };
    }

    /// The process ended (or failed to start); it restarts after `delay` unless the
    /// replica is stopping.
    pub(crate) fn exited(&mut self, failure: &ReplicaFailure, delay: Duration, now: Timestamp) {
        self.set_ready(false, now);
        let (started_at, pid) = match self.container {
            ContainerState::Running { started_at, pid } => (Some(started_at), Some(pid)),
            _ => (None, None),
        };
        let ended = Terminated {
            exit_code: failure.exit_code,
            signal: failure.signal,
            message: failure.last_stderr_line.clone(),
            started_at,
            finished_at: now,
            pid,
        };
        self.container = if self.stopping {
            ContainerState::Terminated(ended.clone())
        } else {
            ContainerState::BackOff { delay }
        };
        self.last_terminated = Some(ended);
    }

    pub(crate) fn stop(&mut self, now: Timestamp) {
        self.set_ready(false, now);
        self.stopping = true;
    }
}

// === impl LogHandle ===

impl PartialEq for LogHandle {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for LogHandle {}
