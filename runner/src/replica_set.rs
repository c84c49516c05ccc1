//! The replicas of one owner (a Deployment): a task that owns them, applies
//! desired-state changes through [`plan`](crate::plan::plan) and publishes
//! [`ReplicaSetStatus`] and each replica's [`ReplicaState`] after every change.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::container_log::ContainerLog;
use crate::plan::{self, ReplicaView};
use crate::port::{PortAllocator, PortLease};
use crate::replica::{self, ReplicaEvent, ReplicaHandle, ReplicaId, ReplicaLaunch};
use crate::replica_name;
use crate::replica_spec::ReplicaSpec;
use crate::replica_state::ReplicaState;
use crate::status::{ReplicaFailure, ReplicaSetStatus};

/// Every replica of a set, oldest first, as published.
pub(crate) type ReplicaStates = Arc<[ReplicaState]>;

/// After failing to get a port, try again this much later.
const PORT_RETRY: Duration = Duration::from_secs(1);

/// Desired-state changes sent to a replica set task.
#[derive(Debug)]
pub(crate) enum ReplicaSetCommand {
    Set {
        spec: Arc<ReplicaSpec>,
        count: u32,
    },
    /// Stop this replica (its Pod was deleted); the count stays, so another starts.
    Replace(ReplicaId),
    /// Stop every replica, then end the task.
    Remove,
}

/// Shared by all replica sets of a supervisor.
#[derive(Debug)]
pub(crate) struct Host {
    pub(crate) setpriv: Arc<Path>,
    pub(crate) ports: PortAllocator,
    /// Where each replica's container log directory goes.
    pub(crate) log_root: PathBuf,
    /// Replica ids and spec generations, unique across sets (a set re-created for
    /// the same owner does not reuse them).
    pub(crate) next_id: AtomicU64,
    pub(crate) next_generation: AtomicU64,
}

// === impl Host ===

impl Host {
    pub(crate) fn new(setpriv: Arc<Path>, log_root: PathBuf) -> Self {
        Self {
            setpriv,
            ports: PortAllocator::default(),
            log_root,
            next_id: AtomicU64::new(1),
            next_generation: AtomicU64::new(1),
        }
    }

    fn generation(&self) -> u64 {
        self.next_generation.fetch_add(1, Ordering::Relaxed)
    }
}

#[derive(Debug)]
struct Replica {
    generation: u64,
    ready: Option<SocketAddr>,
    state: ReplicaState,
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
    replicas: BTreeMap<ReplicaId, Replica>,
    last_failure: Option<ReplicaFailure>,
    retry_at: Option<Instant>,
    events_tx: mpsc::UnboundedSender<ReplicaEvent>,
    events: mpsc::UnboundedReceiver<ReplicaEvent>,
    commands: mpsc::UnboundedReceiver<ReplicaSetCommand>,
    status: watch::Sender<ReplicaSetStatus>,
    states: watch::Sender<ReplicaStates>,
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
        states: watch::Sender<ReplicaStates>,
    ) -> Self {
        let (events_tx, events) = mpsc::unbounded_channel();
        let generation = host.generation();
        Self {
            key,
            host,
            spec,
            generation,
            desired: count,
            removing: false,
            replicas: BTreeMap::new(),
            last_failure: None,
            retry_at: None,
            events_tx,
            events,
            commands,
            status,
            states,
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
                    Some(ReplicaSetCommand::Replace(id)) => self.stop_replica(id),
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
            self.generation = self.host.generation();
            self.last_failure = None;
        }
        self.desired = count;
    }

    fn on_event(&mut self, event: ReplicaEvent) {
        let now = Timestamp::now();
        match event {
            ReplicaEvent::Started(id, pid, restarts) => {
                if let Some(r) = self.replicas.get_mut(&id) {
                    r.state.started(pid, restarts, now);
                }
            }
            ReplicaEvent::Ready(id, addr) => {
                if let Some(r) = self.replicas.get_mut(&id) {
                    r.ready = Some(addr);
                    r.state.set_ready(true, now);
                }
            }
            ReplicaEvent::NotReady(id) => {
                if let Some(r) = self.replicas.get_mut(&id) {
                    r.ready = None;
                    r.state.set_ready(false, now);
                }
            }
            ReplicaEvent::Exited(id, failure, delay) => {
                if let Some(r) = self.replicas.get_mut(&id) {
                    r.ready = None;
                    r.state.exited(&failure, delay, now);
                    if r.generation == self.generation && r.handle.is_some() {
                        self.last_failure = Some(failure);
                    }
                }
            }
            ReplicaEvent::Stopped(id) => {
                if let Some(r) = self.replicas.remove(&id) {
                    r.state.log.0.remove();
                }
            }
        }
    }

    /// Out of the endpoints (published next) before SIGTERM lands.
    fn stop_replica(&mut self, id: ReplicaId) {
        if let Some(r) = self.replicas.get_mut(&id) {
            r.ready = None;
            r.handle = None;
            r.state.stop(Timestamp::now());
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
            self.stop_replica(id);
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
        let id = self.host.next_id.fetch_add(1, Ordering::Relaxed);
        let name =
            replica_name::unique(id, |n| self.replicas.values().any(|r| &*r.state.name == n));
        let log = self.create_log(&name);
        let handle = replica::start(ReplicaLaunch {
            id,
            name: format!("{}#{name}", self.key).into(),
            spec: self.spec.clone(),
            port: port.port(),
            setpriv: self.host.setpriv.clone(),
            log: log.clone(),
            events: self.events_tx.clone(),
        });
        let state = ReplicaState::new(
            id,
            name.into(),
            self.generation,
            port.port(),
            log,
            Timestamp::now(),
        );
        self.replicas.insert(
            id,
            Replica {
                generation: self.generation,
                ready: None,
                state,
                handle: Some(handle),
                _port: port,
            },
        );
        true
    }

    /// `<log root>/<namespace>_<owner>_<replica>`.
    fn create_log(&self, name: &str) -> Arc<ContainerLog> {
        let dir = self
            .host
            .log_root
            .join(format!("{}_{name}", self.key.replace('/', "_")));
        ContainerLog::create(dir.clone()).unwrap_or_else(|e| {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot keep this replica's log");
            ContainerLog::disabled(dir)
        })
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
        let states: Vec<ReplicaState> = self.replicas.values().map(|r| r.state.clone()).collect();
        self.states.send_if_modified(|current| {
            let changed = **current != *states;
            if changed {
                *current = states.into();
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
