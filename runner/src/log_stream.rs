//! Reading a container's log for one request: which container's files answer it (the
//! kubelet's rules: the running container, else the last one that ended; `previous`
//! the one before), the tail, and — with `follow` — the lines the running container
//! writes until it ends or the client goes away.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::container_log::{ContainerLog, LogProgress, Which};
use crate::log_query::{self, LogQuery, Renderer};

/// What a request reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Source {
    pub(crate) which: Which,
    /// The running container a follower stays with (its ordinal), if any.
    pub(crate) live: Option<u32>,
}

/// The files that answer a request for `container` of `pod`, or the kubelet's error
/// (a 400 for the client). Pure.
pub(crate) fn source(
    progress: &LogProgress,
    query: &LogQuery,
    container: &str,
    pod: &str,
) -> Result<Source, String> {
    if query.previous {
        // While a container waits to restart, "previous" is the one that just ended.
        return if progress.has_previous {
            Ok(Source {
                which: Which::Previous,
                live: None,
            })
        } else {
            Err(format!(
                "previous terminated container {container:?} in pod {pod:?} not found"
            ))
        };
    }
    if progress.running {
        let live = query.follow.then_some(progress.containers);
        Ok(Source {
            which: Which::Current,
            live,
        })
    } else if progress.has_previous {
        Ok(Source {
            which: Which::Previous,
            live: None,
        })
    } else {
        Err(format!(
            "container {container:?} in pod {pod:?} is waiting to start: ContainerCreating"
        ))
    }
}

/// Sends the requested log to `out` until it is all sent (or, following, until the
/// container ends or `out` closes).
pub(crate) async fn send(
    log: Arc<ContainerLog>,
    query: LogQuery,
    source: Source,
    out: mpsc::Sender<Bytes>,
) {
    let mut progress = log.progress();
    let (files, mut seen) = log.open(source.which);
    progress.mark_unchanged();
    let mut content = Vec::new();
    let mut newest = None;
    let count = files.len();
    for (i, file) in files.into_iter().enumerate() {
        let mut offset = 0;
        if read_from(&file, &mut offset, &mut content).is_err() {
            continue;
        }
        if i + 1 == count {
            newest = Some((file, offset));
        }
    }
    let start = match query.tail_lines {
        Some(n) => content.len() - log_query::tail(&content, n).len(),
        None => 0,
    };
    let mut renderer = Renderer::new(&query);
    let (text, consumed) = renderer.render(&content[start..]);
    if !send_text(&out, text).await || renderer.done() {
        return;
    }
    let Some(live) = source.live else {
        return;
    };
    // A follower of a container that has not written yet waits for its first segment.
    let (mut file, mut offset) = match newest {
        Some(newest) => newest,
        None => match log.newest_segment(live) {
            Some((file, now)) => {
                seen = now;
                (file, 0)
            }
            None => return,
        },
    };
    let mut pending = content[start + consumed..].to_vec();
    loop {
        let now = *progress.borrow_and_update();
        if read_from(&file, &mut offset, &mut pending).is_err() {
            return;
        }
        let (text, consumed) = renderer.render(&pending);
        pending.drain(..consumed);
        if !send_text(&out, text).await || renderer.done() {
            return;
        }
        if now.containers != live || !now.running {
            return;
        }
        if now.segment != seen.segment {
            // Everything before the rotation is in the file just read to its end.
            match log.newest_segment(live) {
                Some((next, at)) => {
                    (file, offset, seen) = (next, 0, at);
                }
                None => return,
            }
            continue;
        }
        tokio::select! {
            changed = progress.changed() => if changed.is_err() { return },
            () = out.closed() => return,
        }
    }
}

/// Appends what `file` holds past `offset` to `buf` with positioned reads (the
/// file may be the writer's descriptor), advancing `offset`.
fn read_from(file: &File, offset: &mut u64, buf: &mut Vec<u8>) -> std::io::Result<()> {
    let mut chunk = vec![0; 64 * 1024];
    loop {
        match file.read_at(&mut chunk, *offset) {
            Ok(0) => return Ok(()),
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                *offset += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

async fn send_text(out: &mpsc::Sender<Bytes>, text: Vec<u8>) -> bool {
    text.is_empty() || out.send(Bytes::from(text)).await.is_ok()
}

#[cfg(test)]
mod tests;
