//! One replica's container log on disk, as the kubelet keeps it: the output of the
//! running container and of the one before it (after a restart), each bounded, in the
//! CRI log format (`<RFC 3339 time> <stdout|stderr> <F|P> <bytes>`), so `kubectl logs`
//! with `--previous`, `--timestamps` and `--since` can be answered after the fact.
//!
//! Layout in the replica's directory: `current.log` (and `current.log.1`, its older
//! half once it passed [`MAX_SEGMENT`]) while a container runs; when it exits both
//! become `previous.log` / `previous.log.1`, replacing the container before. So a
//! replica holds at most four segments, whatever its processes print.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jiff::Timestamp;
use parking_lot::Mutex;
use tokio::sync::watch;

/// A segment is rotated once it holds this many bytes.
pub(crate) const MAX_SEGMENT: u64 = 2 * 1024 * 1024;

const CURRENT: &str = "current.log";
const PREVIOUS: &str = "previous.log";

/// Which stream a line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stream {
    Stdout,
    Stderr,
}

/// What readers follow: which container runs and how far its log has grown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct LogProgress {
    /// Containers started so far; the running one (if any) is the latest.
    pub(crate) containers: u32,
    pub(crate) running: bool,
    /// Whether a container exited, so `previous.log` exists.
    pub(crate) has_previous: bool,
    /// Bumped when `current.log` is rotated to `current.log.1`.
    pub(crate) segment: u32,
    /// Bytes written to the running container's log so far.
    pub(crate) written: u64,
}

/// Which container's log a reader wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Which {
    Current,
    Previous,
}

/// A replica's log directory. Cheap to share; writes from stdout and stderr are
/// serialized so records never interleave.
#[derive(Debug)]
pub(crate) struct ContainerLog {
    dir: PathBuf,
    file: Mutex<Option<Segment>>,
    progress: watch::Sender<LogProgress>,
}

#[derive(Debug)]
struct Segment {
    file: File,
    written: u64,
}

// === impl ContainerLog ===

impl ContainerLog {
    /// A log in `dir` (created, emptied of an earlier replica's files).
    pub(crate) fn create(dir: PathBuf) -> io::Result<Arc<Self>> {
        fs::create_dir_all(&dir)?;
        for name in segment_names(CURRENT)
            .iter()
            .chain(&segment_names(PREVIOUS))
        {
            remove_if_present(&dir.join(name))?;
        }
        Ok(Arc::new(Self {
            dir,
            file: Mutex::new(None),
            progress: watch::Sender::new(LogProgress::default()),
        }))
    }

    /// A log that keeps nothing (when its directory cannot be made): the replica
    /// still runs, `kubectl logs` finds no files.
    pub(crate) fn disabled(dir: PathBuf) -> Arc<Self> {
        Arc::new(Self {
            dir,
            file: Mutex::new(None),
            progress: watch::Sender::new(LogProgress::default()),
        })
    }

    #[cfg(test)]
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// A new container starts writing to `current.log`.
    pub(crate) fn container_started(&self) {
        let mut file = self.file.lock();
        *file = create_segment(&self.dir.join(CURRENT))
            .map(|file| Segment { file, written: 0 })
            .inspect_err(|e| tracing::warn!(dir = %self.dir.display(), error = %e, "cannot open container log"))
            .ok();
        self.progress.send_modify(|p| {
            p.containers += 1;
            p.running = true;
            p.written = 0;
        });
    }

    /// The running container exited: its log becomes the previous container's.
    pub(crate) fn container_exited(&self) {
        let mut file = self.file.lock();
        if file.take().is_some() {
            for (from, to) in segment_names(CURRENT).iter().zip(&segment_names(PREVIOUS)) {
                let (from, to) = (self.dir.join(from), self.dir.join(to));
                let moved = match fs::rename(&from, &to) {
                    Err(e) if e.kind() == io::ErrorKind::NotFound => remove_if_present(&to),
                    other => other,
                };
                if let Err(e) = moved {
                    tracing::warn!(file = %from.display(), error = %e, "cannot keep the previous container's log");
                }
            }
        }
        self.progress.send_modify(|p| {
            p.running = false;
            p.has_previous = true;
        });
    }

    /// Appends one record; `complete` is false for a piece of a longer line.
    pub(crate) fn write(&self, stream: Stream, line: &[u8], complete: bool) {
        let mut guard = self.file.lock();
        let Some(segment) = guard.as_mut() else {
            return;
        };
        let record = record(Timestamp::now(), stream, line, complete);
        if let Err(e) = segment.file.write_all(&record) {
            tracing::debug!(dir = %self.dir.display(), error = %e, "writing container log failed");
            return;
        }
        segment.written += record.len() as u64;
        let mut rotated = false;
        if segment.written >= MAX_SEGMENT {
            let current = self.dir.join(CURRENT);
            let older = self.dir.join(segment_names(CURRENT)[0].as_str());
            match fs::rename(&current, &older).and_then(|()| create_segment(&current)) {
                Ok(file) => {
                    *segment = Segment { file, written: 0 };
                    rotated = true;
                }
                Err(e) => {
                    tracing::warn!(dir = %self.dir.display(), error = %e, "rotating container log failed");
                    *guard = None;
                }
            }
        }
        let added = record.len() as u64;
        self.progress.send_modify(|p| {
            p.written += added;
            if rotated {
                p.segment += 1;
            }
        });
    }

    pub(crate) fn progress(&self) -> watch::Receiver<LogProgress> {
        self.progress.subscribe()
    }

    /// The files of `which` container, oldest first (only those that exist).
    pub(crate) fn files(&self, which: Which) -> Vec<PathBuf> {
        let base = match which {
            Which::Current => CURRENT,
            Which::Previous => PREVIOUS,
        };
        segment_names(base)
            .into_iter()
            .map(|n| self.dir.join(n))
            .filter(|p| p.exists())
            .collect()
    }

    /// Opens `which` container's segments, oldest first, with the progress they are
    /// consistent with (no rotation or exit can come between). The running
    /// container's newest segment is the writer's own descriptor, duplicated: read it
    /// only with positioned reads (`read_at`), which leave the writer's offset alone.
    pub(crate) fn open(&self, which: Which) -> (Vec<File>, LogProgress) {
        let file = self.file.lock();
        let progress = *self.progress.borrow();
        let mut opened: Vec<File> = Vec::new();
        let paths = self.files(which);
        let writing = which == Which::Current && progress.running;
        for (i, path) in paths.iter().enumerate() {
            let newest = i + 1 == paths.len();
            let handle = match (&*file, writing && newest) {
                (Some(segment), true) => segment.file.try_clone(),
                _ => File::open(path),
            };
            if let Ok(handle) = handle {
                opened.push(handle);
            }
        }
        (opened, progress)
    }

    /// The newest segment of container number `container` (1-based), to follow on
    /// after a rotation: the writer's while it runs, else where it went when it
    /// exited. `None` once that container's log is gone.
    pub(crate) fn newest_segment(&self, container: u32) -> Option<(File, LogProgress)> {
        let file = self.file.lock();
        let progress = *self.progress.borrow();
        let handle = match &*file {
            Some(segment) if progress.running && progress.containers == container => {
                segment.file.try_clone().ok()?
            }
            _ if progress.containers == container
                || (progress.containers == container + 1 && progress.running) =>
            {
                File::open(self.dir.join(PREVIOUS)).ok()?
            }
            _ => return None,
        };
        Some((handle, progress))
    }

    /// Removes the directory: the replica is gone, and so is its Pod.
    pub(crate) fn remove(&self) {
        *self.file.lock() = None;
        if let Err(e) = fs::remove_dir_all(&self.dir)
            && e.kind() != io::ErrorKind::NotFound
        {
            tracing::debug!(dir = %self.dir.display(), error = %e, "removing container log failed");
        }
    }
}

/// A new, empty segment, readable too: followers read the writer's descriptor.
fn create_segment(path: &Path) -> io::Result<File> {
    fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
}

/// `[<name>.1, <name>]`: the older segment first.
fn segment_names(name: &str) -> [String; 2] {
    [format!("{name}.1"), name.to_owned()]
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// One CRI log record: `<time> <stream> <F|P> <line>\n`.
pub(crate) fn record(at: Timestamp, stream: Stream, line: &[u8], complete: bool) -> Vec<u8> {
    let stream = match stream {
        Stream::Stdout => "stdout",
        Stream::Stderr => "stderr",
    };
    let tag = if complete { 'F' } else { 'P' };
    let mut out = format!("{} {stream} {tag} ", rfc3339_nano(at)).into_bytes();
    out.extend_from_slice(line);
    out.push(b'\n');
    out
}

/// Go's `RFC3339Nano` (UTC, fractional seconds without trailing zeros), which is
/// also how jiff prints a timestamp.
pub(crate) fn rfc3339_nano(at: Timestamp) -> String {
    at.to_string()
}

/// Deletes what a runner that died left under `root`: replica log directories
/// (`<namespace>_<deployment>_<replica>`, holding only our files). Anything else is
/// left alone.
pub(crate) fn remove_stale(root: &Path) {
    let Ok(entries) = fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let ours = path.is_dir()
            && entry.file_name().to_string_lossy().contains('_')
            && fs::read_dir(&path).is_ok_and(|files| {
                files.flatten().all(|f| {
                    let name = f.file_name();
                    let name = name.to_string_lossy();
                    name.starts_with(CURRENT) || name.starts_with(PREVIOUS)
                })
            });
        if ours && let Err(e) = fs::remove_dir_all(&path) {
            tracing::debug!(dir = %path.display(), error = %e, "removing a stale container log failed");
        }
    }
}

#[cfg(test)]
mod tests;
