//! Idle upstream connections of one endpoint, one list per proxy worker thread: a
//! connection's I/O is registered with the runtime of the worker that opened it, so it
//! must never be used by another. Most recently used last (reused first, so the rest age
//! out and get closed).

use std::collections::VecDeque;
use std::sync::atomic::Ordering;

use parking_lot::Mutex;

use super::http1::{COARSE_NOW, IDLE_SECS};
use crate::workers;

#[derive(Debug)]
pub(crate) struct IdleLists<T> {
    lists: Box<[Mutex<VecDeque<Idle<T>>>]>,
}

#[derive(Debug)]
struct Idle<T> {
    connection: T,
    /// When it went idle, by the coarse clock.
    since: u32,
    /// The worker whose runtime drives this connection: workers share a list when
    /// there are more of them than lists (an endpoint made before they started).
    worker: usize,
}

impl<T> IdleLists<T> {
    pub(crate) fn new() -> Self {
        Self {
            lists: (0..workers::worker_count())
                .map(|_| Mutex::new(VecDeque::new()))
                .collect(),
        }
    }

    /// The current worker and its list.
    fn list(&self) -> (usize, &Mutex<VecDeque<Idle<T>>>) {
        let worker = workers::current_worker();
        (worker, &self.lists[worker % self.lists.len()])
    }

    /// The current worker's most recently used idle connection.
    pub(crate) fn pop(&self) -> Option<T> {
        let (worker, list) = self.list();
        let mut list = list.lock();
        let newest = list.iter().rposition(|entry| entry.worker == worker)?;
        list.remove(newest).map(|entry| entry.connection)
    }

    /// Parks `connection`, opened by the current worker.
    pub(crate) fn push(&self, connection: T) {
        let since = COARSE_NOW.load(Ordering::Relaxed);
        let (worker, list) = self.list();
        list.lock().push_back(Idle {
            connection,
            since,
            worker,
        });
    }

    /// Closes (drops) connections idle for longer than [`IDLE_SECS`] at `now`.
    pub(crate) fn evict(&self, now: u32) {
        for list in &self.lists {
            list.lock()
                .retain(|entry| now.saturating_sub(entry.since) < IDLE_SECS);
        }
    }
}
