use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Weak};

use crate::breaker::Breaker;

/// A ready replica of the revision and its concurrency limit.
#[derive(Debug, Clone)]
pub(crate) struct Replica {
    pub(crate) addr: SocketAddr,
    pub(crate) breaker: Arc<Breaker>,
}

/// The revision's current replicas, sorted by address so that "first available" is a
/// stable order across endpoint updates.
#[derive(Debug)]
pub(crate) struct ReplicaSet {
    capacity: usize,
    replicas: Vec<Replica>,
    /// Breakers of replicas dropped from the endpoints while requests were still in
    /// flight on them. If such an address comes back (a readiness blip), it gets its old
    /// breaker so those requests still count against its limit. Weak, so a breaker
    /// whose last permit is gone is forgotten.
    retired: HashMap<SocketAddr, Weak<Breaker>>,
    /// The addresses the last endpoint update listed: an ejected replica is restored
    /// from them.
    listed: Vec<SocketAddr>,
}

// === impl ReplicaSet ===

impl ReplicaSet {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            replicas: Vec::new(),
            retired: HashMap::new(),
            listed: Vec::new(),
        }
    }

    pub(crate) fn replicas(&self) -> &[Replica] {
        &self.replicas
    }

    /// Replaces the set, keeping the breaker (and so the in-flight count) of every
    /// address that stays or returns.
    pub(crate) fn update(&mut self, mut addrs: Vec<SocketAddr>) {
        addrs.sort_unstable();
        addrs.dedup();
        self.listed.clone_from(&addrs);
        self.set(addrs);
    }

    /// Takes `addr` out of the set until [`ReplicaSet::restore`] or the next update
    /// lists it again: it refused a connection (a replica that just died and is still
    /// listed until its endpoints are withdrawn).
    pub(crate) fn eject(&mut self, addr: SocketAddr) {
        let kept = self
            .replicas
            .iter()
            .map(|r| r.addr)
            .filter(|a| *a != addr)
            .collect();
        self.set(kept);
    }

    /// Puts back every listed replica that was ejected.
    pub(crate) fn restore(&mut self) {
        self.set(self.listed.clone());
    }

    fn set(&mut self, addrs: Vec<SocketAddr>) {
        let mut current: HashMap<SocketAddr, Arc<Breaker>> = self
            .replicas
            .drain(..)
            .map(|r| (r.addr, r.breaker))
            .collect();
        self.replicas = addrs
            .into_iter()
            .map(|addr| {
                let breaker = current
                    .remove(&addr)
                    .or_else(|| self.retired.remove(&addr).and_then(|w| w.upgrade()))
                    .unwrap_or_else(|| Breaker::new(self.capacity));
                Replica { addr, breaker }
            })
            .collect();
        for (addr, breaker) in current {
            if breaker.in_flight() > 0 {
                self.retired.insert(addr, Arc::downgrade(&breaker));
            }
        }
        self.retired.retain(|_, w| w.strong_count() > 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([10, 0, 0, 1], port))
    }

    #[test]
    fn staying_replicas_keep_their_in_flight_count() {
        let mut set = ReplicaSet::new(2);
        set.update(vec![addr(2), addr(1)]);
        let held = set.replicas()[0].breaker.try_acquire().unwrap();
        set.update(vec![addr(3), addr(1)]);
        let addrs: Vec<_> = set.replicas().iter().map(|r| r.addr).collect();
        assert_eq!(addrs, [addr(1), addr(3)]);
        assert_eq!(set.replicas()[0].breaker.in_flight(), 1);
        assert_eq!(set.replicas()[1].breaker.in_flight(), 0);
        drop(held);
    }

    #[test]
    fn a_returning_replica_gets_its_busy_breaker_back() {
        let mut set = ReplicaSet::new(1);
        set.update(vec![addr(1)]);
        let held = set.replicas()[0].breaker.try_acquire().unwrap();
        set.update(vec![]);
        set.update(vec![addr(1)]);
        assert!(!set.replicas()[0].breaker.has_room());
        drop(held);
        assert!(set.replicas()[0].breaker.has_room());
    }

    #[test]
    fn an_ejected_replica_is_out_until_restored_and_only_if_still_listed() {
        let mut set = ReplicaSet::new(1);
        set.update(vec![addr(1), addr(2)]);
        set.eject(addr(1));
        let addrs = |set: &ReplicaSet| set.replicas().iter().map(|r| r.addr).collect::<Vec<_>>();
        assert_eq!(addrs(&set), [addr(2)]);
        set.restore();
        assert_eq!(addrs(&set), [addr(1), addr(2)]);
        set.eject(addr(1));
        set.update(vec![addr(2), addr(3)]);
        set.restore();
        assert_eq!(addrs(&set), [addr(2), addr(3)], "withdrawn meanwhile");
    }

    #[test]
    fn an_idle_removed_replica_is_forgotten() {
        let mut set = ReplicaSet::new(1);
        set.update(vec![addr(1)]);
        set.update(vec![]);
        assert!(set.retired.is_empty());
    }
}
