use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

use crate::breaker::BreakerPermit;
use crate::error::ThrottleError;
use crate::policy::LoadBalancingPolicy;
use crate::replica_set::ReplicaSet;
use crate::wait_queue::WaitQueue;

/// How long a replica that refused a connection is left out of the picks: long
/// enough for its endpoints to be withdrawn if it died, short enough not to matter if
/// it only blipped.
pub(crate) const EJECTION: Duration = Duration::from_millis(250);

/// Knative's per-revision queue depth.
pub const DEFAULT_QUEUE_CAPACITY: usize = 10_000;

/// How one revision is throttled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlerConfig {
    /// Requests one replica may serve at once; 0 means unlimited.
    pub container_concurrency: usize,
    /// Requests that may wait for capacity before newcomers are refused.
    pub queue_capacity: usize,
}

/// Admits a revision's requests onto its replicas: at once when a replica has room,
/// otherwise after waiting in a bounded FIFO queue.
///
/// No lost wakeups: a releaser decrements a breaker and then reads the queue depth; an
/// arriving waiter publishes the depth and then retries the breakers. Both are SeqCst,
/// so at least one of them sees the other and the freed slot reaches the waiter.
#[derive(Debug)]
pub struct RevisionThrottler {
    shared: Arc<Shared>,
}

/// Leave to send one request to `addr`; the replica's slot frees when this drops, and
/// the next waiter (if any) is handed it.
#[derive(Debug)]
pub struct Permit {
    addr: SocketAddr,
    slot: Option<BreakerPermit>,
    // Weak: an in-flight request must not keep a discarded revision's queue alive.
    throttler: Weak<Shared>,
}

#[derive(Debug)]
struct Shared {
    config: ThrottlerConfig,
    policy: LoadBalancingPolicy,
    depth: Arc<AtomicUsize>,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    replicas: ReplicaSet,
    queue: WaitQueue,
    round_robin_cursor: usize,
    rng: fastrand::Rng,
}

// === impl ThrottlerConfig ===

impl Default for ThrottlerConfig {
    fn default() -> Self {
        Self {
            container_concurrency: 0,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
        }
    }
}

// === impl RevisionThrottler ===

impl RevisionThrottler {
    /// A throttler with no replicas yet: every request waits until endpoints arrive.
    pub fn new(config: ThrottlerConfig) -> Self {
        let queue = WaitQueue::new(config.queue_capacity);
        let shared = Shared {
            config,
            policy: LoadBalancingPolicy::for_container_concurrency(config.container_concurrency),
            depth: queue.depth(),
            state: Mutex::new(State {
                replicas: ReplicaSet::new(config.container_concurrency),
                queue,
                round_robin_cursor: 0,
                rng: fastrand::Rng::new(),
            }),
        };
        Self {
            shared: Arc::new(shared),
        }
    }

    pub fn config(&self) -> ThrottlerConfig {
        self.shared.config
    }

    pub fn policy(&self) -> LoadBalancingPolicy {
        self.shared.policy
    }

    /// Requests waiting for capacity (for metrics).
    pub fn queue_depth(&self) -> usize {
        self.shared.depth.load(Ordering::Relaxed)
    }

    /// The current replicas, by address, with their in-flight counts.
    pub fn endpoints(&self) -> Vec<(SocketAddr, usize)> {
        let state = self.shared.state.lock();
        state
            .replicas
            .replicas()
            .iter()
            .map(|r| (r.addr, r.breaker.in_flight()))
            .collect()
    }

    /// Replaces the ready replicas. Replicas that stay keep their in-flight counts;
    /// new capacity goes to waiters first.
    pub fn update_endpoints(&self, addrs: Vec<SocketAddr>) {
        let spare = {
            let mut state = self.shared.state.lock();
            state.replicas.update(addrs);
            state.serve_waiters(&self.shared)
        };
        drop(spare);
    }

    /// Fails every current waiter with `reason` (e.g. the function failed to start).
    /// Later requests wait as usual.
    pub fn fail_waiting(&self, reason: String) {
        let waiters = self.shared.state.lock().queue.drain();
        for w in waiters {
            // A waiter that already left does not need telling.
            let _ = w.send(Err(ThrottleError::Failed(reason.clone())));
        }
    }

    /// A replica slot, at once if one has room, else after waiting in FIFO order until
    /// one frees or endpoints arrive. Fails fast with `QueueFull`, or with `Timeout` at
    /// `deadline`. Dropping the future leaves the queue.
    pub async fn acquire(&self, deadline: Instant) -> Result<Permit, ThrottleError> {
        let started = Instant::now();
        let (id, mut rx, spare) = {
            let mut state = self.shared.state.lock();
            // Only when nobody waits: otherwise a newcomer would overtake the queue.
            if state.queue.is_empty()
                && let Some(permit) = state.pick(&self.shared)
            {
                return Ok(permit);
            }
            let (id, rx) = state.queue.push()?;
            // A slot may have freed after our pick but before the depth was published.
            let spare = state.serve_waiters(&self.shared);
            (id, rx, spare)
        };
        drop(spare);
        // Declared after `rx`, so it leaves the queue before a permit sent into `rx`
        // is dropped (that drop takes the lock to pass the slot on).
        let _leave = LeaveQueue {
            shared: &self.shared,
            id,
        };
        match tokio::time::timeout_at(deadline, &mut rx).await {
            Ok(Ok(outcome)) => outcome,
            // Senders live in the queue, which lives as long as `self`.
            Ok(Err(_)) => Err(ThrottleError::Failed("revision throttler closed".into())),
            Err(_) => Err(ThrottleError::Timeout {
                waited: deadline.saturating_duration_since(started),
            }),
        }
    }
}

/// Takes a waiter out of the queue when its `acquire` ends for any reason.
struct LeaveQueue<'a> {
    shared: &'a Arc<Shared>,
    id: u64,
}

impl Drop for LeaveQueue<'_> {
    fn drop(&mut self) {
        self.shared.state.lock().queue.remove(self.id);
    }
}

// === impl State ===

impl State {
    fn pick(&mut self, shared: &Arc<Shared>) -> Option<Permit> {
        let pick = shared.policy.pick(
            self.replicas.replicas(),
            &mut self.round_robin_cursor,
            &mut self.rng,
        )?;
        Some(Permit {
            addr: self.replicas.replicas()[pick.index].addr,
            slot: Some(pick.permit),
            throttler: Arc::downgrade(shared),
        })
    }

    /// Hands free slots to waiters, front first. Returns a permit nobody took (its
    /// waiter left meanwhile); the caller drops it after unlocking, since dropping a
    /// permit takes the lock.
    #[must_use]
    fn serve_waiters(&mut self, shared: &Arc<Shared>) -> Option<Permit> {
        let mut spare = None;
        while !self.queue.is_empty() {
            let Some(permit) = spare.take().or_else(|| self.pick(shared)) else {
                break;
            };
            let waiter = self.queue.pop_front().expect("queue is not empty");
            if let Err(Ok(unsent)) = waiter.send(Ok(permit)) {
                spare = Some(unsent);
            }
        }
        spare
    }
}

// === impl Permit ===

impl Permit {
    /// The replica to forward the request to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The replica refused the connection: leave it out of the picks for
    /// [`EJECTION`] (or until an endpoint update lists it again), and give the slot up.
    /// Requests then wait for another replica's slot instead of trying the same one.
    pub fn eject(self) {
        let Some(shared) = self.throttler.upgrade() else {
            return;
        };
        shared.state.lock().replicas.eject(self.addr);
        drop(self);
        let weak = Arc::downgrade(&shared);
        tokio::spawn(async move {
            tokio::time::sleep(EJECTION).await;
            let Some(shared) = weak.upgrade() else {
                return;
            };
            let spare = {
                let mut state = shared.state.lock();
                state.replicas.restore();
                state.serve_waiters(&shared)
            };
            drop(spare);
        });
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        // Free the slot before looking for a waiter, so the waiter can take it.
        drop(self.slot.take());
        let Some(shared) = self.throttler.upgrade() else {
            return;
        };
        if shared.depth.load(Ordering::SeqCst) == 0 {
            return;
        }
        let spare = shared.state.lock().serve_waiters(&shared);
        drop(spare);
    }
}
