//! The replicas of one owner (a Deployment): a task that owns them, applies
//! desired-state changes through [`plan`](crate::plan::plan) and publishes
//! [`ReplicaSetStatus`] after every change.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::plan::{self, ReplicaView};
use crate::port::{PortAllocator, PortLease};
use crate::replica::{self, ReplicaEvent, ReplicaHandle, ReplicaId, ReplicaLaunch};
use crate::replica_spec::ReplicaSpec;
use crate::status::{ReplicaFailure, ReplicaSetStatus};

/// After failing to get a port, try again this much later.
const PORT_RETRY: Duration = Duration::from_secs(1);

/// Desired-state changes sent to a replica set task.
#[derive(Debug)]
pub(crate) enum ReplicaSetCommand {
    Set {
        spec: Arc<ReplicaSpec>,
        count: u32,
    },
    /// Stop every replica, then end the task.
    Remove,
}

/// Shared by all replica sets of a supervisor.
#[derive(Debug)]
pub(crate) struct Host {
    pub(crate) setpriv: Arc<Path>,
    pub(crate) ports: PortAllocator,
}

#[derive(Debug)]
struct Replica {
    generation: u64,
    ready: Option<SocketAddr>,
    /// `None` once stopping: dropping the handle is the stop request.
    handle: Option<ReplicaHandle>,
    /// Held until the process is gone, so no other replica gets the port.
    _port: PortLease,
}

/// The task state of one replica set.
#[derive(Debug)]
pub(crate) struct ReplicaSet {
    key: Arc<str>,
    host: Arc<Host>,
    spec: Arc<ReplicaSpec>,
    generation: u64,
    desired: u32,
    removing: bool,
    next_id: ReplicaId,
    replicas: BTreeMap<ReplicaId, Replica>,
    last_failure: Option<ReplicaFailure>,
    retry_at: Option<Instant>,
    events_tx: mpsc::UnboundedSender<ReplicaEvent>,
    events: mpsc::UnboundedReceiver<ReplicaEvent>,
    commands: mpsc::UnboundedReceiver<ReplicaSetCommand>,
    status: watch::Sender<ReplicaSetStatus>,
}

// === impl ReplicaSet ===

impl ReplicaSet {
    pub(crate) fn new(
        key: Arc<str>,
        host: Arc<Host>,
        spec: Arc<ReplicaSpec>,
        count: u32,
        commands: mpsc::UnboundedReceiver<ReplicaSetCommand>,
        status: watch::Sender<ReplicaSetStatus>,
    ) -> Self {
        let (events_tx, events) = mpsc::unbounded_channel();
        Self {
            key,
            host,
            spec,
            generation: 1,
            desired: count,
            removing: false,
            next_id: 1,
            replicas: BTreeMap::new(),
            last_failure: None,
            retry_at: None,
            events_tx,
            events,
            commands,
            status,
        }
    }

    /// Runs until removed (or the supervisor drops the command channel) and
    /// every replica has stopped.
    pub(crate) async fn run(mut self) {
        loop {
            self.converge();
            self.publish();
            if self.removing && self.replicas.is_empty() {
                tracing::debug!(key = %self.key, "replica set removed");
                return;
            }
            let retry_at = self.retry_at;
            tokio::select! {
                command = self.commands.recv(), if !self.removing => match command {
                    Some(ReplicaSetCommand::Set { spec, count }) => self.set(spec, count),
                    Some(ReplicaSetCommand::Remove) | None => {
                        self.removing = true;
                        self.desired = 0;
                    }
                },
                Some(event) = self.events.recv() => self.on_event(event),
                () = sleep_until(retry_at) => self.retry_at = None,
            }
        }
    }

    fn set(&mut self, spec: Arc<ReplicaSpec>, count: u32) {
        if spec != self.spec {
            self.spec = spec;
            self.generation += 1;
            self.last_failure = None;
        }
        self.desired = count;
    }

    fn on_event(&mut self, event: ReplicaEvent) {
        match event {
            ReplicaEvent::Ready(id, addr) => {
                if let Some(r) = self.replicas.get_mut(&id) {
                    r.ready = Some(addr);
                }
            }
            ReplicaEvent::NotReady(id) => {
                if let Some(r) = self.replicas.get_mut(&id) {
                    r.ready = None;
                }
            }
            ReplicaEvent::Exited(id, failure) => {
                if let Some(r) = self.replicas.get_mut(&id) {
                    r.ready = None;
                    if r.generation == self.generation && r.handle.is_some() {
                        self.last_failure = Some(failure);
                    }
                }
            }
            ReplicaEvent::Stopped(id) => {
                self.replicas.remove(&id);
            }
        }
    }

    fn converge(&mut self) {
        let running: Vec<ReplicaView> = self
            .replicas
            .iter()
            .filter(|(_, r)| r.handle.is_some())
            .map(|(&id, r)| ReplicaView {
                id,
                generation: r.generation,
                ready: r.ready.is_some(),
            })
            .collect();
        let plan = plan::plan(self.generation, self.desired, &running);
        for id in plan.stop {
            if let Some(r) = self.replicas.get_mut(&id) {
                // Out of the endpoints (published next) before SIGTERM lands.
                r.ready = None;
                r.handle = None;
            }
        }
        if self.retry_at.is_none() {
            for _ in 0..plan.start {
                if !self.start_replica() {
                    break;
                }
            }
        }
    }

    fn start_replica(&mut self) -> bool {
        let port = match self.host.ports.allocate() {
            Ok(port) => port,
            Err(e) => {
                tracing::warn!(key = %self.key, error = %e, "no port for a new replica");
                self.last_failure = Some(ReplicaFailure {
                    exit_code: None,
                    signal: None,
                    last_stderr_line: Some(format!("no loopback port available: {e}")),
                    restarts: 0,
                });
                self.retry_at = Some(Instant::now() + PORT_RETRY);
                return false;
            }
        };
        let id = self.next_id;
        self.next_id += 1;
        let handle = replica::start(ReplicaLaunch {
            id,
            name: format!("{}#{id}", self.key).into(),
            spec: self.spec.clone(),
            port: port.port(),
            setpriv: self.host.setpriv.clone(),
            events: self.events_tx.clone(),
        });
        self.replicas.insert(
            id,
            Replica {
                generation: self.generation,
                ready: None,
                handle: Some(handle),
                _port: port,
            },
        );
        true
    }

    fn publish(&self) {
        let live = self.replicas.values().filter(|r| r.handle.is_some());
        let mut ready_endpoints: Vec<SocketAddr> = live.clone().filter_map(|r| r.ready).collect();
        ready_endpoints.sort_unstable();
        let updated = live.clone().filter(|r| r.generation == self.generation);
        let status = ReplicaSetStatus {
            replicas: count(live),
            ready_replicas: u32::try_from(ready_endpoints.len()).unwrap_or(u32::MAX),
            updated_replicas: count(updated.clone()),
            updated_ready_replicas: count(updated.filter(|r| r.ready.is_some())),
            ready_endpoints,
            last_failure: self.last_failure.clone(),
        };
        self.status.send_if_modified(|current| {
            let changed = *current != status;
            if changed {
                *current = status;
            }
            changed
        });
    }
}

fn count<T>(items: impl Iterator<Item = T>) -> u32 {
    u32::try_from(items.count()).unwrap_or(u32::MAX)
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
