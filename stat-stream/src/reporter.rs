//! The sending side: a reporter keeps one stream open to every autoscaler instance it
//! knows of and feeds each the queued reports in order.
//!
//! Every instance gets every report: all autoscaler replicas keep the same view, so a
//! follower that takes over the lease decides from the same data at once.
//!
//! Delivery is at most once: a report handed to a stream that then breaks is lost,
//! which is fine for figures the next second supersedes.

use std::net::SocketAddr;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::backoff::Backoff;
use crate::client::{self, StreamEnd};
use crate::messages::{RevisionStat, StatReport, StatSource};
use crate::queue::Queue;

/// A handle to queue reports; clones share the streams. The tasks end when the last
/// handle is dropped.
#[derive(Clone, Debug)]
pub struct Reporter {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    streams: Arc<Mutex<Streams>>,
    reporter: String,
    source: StatSource,
    /// Dropped with the last handle, which tells the task to stop.
    _alive: oneshot::Sender<()>,
}

/// One stream per known autoscaler address, and what was sent while none was known.
#[derive(Debug, Default)]
struct Streams {
    open: Vec<Stream>,
    backlog: Arc<Queue>,
}

#[derive(Debug)]
struct Stream {
    addr: SocketAddr,
    queue: Arc<Queue>,
    task: JoinHandle<()>,
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Reporter {
    /// Spawns (tokio) the tasks that keep one stream open to each autoscaler at the
    /// addresses `targets` currently holds (empty: none known yet), following it as it
    /// changes; after a failure each stream reconnects with capped exponential backoff.
    /// Reports queued while a stream is down (or while no address is known) are kept,
    /// only the latest [`QUEUE_CAPACITY`](crate::QUEUE_CAPACITY).
    pub fn spawn(
        targets: watch::Receiver<Vec<SocketAddr>>,
        reporter: String,
        source: StatSource,
    ) -> Self {
        let streams = Arc::new(Mutex::new(Streams::default()));
        let (alive, dropped) = oneshot::channel();
        tokio::spawn({
            let streams = Arc::clone(&streams);
            async move {
                tokio::select! {
                    () = follow_targets(targets, &streams) => {}
                    _ = dropped => {}
                }
            }
        });
        Self {
            inner: Arc::new(Inner {
                streams,
                reporter,
                source,
                _alive: alive,
            }),
        }
    }

    /// Queues a report for every autoscaler; never blocks, never fails (the oldest is
    /// dropped when a queue is full).
    pub fn send(&self, stats: Vec<RevisionStat>, cold: bool) {
        let report = StatReport {
            reporter: self.inner.reporter.clone(),
            source: self.inner.source.into(),
            cold,
            stats,
        };
        let streams = self.inner.streams.lock();
        match streams.open.split_last() {
            None => streams.backlog.push(report),
            Some((last, others)) => {
                for stream in others {
                    stream.queue.push(report.clone());
                }
                last.queue.push(report);
            }
        }
    }
}

/// Keeps `streams` matching `targets` until the sender is gone (then the streams stay
/// as they are).
async fn follow_targets(mut targets: watch::Receiver<Vec<SocketAddr>>, streams: &Mutex<Streams>) {
    loop {
        let wanted = targets.borrow_and_update().clone();
        update(streams, &wanted);
        if targets.changed().await.is_err() {
            return std::future::pending().await;
        }
    }
}

/// Closes the streams to addresses no longer wanted and opens the new ones; the first
/// streams opened take over the backlog.
fn update(streams: &Mutex<Streams>, wanted: &[SocketAddr]) {
    let mut streams = streams.lock();
    streams.open.retain(|s| {
        let keep = wanted.contains(&s.addr);
        if !keep {
            tracing::debug!(addr = %s.addr, "autoscaler address gone; closing its stream");
        }
        keep
    });
    let seed = if streams.open.is_empty() {
        let backlog = streams.backlog.snapshot();
        streams.backlog.clear();
        backlog
    } else {
        Vec::new()
    };
    for &addr in wanted {
        if streams.open.iter().any(|s| s.addr == addr) {
            continue;
        }
        let queue = Arc::new(Queue::default());
        for report in &seed {
            queue.push(report.clone());
        }
        let task = tokio::spawn(keep_streaming(addr, Arc::clone(&queue)));
        streams.open.push(Stream { addr, queue, task });
    }
}

/// One address, forever: stream, and after each end back off and reconnect.
async fn keep_streaming(addr: SocketAddr, queue: Arc<Queue>) {
    let mut backoff = Backoff::default();
    loop {
        let end = stream(addr, &queue, &mut backoff).await;
        let delay = backoff.next_delay();
        match end {
            StreamEnd::Connect(error) => {
                tracing::debug!(%addr, %error, retry_in = ?delay, "cannot reach the autoscaler");
            }
            StreamEnd::Failed(status) => {
                tracing::info!(%addr, %status, retry_in = ?delay, "stat stream failed");
            }
            StreamEnd::Closed => {
                tracing::info!(%addr, retry_in = ?delay, "the autoscaler ended the stat stream");
            }
        }
        tokio::time::sleep(delay).await;
    }
}

/// One connection and its stream, fed from the queue.
async fn stream(addr: SocketAddr, queue: &Arc<Queue>, backoff: &mut Backoff) -> StreamEnd {
    let channel = match client::connect(addr).await {
        Ok(channel) => channel,
        Err(end) => return end,
    };
    backoff.reset();
    tracing::debug!(%addr, "stat stream open");
    let reports = futures::stream::unfold(Arc::clone(queue), |queue| async move {
        let report = queue.pop().await;
        Some((report, queue))
    });
    client::report(channel, reports).await
}
