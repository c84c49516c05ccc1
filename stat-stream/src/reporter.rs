//! The sending side: one task per reporter keeps a stream open to the autoscaler and
//! feeds it the queued reports in order.
//!
//! Delivery is at most once: a report handed to a stream that then breaks is lost,
//! which is fine for figures the next second supersedes.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::{oneshot, watch};

use crate::backoff::Backoff;
use crate::client::{self, StreamEnd};
use crate::messages::{RevisionStat, StatReport, StatSource};
use crate::queue::Queue;

/// A handle to queue reports; clones share one stream. The task ends when the last
/// handle is dropped.
#[derive(Clone, Debug)]
pub struct Reporter {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    queue: Arc<Queue>,
    reporter: String,
    source: StatSource,
    /// Dropped with the last handle, which tells the task to stop.
    _alive: oneshot::Sender<()>,
}

impl Reporter {
    /// Spawns (tokio) the task that keeps one stream open to the autoscaler at the
    /// address `target` currently holds (`None`: not known yet), reconnecting when it
    /// changes and, after a failure, with capped exponential backoff. Reports queued
    /// while disconnected: only the latest [`QUEUE_CAPACITY`](crate::QUEUE_CAPACITY)
    /// are kept.
    pub fn spawn(
        target: watch::Receiver<Option<SocketAddr>>,
        reporter: String,
        source: StatSource,
    ) -> Self {
        let queue = Arc::new(Queue::default());
        let (alive, dropped) = oneshot::channel();
        tokio::spawn({
            let queue = Arc::clone(&queue);
            let reporter = reporter.clone();
            async move {
                tokio::select! {
                    () = run(target, &queue, &reporter) => {}
                    _ = dropped => {}
                }
            }
        });
        Self {
            inner: Arc::new(Inner {
                queue,
                reporter,
                source,
                _alive: alive,
            }),
        }
    }

    /// Queues a report; never blocks, never fails (the oldest is dropped when full).
    pub fn send(&self, stats: Vec<RevisionStat>, cold: bool) {
        self.inner.queue.push(StatReport {
            reporter: self.inner.reporter.clone(),
            source: self.inner.source.into(),
            cold,
            stats,
        });
    }
}

/// Follows `target` forever.
async fn run(mut target: watch::Receiver<Option<SocketAddr>>, queue: &Arc<Queue>, reporter: &str) {
    let mut backoff = Backoff::default();
    // Once the sender is gone the address can no longer change: stop watching it.
    let mut watching = true;
    loop {
        let addr = *target.borrow_and_update();
        let Some(addr) = addr else {
            changed(&mut target, &mut watching).await;
            continue;
        };
        let end = tokio::select! {
            end = stream(addr, queue, &mut backoff) => end,
            () = changed(&mut target, &mut watching) => {
                tracing::debug!(%addr, "autoscaler address changed; reconnecting");
                backoff.reset();
                continue;
            }
        };
        let delay = backoff.next_delay();
        match end {
            StreamEnd::Connect(error) => {
                tracing::debug!(%addr, reporter, %error, retry_in = ?delay, "cannot reach the autoscaler");
            }
            StreamEnd::Failed(status) => {
                tracing::info!(%addr, reporter, %status, retry_in = ?delay, "stat stream failed");
            }
            StreamEnd::Closed => {
                tracing::info!(%addr, reporter, retry_in = ?delay, "the autoscaler ended the stat stream");
            }
        }
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = changed(&mut target, &mut watching) => backoff.reset(),
        }
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

/// Completes when `target` changes; never, once its sender is gone.
async fn changed(target: &mut watch::Receiver<Option<SocketAddr>>, watching: &mut bool) {
    if *watching && target.changed().await.is_ok() {
        return;
    }
    *watching = false;
    std::future::pending::<()>().await;
}
