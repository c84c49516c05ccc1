//! One replica's life: start, probe, restart with backoff on exit, stop on
//! request. Reports to its replica set through [`ReplicaEvent`]s.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::backoff;
use crate::container_log::ContainerLog;
use crate::drain;
use crate::probe;
use crate::process::ReplicaProcess;
use crate::replica_spec::ReplicaSpec;
use crate::status::ReplicaFailure;

/// Identifies a replica within its set; increasing, so a higher id is newer.
pub(crate) type ReplicaId = u64;

/// What a replica task tells its replica set.
#[derive(Debug)]
pub(crate) enum ReplicaEvent {
    /// The process started (pid) after this many restarts.
    Started(ReplicaId, i32, u32),
    Ready(ReplicaId, SocketAddr),
    NotReady(ReplicaId),
    /// The process exited (or failed to start); a restart follows after the delay.
    Exited(ReplicaId, ReplicaFailure, Duration),
    /// The replica was stopped on request and its process is gone.
    Stopped(ReplicaId),
}

/// Stops the replica when told to or dropped.
#[derive(Debug)]
pub(crate) struct ReplicaHandle {
    _stop: oneshot::Sender<()>,
}

/// Everything a replica task needs.
#[derive(Debug)]
pub(crate) struct ReplicaLaunch {
    pub(crate) id: ReplicaId,
    pub(crate) name: Arc<str>,
    pub(crate) spec: Arc<ReplicaSpec>,
    pub(crate) port: u16,
    pub(crate) setpriv: Arc<Path>,
    pub(crate) log: Arc<ContainerLog>,
    pub(crate) events: mpsc::UnboundedSender<ReplicaEvent>,
}

/// Starts the replica's task.
pub(crate) fn start(launch: ReplicaLaunch) -> ReplicaHandle {
    let (stop_tx, stop_rx) = oneshot::channel();
    tokio::spawn(run(launch, stop_rx));
    ReplicaHandle { _stop: stop_tx }
}

async fn run(launch: ReplicaLaunch, mut stop: oneshot::Receiver<()>) {
    let ReplicaLaunch {
        id,
        name,
        spec,
        port,
        setpriv,
        log,
        events,
    } = launch;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut restarts = 0u32;
    let mut crashes = 0u32;
    loop {
        let started = Instant::now();
        let failure = match ReplicaProcess::start(&setpriv, &spec, port, &name, &log).await {
            Err(e) => {
                tracing::warn!(replica = %name, error = %e, "replica failed to start");
                ReplicaFailure {
                    exit_code: None,
                    signal: None,
                    last_stderr_line: Some(e.to_string()),
                    restarts,
                }
            }
            Ok(mut process) => {
                tracing::info!(replica = %name, pid = process.pid(), port, restarts, "replica started");
                let _ = events.send(ReplicaEvent::Started(id, process.pid(), restarts));
                let exit = tokio::select! {
                    status = process.wait() => Some(status),
                    never = probe::watch_readiness(&spec.readiness, port, |ready| {
                        let event = if ready {
                            ReplicaEvent::Ready(id, addr)
                        } else {
                            ReplicaEvent::NotReady(id)
                        };
                        let _ = events.send(event);
                    }) => match never {},
                    _ = &mut stop => None,
                };
                let Some(status) = exit else {
                    // Out of the endpoints already: let in-flight requests finish first
                    // (unless the process ends by itself meanwhile).
                    let drain = drain::wait_until_drained(port, spec.termination_grace_period);
                    let exited = tokio::select! {
                        status = process.wait() => Some(status),
                        () = drain => None,
                    };
                    if let Some(status) = exited {
                        tracing::info!(replica = %name, ?status, "replica exited while draining");
                        let _ = process.reap(status, restarts).await;
                        let _ = events.send(ReplicaEvent::Stopped(id));
                        return;
                    }
                    let status = process.stop(spec.termination_grace_period).await;
                    tracing::info!(replica = %name, ?status, "replica stopped");
                    let _ = events.send(ReplicaEvent::Stopped(id));
                    return;
                };
                let failure = process.reap(status, restarts).await;
                tracing::warn!(
                    replica = %name,
                    exit_code = ?failure.exit_code,
                    signal = ?failure.signal,
                    last_stderr = ?failure.last_stderr_line,
                    "replica exited"
                );
                failure
            }
        };
        crashes = backoff::crashes_after_exit(crashes, started.elapsed());
        let delay = backoff::restart_delay(crashes);
        let _ = events.send(ReplicaEvent::Exited(id, failure, delay));
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            _ = &mut stop => {
                let _ = events.send(ReplicaEvent::Stopped(id));
                return;
            }
        }
        restarts = restarts.saturating_add(1);
    }
}
