use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// One replica's concurrency limit: at most `capacity` requests in flight, or no limit
/// when `capacity` is 0 (Knative's `containerConcurrency: 0`).
///
/// Lock-free: acquiring is a compare-and-swap on the in-flight count, so the request
/// path never blocks on a replica.
#[derive(Debug)]
pub struct Breaker {
    capacity: usize,
    in_flight: AtomicUsize,
}

/// A slot on a [`Breaker`], given back when dropped.
#[derive(Debug)]
pub struct BreakerPermit {
    breaker: Arc<Breaker>,
}

// === impl Breaker ===

impl Breaker {
    /// A breaker admitting `capacity` concurrent requests; 0 means unlimited.
    pub fn new(capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            capacity,
            in_flight: AtomicUsize::new(0),
        })
    }

    /// The limit, 0 meaning unlimited.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Requests currently holding a permit.
    pub fn in_flight(&self) -> usize {
        // SeqCst pairs with the throttler's wait-queue depth so that a release and an
        // enqueue racing each other cannot both miss (see `RevisionThrottler`).
        self.in_flight.load(Ordering::SeqCst)
    }

    /// Whether a permit would be granted right now.
    pub fn has_room(&self) -> bool {
        self.capacity == 0 || self.in_flight() < self.capacity
    }

    /// Takes a slot if one is free.
    pub fn try_acquire(self: &Arc<Self>) -> Option<BreakerPermit> {
        let admitted = self
            .in_flight
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (self.capacity == 0 || n < self.capacity).then_some(n + 1)
            });
        admitted.ok().map(|_| BreakerPermit {
            breaker: Arc::clone(self),
        })
    }
}

// === impl BreakerPermit ===

impl BreakerPermit {
    /// The breaker this slot belongs to.
    pub fn breaker(&self) -> &Arc<Breaker> {
        &self.breaker
    }
}

impl Drop for BreakerPermit {
    fn drop(&mut self) {
        self.breaker.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_up_to_capacity_and_frees_on_drop() {
        let b = Breaker::new(2);
        let p1 = b.try_acquire().unwrap();
        let _p2 = b.try_acquire().unwrap();
        assert!(b.try_acquire().is_none());
        assert_eq!(b.in_flight(), 2);
        drop(p1);
        assert_eq!(b.in_flight(), 1);
        assert!(b.try_acquire().is_some());
    }

    #[test]
    fn zero_capacity_is_unlimited() {
        let b = Breaker::new(0);
        let permits: Vec<_> = (0..1000).map(|_| b.try_acquire().unwrap()).collect();
        assert_eq!(b.in_flight(), 1000);
        drop(permits);
        assert_eq!(b.in_flight(), 0);
    }
}
