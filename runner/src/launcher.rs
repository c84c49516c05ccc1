//! Forks every replica from one thread that lives as long as the runner.
//!
//! Replicas are started through `setpriv --pdeathsig KILL`, so the kernel kills
//! them when their parent goes away, even on `kill -9` of fnmesh. But Linux
//! delivers the parent-death signal when the *thread* that forked the child
//! exits, not the process. A tokio worker thread can leave the runtime (after
//! `block_in_place` it may retire into the blocking pool, whose threads exit
//! when idle), which would silently kill healthy replicas. So all forks happen
//! on this dedicated thread, which never exits. It runs a small current-thread
//! runtime so the children's pipes and exit notifications are registered with
//! a driver that is always being driven; the `Child` handles themselves are
//! awaited from the caller's runtime.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot};

struct LaunchRequest {
    command: Command,
    reply: oneshot::Sender<io::Result<Child>>,
}

/// Spawns `command` on the launcher thread.
pub(crate) async fn spawn(command: Command) -> io::Result<Child> {
    let (reply, replied) = oneshot::channel();
    launcher()?
        .send(LaunchRequest { command, reply })
        .map_err(|_| launcher_gone())?;
    replied.await.map_err(|_| launcher_gone())?
}

/// Where `setpriv` is: `PATH` first, then the Debian location.
pub(crate) fn find_setpriv() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("setpriv"))
        .chain([
            PathBuf::from("/usr/bin/setpriv"),
            PathBuf::from("/bin/setpriv"),
        ])
        .find(|candidate| is_executable(candidate))
}

pub(crate) fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn launcher() -> io::Result<&'static mpsc::UnboundedSender<LaunchRequest>> {
    // The sender lives in a static and is never dropped, so the thread's
    // receive loop never ends.
    static LAUNCHER: OnceLock<Option<mpsc::UnboundedSender<LaunchRequest>>> = OnceLock::new();
    LAUNCHER
        .get_or_init(|| start_thread().ok())
        .as_ref()
        .ok_or_else(launcher_gone)
}

fn start_thread() -> io::Result<mpsc::UnboundedSender<LaunchRequest>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (requests, mut received) = mpsc::unbounded_channel::<LaunchRequest>();
    std::thread::Builder::new()
        .name("runner-launcher".into())
        .spawn(move || {
            runtime.block_on(async move {
                while let Some(LaunchRequest { mut command, reply }) = received.recv().await {
                    // The requester may have given up; the child is then
                    // dropped and, with kill_on_drop, killed.
                    let _ = reply.send(command.spawn());
                }
            });
        })?;
    Ok(requests)
}

fn launcher_gone() -> io::Error {
    io::Error::other("the runner's launcher thread could not be started")
}
