//! One running replica process: how it is started (setpriv, own process
//! group, `PORT`), how it is signalled, and what is left when it exits.

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use crate::container_log::{ContainerLog, Stream};
use crate::launcher;
use crate::output::{self, LastLine};
use crate::replica_spec::ReplicaSpec;
use crate::status::ReplicaFailure;

/// How long to wait for a dead replica's output to drain before giving up on
/// its last lines (a daemonized grandchild may hold the pipe open).
const OUTPUT_DRAIN: Duration = Duration::from_secs(1);

/// A started replica process and its output forwarders.
#[derive(Debug)]
pub(crate) struct ReplicaProcess {
    child: Child,
    /// Also the process group id: the replica leads its own group.
    pgid: Pid,
    last_stderr: LastLine,
    output: Vec<JoinHandle<()>>,
    log: Arc<ContainerLog>,
}

// === impl ReplicaProcess ===

impl ReplicaProcess {
    /// Starts `spec` listening on `port`, as `setpriv --pdeathsig KILL -- cmd…`
    /// in a new process group.
    pub(crate) async fn start(
        setpriv: &Path,
        spec: &ReplicaSpec,
        port: u16,
        name: &Arc<str>,
        log: &Arc<ContainerLog>,
    ) -> io::Result<Self> {
        let mut command = Command::new(setpriv);
        command
            .args(["--pdeathsig", "KILL", "--"])
            .args(&spec.command)
            .args(&spec.args)
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .env("PORT", port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own group, so stop signals reach whatever the replica forks.
            .process_group(0)
            // Last line of defence if the runner drops a replica without
            // stopping it (setpriv covers the runner dying).
            .kill_on_drop(true);
        if let Some(dir) = &spec.working_dir {
            command.current_dir(dir);
        }
        let mut child = launcher::spawn(command).await.map_err(|e| {
            let dir = spec.working_dir.as_deref().unwrap_or(Path::new("."));
            io::Error::new(
                e.kind(),
                format!(
                    "cannot start {:?} in {}: {e}",
                    spec.command[0],
                    dir.display()
                ),
            )
        })?;
        let pid = child
            .id()
            .ok_or_else(|| io::Error::other("replica exited at once"))?;
        let pgid = Pid::from_raw(i32::try_from(pid).map_err(io::Error::other)?);
        log.container_started();
        let last_stderr = LastLine::default();
        let mut output = Vec::with_capacity(2);
        if let Some(stdout) = child.stdout.take() {
            let log = log.clone();
            output.push(output::forward(
                stdout,
                name.clone(),
                Stream::Stdout,
                log,
                None,
            ));
        }
        if let Some(stderr) = child.stderr.take() {
            let (log, last) = (log.clone(), Some(last_stderr.clone()));
            output.push(output::forward(
                stderr,
                name.clone(),
                Stream::Stderr,
                log,
                last,
            ));
        }
        Ok(Self {
            child,
            pgid,
            last_stderr,
            output,
            log: log.clone(),
        })
    }

    pub(crate) fn pid(&self) -> i32 {
        self.pgid.as_raw()
    }

    /// Waits for the replica's main process to exit. Cancel-safe.
    pub(crate) async fn wait(&mut self) -> io::Result<ExitStatus> {
        self.child.wait().await
    }

    /// After the main process exited by itself: kills what it left in its
    /// group (as a container's processes die with its init) and describes
    /// the exit.
    pub(crate) async fn reap(
        self,
        status: io::Result<ExitStatus>,
        restarts: u32,
    ) -> ReplicaFailure {
        let last_stderr = self.finish().await;
        match status {
            Ok(status) => ReplicaFailure {
                exit_code: status.code(),
                signal: status.signal(),
                last_stderr_line: last_stderr,
                restarts,
            },
            Err(e) => ReplicaFailure {
                exit_code: None,
                signal: None,
                last_stderr_line: Some(format!("lost track of the replica process: {e}")),
                restarts,
            },
        }
    }

    /// Graceful stop: SIGTERM to the group, SIGKILL after `grace` if the main
    /// process is still alive, then SIGKILL to any leftovers.
    pub(crate) async fn stop(mut self, grace: Duration) -> io::Result<ExitStatus> {
        self.signal(Signal::SIGTERM);
        let status = match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(status) => status,
            Err(_) => {
                tracing::info!(pid = self.pid(), ?grace, "replica ignored SIGTERM, killing");
                self.signal(Signal::SIGKILL);
                self.child.wait().await
            }
        };
        self.finish().await;
        status
    }

    /// Kills the rest of the group, drains output and closes the container's log.
    /// The group id could in theory be reused once every member is reaped; we
    /// signal right after reaping the leader, so the window is a few microseconds.
    async fn finish(mut self) -> Option<String> {
        self.signal(Signal::SIGKILL);
        let pid = self.pid();
        for task in self.output.drain(..) {
            if tokio::time::timeout(OUTPUT_DRAIN, task).await.is_err() {
                tracing::debug!(pid, "replica output still open after exit");
            }
        }
        self.log.container_exited();
        self.last_stderr.get()
    }

    fn signal(&self, signal: Signal) {
        match killpg(self.pgid, signal) {
            // ESRCH: the whole group is already gone.
            Ok(()) | Err(Errno::ESRCH) => {}
            Err(e) => {
                tracing::warn!(pgid = self.pid(), %signal, error = %e, "cannot signal replica");
            }
        }
    }
}
