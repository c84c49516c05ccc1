use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::oneshot;

use crate::error::ThrottleError;
use crate::throttler::Permit;

/// What a waiter is eventually handed: a permit, or the reason it will not get one.
pub(crate) type Outcome = Result<Permit, ThrottleError>;

/// The bounded FIFO of requests waiting for a replica. Waiters are served by handing a
/// permit straight into their channel, so exactly one waiter wakes per freed slot and a
/// newcomer cannot overtake it.
#[derive(Debug)]
pub(crate) struct WaitQueue {
    capacity: usize,
    next_id: u64,
    /// Ascending by id, since ids are handed out in push order.
    waiters: VecDeque<Waiter>,
    /// `waiters.len()`, readable without the lock: the release path skips the lock
    /// when nobody waits, and metrics read it.
    depth: Arc<AtomicUsize>,
}

#[derive(Debug)]
pub(crate) struct Waiter {
    id: u64,
    tx: oneshot::Sender<Outcome>,
}

// === impl WaitQueue ===

impl WaitQueue {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            next_id: 0,
            waiters: VecDeque::new(),
            depth: Arc::new(AtomicUsize::new(0)),
        }
    }

    pub(crate) fn depth(&self) -> Arc<AtomicUsize> {
        Arc::clone(&self.depth)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.waiters.is_empty()
    }

    /// Joins the back of the queue, or refuses at capacity without allocating.
    pub(crate) fn push(&mut self) -> Result<(u64, oneshot::Receiver<Outcome>), ThrottleError> {
        if self.waiters.len() >= self.capacity {
            return Err(ThrottleError::QueueFull {
                capacity: self.capacity,
            });
        }
        let id = self.next_id;
        self.next_id += 1;
        let (tx, rx) = oneshot::channel();
        self.waiters.push_back(Waiter { id, tx });
        self.publish();
        Ok((id, rx))
    }

    pub(crate) fn pop_front(&mut self) -> Option<Waiter> {
        let w = self.waiters.pop_front();
        self.publish();
        w
    }

    /// Removes a waiter that gave up (deadline or cancellation); false if it was
    /// already served.
    pub(crate) fn remove(&mut self, id: u64) -> bool {
        let Ok(at) = self.waiters.binary_search_by_key(&id, |w| w.id) else {
            return false;
        };
        self.waiters.remove(at);
        self.publish();
        true
    }

    pub(crate) fn drain(&mut self) -> Vec<Waiter> {
        let all = self.waiters.drain(..).collect();
        self.publish();
        all
    }

    fn publish(&self) {
        // SeqCst: pairs with the breakers' in-flight counter; see `RevisionThrottler`.
        self.depth.store(self.waiters.len(), Ordering::SeqCst);
    }
}

// === impl Waiter ===

impl Waiter {
    /// Hands over the outcome; if the waiter already left, gives it back.
    pub(crate) fn send(self, outcome: Outcome) -> Result<(), Outcome> {
        self.tx.send(outcome)
    }
}
