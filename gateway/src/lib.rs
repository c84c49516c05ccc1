//! The fnmesh gateway: the ingress data plane.
//!
//! A request's path: the `Host` header (or HTTP/2 `:authority`) picks a route from the
//! current [`RouteTable`]; the route's weighted split (or a tag host pinned to one
//! revision, or the optional `Knative-Serving-Tag` header) picks a revision; round-robin
//! picks one of its ready endpoints; the request goes there over a keep-alive pool,
//! HTTP/1.1 or h2c as the revision's [`Protocol`] says. On the way the gateway adds
//! `Forwarded` / `X-Forwarded-*`, drops hop-by-hop and platform-internal headers, refuses
//! ambiguous framing, enforces the revision's timeouts (overall, response start and
//! idle), passes WebSocket upgrades through, and counts every request per revision for
//! Prometheus and, as requests in flight, for the autoscaler ([`report_stats`]).
//!
//! Plain HTTP/1.1 to HTTP/1.1 functions — nearly all traffic — takes a fast path that
//! parses and rewrites heads as bytes and relays bodies without hyper (`h1`); h2c,
//! upgrades, chunked uploads and other rarer cases go through hyper (`proxy`). Both
//! behave the same, and the same tests drive both.
//!
//! It is configured only by push: whoever owns the routing (the xDS client) builds a
//! [`RouteTable`] and publishes it with [`GatewayConfig::store`]; the hot path reads the
//! current table lock-free. Run it with [`serve`] (or [`serve_on_threads`], a worker thread
//! per core as `fnmesh up` does) and [`serve_metrics`]:
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use std::sync::Arc;
//! use gateway::{GatewayConfig, KnativeRoute, Protocol, Revision, RouteTable, TrafficTarget};
//!
//! let table = RouteTable::from_knative(
//!     "example.com",
//!     vec![KnativeRoute {
//!         name: "hello".into(),
//!         namespace: "default".into(),
//!         traffic: vec![TrafficTarget { revision: "hello-00001".into(), percent: 100, tag: None }],
//!     }],
//!     vec![Revision::new("default", "hello-00001", Protocol::Http1, vec!["127.0.0.1:9000".parse().unwrap()])],
//! )
//! .expect("valid table");
//! let config = Arc::new(GatewayConfig::new(table));
//! let proxy = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
//! let admin = tokio::net::TcpListener::bind("0.0.0.0:9090").await?;
//! let shutdown = async { let _ = tokio::signal::ctrl_c().await; };
//! tokio::join!(
//!     gateway::serve(proxy, Arc::clone(&config), shutdown),
//!     gateway::serve_metrics(admin, config, std::future::pending()),
//! );
//! # Ok(()) }
//! ```

mod admin;
mod body;
mod config;
mod drain;
mod failover;
mod forwarded;
mod framing;
mod h1;
mod head_policy;
mod host;
mod internal_headers;
mod metrics;
mod pool;
mod proxy;
mod proxy_error;
mod request_limits;
mod revision;
mod route_table;
mod server;
mod upgrade;
mod workers;
pub mod xds_client;

pub use admin::{serve_admin, serve_metrics};
pub use config::{DEFAULT_HEADER_READ_TIMEOUT, GatewayConfig};
pub use metrics::MetricsError;
pub use revision::{DEFAULT_REVISION_TIMEOUT, Protocol, Revision, RevisionKey};
pub use route_table::{
    KnativeRoute, Route, RouteTable, RouteTableError, TagTarget, TrafficTarget, WeightedTarget,
};
pub use server::serve;

/// The fast path's head parser and rewriter as a fuzzing target (`fuzz/`), with the
/// properties it must keep; not an API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub use h1::fuzz as head_fuzz;
pub use workers::serve_on_threads;

/// The metrics stream to the autoscaler, for binaries that run a gateway.
pub use stat_stream;

use std::net::SocketAddr;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How often the gateway reports its in-flight counts (Knative's 1 s reporting period).
const STAT_PERIOD: Duration = Duration::from_secs(1);

/// Reports `config`'s per-revision requests in flight to every autoscaler at the
/// addresses `autoscaler` holds (none yet: reports queue, bounded, until one is known), every
/// second, as `reporter_id` (e.g. `gateway-<uuid>`). Spawns onto the current tokio
/// runtime; the handle is the periodic task (abort it to stop reporting).
pub fn report_stats(
    config: &GatewayConfig,
    autoscaler: watch::Receiver<Vec<SocketAddr>>,
    reporter_id: String,
) -> JoinHandle<()> {
    let reporter =
        stat_stream::Reporter::spawn(autoscaler, reporter_id, stat_stream::StatSource::Ingress);
    stat_stream::spawn_periodic(config.stat_counters(), reporter, STAT_PERIOD)
}
