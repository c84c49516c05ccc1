//! How many reconciles each kube-runtime Controller runs at once.
//!
//! Unbounded (kube-runtime's default), a burst ran one reconcile per object at once, and
//! kube's HTTP/1 client opens a connection per concurrent request and keeps the idle
//! ones (hyper's pool: 90 s, no cap): ~700 connections to the API at 200 Services and
//! ~3,000 at 1,000, ~36 KiB of API memory each (issue 9). More reconciles in flight
//! buy no throughput either: every one waits on the same API, whose writes go through
//! one group-commit writer. So each Controller runs Knative's default of two workers
//! (`controller.DefaultThreadsPerController`), and the controller's connections are its
//! watches plus a handful (tests/controller_connections.rs).

use kube::runtime::controller::Config;

/// Reconciles each Controller runs at once (Knative's threads per controller).
pub const WORKERS: u16 = 2;

/// The configuration every Controller of this crate runs with.
pub fn config() -> Config {
    Config::default().concurrency(WORKERS)
}
