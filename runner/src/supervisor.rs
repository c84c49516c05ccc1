//! The public face of the runner's process supervision: desired replica
//! counts per owner in, [`ReplicaSetStatus`] out.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::container_log;
use crate::launcher;
use crate::replica::ReplicaId;
use crate::replica_set::{Host, ReplicaSet, ReplicaSetCommand, ReplicaStates};
use crate::replica_spec::{ReplicaSpec, SpecError};
use crate::status::ReplicaSetStatus;

/// Why the supervisor refused a request.
#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    #[error(transparent)]
    InvalidSpec(#[from] SpecError),
    #[error(
        "util-linux `setpriv` not found (looked in PATH and {0}); the runner needs it so \
         replicas die with fnmesh (install util-linux)"
    )]
    SetprivMissing(String),
    #[error("the supervisor has been shut down")]
    ShutDown,
    #[error("cannot create the container log directory {0}: {1}")]
    LogDir(String, std::io::Error),
}

/// Runs replica sets as local processes, one set per owner key
/// (`namespace/name`). Cheap to clone; clones share the replica sets.
///
/// Dropping the last clone without [`shutdown`](Self::shutdown) still stops
/// every replica gracefully, in the background, while the runtime lives.
#[derive(Clone, Debug)]
pub struct Supervisor {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    host: Arc<Host>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    sets: HashMap<String, SetHandle>,
    /// Each owner's replica states; outlive a set so a watcher of the owner sees
    /// every set the owner gets.
    states: HashMap<String, watch::Sender<ReplicaStates>>,
    shut_down: bool,
}

#[derive(Debug)]
struct SetHandle {
    commands: mpsc::UnboundedSender<ReplicaSetCommand>,
    status: watch::Receiver<ReplicaSetStatus>,
    task: JoinHandle<()>,
}

// === impl Supervisor ===

impl Supervisor {
    /// A supervisor using the `setpriv` found in `PATH` or `/usr/bin`, keeping each
    /// replica's stdout and stderr under `log_dir` (`fnmesh up`: `<data-dir>/logs`).
    pub fn new(log_dir: impl Into<PathBuf>) -> Result<Self, SupervisorError> {
        let setpriv = launcher::find_setpriv().ok_or_else(|| {
            SupervisorError::SetprivMissing("/usr/bin/setpriv, /bin/setpriv".into())
        })?;
        Self::with_setpriv(setpriv, log_dir)
    }

    /// A supervisor using the given `setpriv` binary. Replica logs a runner that
    /// died left in `log_dir` are deleted (their replicas died with it).
    pub fn with_setpriv(
        setpriv: impl Into<PathBuf>,
        log_dir: impl Into<PathBuf>,
    ) -> Result<Self, SupervisorError> {
        let setpriv: PathBuf = setpriv.into();
        if !launcher::is_executable(&setpriv) {
            return Err(SupervisorError::SetprivMissing(
                setpriv.display().to_string(),
            ));
        }
        let log_dir: PathBuf = log_dir.into();
        std::fs::create_dir_all(&log_dir)
            .map_err(|e| SupervisorError::LogDir(log_dir.display().to_string(), e))?;
        container_log::remove_stale(&log_dir);
        let setpriv: Arc<Path> = setpriv.into();
        Ok(Self {
            inner: Arc::new(Inner {
                host: Arc::new(Host::new(setpriv, log_dir)),
                state: Mutex::new(State::default()),
            }),
        })
    }

    /// Converges `key`'s replicas to `count` processes running `spec`, and
    /// returns a receiver of the set's status. Starts missing replicas, stops
    /// extras; a changed spec replaces replicas make-before-break (old ones
    /// stop only as new ones become ready). Returns at once; convergence
    /// happens in the background. Must be called within a tokio runtime.
    pub fn set_replicas(
        &self,
        key: &str,
        spec: ReplicaSpec,
        count: u32,
    ) -> Result<watch::Receiver<ReplicaSetStatus>, SupervisorError> {
        spec.validate()?;
        let spec = Arc::new(spec);
        let mut state = self.inner.state.lock();
        if state.shut_down {
            return Err(SupervisorError::ShutDown);
        }
        if let Some(set) = state.sets.get(key) {
            let command = ReplicaSetCommand::Set {
                spec: spec.clone(),
                count,
            };
            if set.commands.send(command).is_ok() {
                return Ok(set.status.clone());
            }
            // The set's task ended (it panicked); start the set afresh.
        }
        let (commands, received) = mpsc::unbounded_channel();
        let (status_tx, status) = watch::channel(ReplicaSetStatus::default());
        let states = state.states_of(key).clone();
        let set = ReplicaSet::new(
            key.into(),
            self.inner.host.clone(),
            spec,
            count,
            received,
            status_tx,
            states,
        );
        let task = tokio::spawn(set.run());
        let handle = SetHandle {
            commands,
            status: status.clone(),
            task,
        };
        state.sets.insert(key.to_owned(), handle);
        Ok(status)
    }

    /// The status of `key`'s replica set, if it exists.
    pub fn status(&self, key: &str) -> Option<watch::Receiver<ReplicaSetStatus>> {
        let state = self.inner.state.lock();
        state.sets.get(key).map(|set| set.status.clone())
    }

    /// Each replica of `key`'s sets, present and future, as it changes.
    pub(crate) fn replica_states(&self, key: &str) -> watch::Receiver<ReplicaStates> {
        self.inner.state.lock().states_of(key).subscribe()
    }

    /// Replaces replica `id` of `key`: it stops gracefully (out of the endpoints
    /// first, as for a scale-down) and, the count being unchanged, another starts.
    /// Returns `false` if there is no such set.
    pub(crate) fn replace(&self, key: &str, id: ReplicaId) -> bool {
        let state = self.inner.state.lock();
        state
            .sets
            .get(key)
            .is_some_and(|set| set.commands.send(ReplicaSetCommand::Replace(id)).is_ok())
    }

    /// The keys of all replica sets.
    pub fn keys(&self) -> Vec<String> {
        self.inner.state.lock().sets.keys().cloned().collect()
    }

    /// Stops all of `key`'s replicas gracefully and forgets the set; returns
    /// once every process is gone. Returns `false` if there was no such set.
    pub async fn remove(&self, key: &str) -> bool {
        let set = self.inner.state.lock().sets.remove(key);
        let Some(set) = set else {
            return false;
        };
        stop(set).await;
        let mut state = self.inner.state.lock();
        if !state.sets.contains_key(key) {
            state
                .states
                .retain(|k, s| k != key || s.receiver_count() > 0);
        }
        true
    }

    /// Stops every replica set gracefully (in parallel) and refuses new work.
    pub async fn shutdown(&self) {
        let sets: Vec<SetHandle> = {
            let mut state = self.inner.state.lock();
            state.shut_down = true;
            state.sets.drain().map(|(_, set)| set).collect()
        };
        let stops: Vec<_> = sets
            .into_iter()
            .map(|set| tokio::spawn(stop(set)))
            .collect();
        for stopping in stops {
            let _ = stopping.await;
        }
    }
}

// === impl State ===

impl State {
    fn states_of(&mut self, key: &str) -> &watch::Sender<ReplicaStates> {
        self.states
            .entry(key.to_owned())
            .or_insert_with(|| watch::Sender::new(ReplicaStates::from([])))
    }
}

async fn stop(set: SetHandle) {
    let _ = set.commands.send(ReplicaSetCommand::Remove);
    if let Err(e) = set.task.await {
        tracing::error!(error = %e, "replica set task failed");
    }
}
