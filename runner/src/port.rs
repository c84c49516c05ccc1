//! Loopback ports for replicas.
//!
//! The kernel picks a free port when we bind `127.0.0.1:0`; we release it at
//! once so the replica can bind it. Between release and the replica's bind
//! the kernel could hand the same port to another `:0` bind, including our
//! next allocation, so the allocator remembers the ports of live replicas and
//! asks again when the kernel repeats one.

use std::collections::HashSet;
use std::io;
use std::net::{Ipv4Addr, TcpListener};
use std::sync::Arc;

use parking_lot::Mutex;

/// Hands out loopback ports no live replica holds.
#[derive(Clone, Debug, Default)]
pub(crate) struct PortAllocator {
    leased: Arc<Mutex<HashSet<u16>>>,
}

/// A port reserved for one replica; returned to the pool on drop.
#[derive(Debug)]
pub(crate) struct PortLease {
    port: u16,
    leased: Arc<Mutex<HashSet<u16>>>,
}

// === impl PortAllocator ===

impl PortAllocator {
    /// Attempts before giving up when the kernel keeps returning leased ports.
    const ATTEMPTS: usize = 64;

    pub(crate) fn allocate(&self) -> io::Result<PortLease> {
        for _ in 0..Self::ATTEMPTS {
            let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
                .local_addr()?
                .port();
            if self.leased.lock().insert(port) {
                return Ok(PortLease {
                    port,
                    leased: self.leased.clone(),
                });
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            "the kernel kept returning ports already leased to replicas",
        ))
    }
}

// === impl PortLease ===

impl PortLease {
    pub(crate) fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for PortLease {
    fn drop(&mut self) {
        self.leased.lock().remove(&self.port);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_leases_are_distinct_and_released_on_drop() {
        let ports = PortAllocator::default();
        let leases: Vec<_> = (0..50).map(|_| ports.allocate().unwrap()).collect();
        let distinct: HashSet<u16> = leases.iter().map(PortLease::port).collect();
        assert_eq!(distinct.len(), leases.len());
        assert!(leases.iter().all(|l| l.port() != 0));
        drop(leases);
        assert!(ports.leased.lock().is_empty());
    }
}
