//! The gateway's live configuration: the current [`RouteTable`] behind an `ArcSwap`, so
//! the hot path reads it with no lock and a push replaces it atomically.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use arc_swap::{ArcSwap, Guard};
use parking_lot::Mutex;
use stat_stream::{ConcurrencyCounter, CounterRegistry};
use tokio::sync::watch;

use crate::metrics::{GatewayMetrics, MetricsError, RevisionMetrics};
use crate::pool::Http1Endpoint;
use crate::route_table::RouteTable;

/// Shared between the proxy listeners, the admin listener and whoever pushes
/// configuration (the xDS client). Cheap to read from any number of requests at once.
#[derive(Debug)]
pub struct GatewayConfig {
    current: ArcSwap<Snapshot>,
    metrics: GatewayMetrics,
    /// In-flight counters for the autoscaler, by revision; each snapshot holds its
    /// revisions' counters, so the hot path never looks one up.
    stat_counters: Arc<CounterRegistry>,
    /// Serialises writers only (metric series bookkeeping); readers never touch it.
    store_lock: Mutex<()>,
    /// Plain HTTP/1.1 takes the byte-level fast path (`crate::h1`); off, hyper serves
    /// every connection.
    http1_fast_path: bool,
    /// How long a client may take to send a whole request head (slowloris guard).
    header_read_timeout: Duration,
    /// Whether a table is in force: the one [`GatewayConfig::new`] was given, or one
    /// from [`GatewayConfig::store`]. False for the default, empty configuration, which
    /// awaits the control plane's first table.
    has_table: watch::Sender<bool>,
}

/// How long a client may take to send a request head, from when the gateway starts
/// waiting for it (which includes a keep-alive connection's idle time) — hyper's default.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// A table plus the per-revision runtime state that goes with it, aligned by revision
/// index.
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub(crate) table: Arc<RouteTable>,
    pub(crate) revisions: Box<[RevisionRuntime]>,
}

#[derive(Debug)]
pub(crate) struct RevisionRuntime {
    pub(crate) metrics: Arc<RevisionMetrics>,
    /// Keep-alive connections per endpoint, aligned with the revision's endpoints and
    /// carried over from the previous snapshot so a push keeps warm connections.
    pub(crate) upstreams: Arc<[Arc<Http1Endpoint>]>,
    /// Requests in flight, for the autoscaler; the same counter in every snapshot (the
    /// registry hands out one per revision), so a push does not reset the figures.
    pub(crate) stat_counter: Arc<ConcurrencyCounter>,
    next_endpoint: AtomicUsize,
}

// === impl GatewayConfig ===

impl GatewayConfig {
    /// A configuration serving `table`.
    pub fn new(table: RouteTable) -> Self {
        let metrics = GatewayMetrics::new();
        let stat_counters = Arc::new(CounterRegistry::default());
        let snapshot = Snapshot::new(Arc::new(table), &metrics, &stat_counters, None);
        Self {
            current: ArcSwap::from_pointee(snapshot),
            metrics,
            stat_counters,
            store_lock: Mutex::new(()),
            http1_fast_path: true,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            has_table: watch::channel(true).0,
        }
    }

    /// An empty configuration awaiting its first table from the control plane: the
    /// listeners do not accept connections until [`GatewayConfig::store`] gives it one
    /// (see `serve`).
    pub fn awaiting_first_table() -> Self {
        let config = Self::new(RouteTable::empty());
        config.has_table.send_replace(false);
        config
    }

    /// True from the first table on (see [`GatewayConfig::awaiting_first_table`]).
    pub fn has_table(&self) -> watch::Receiver<bool> {
        self.has_table.subscribe()
    }

    /// Gives clients `timeout` to send each request head (a connection that has sent
    /// none of its next head for that long, keep-alive or not, is closed). Zero is
    /// taken as one millisecond: the guard cannot be turned off.
    #[must_use]
    pub fn with_header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    pub(crate) fn header_read_timeout(&self) -> Duration {
        self.header_read_timeout
    }

    /// Serves every connection through hyper, the reference path, instead of taking
    /// the HTTP/1.1 fast path for plain requests. Both apply the same header policy;
    /// this exists to compare them and to rule the fast path out when debugging.
    #[must_use]
    pub fn without_http1_fast_path(mut self) -> Self {
        self.http1_fast_path = false;
        self
    }

    pub(crate) fn http1_fast_path(&self) -> bool {
        self.http1_fast_path
    }

    /// Publishes `table`; the next request routes by it. In-flight requests finish on
    /// the table they started with.
    pub fn store(&self, table: RouteTable) {
        let _writer = self.store_lock.lock();
        let table = Arc::new(table);
        let next = Snapshot::new(
            Arc::clone(&table),
            &self.metrics,
            &self.stat_counters,
            Some(&self.current.load()),
        );
        let kept: HashSet<(&str, &str)> = table
            .revisions()
            .map(|r| (r.namespace.as_str(), r.name.as_str()))
            .collect();
        let previous = self.current.swap(Arc::new(next));
        for revision in previous.table.revisions() {
            if !kept.contains(&(revision.namespace.as_str(), revision.name.as_str())) {
                self.metrics.forget(&revision.namespace, &revision.name);
            }
        }
        self.stat_counters
            .retain(|namespace, name| kept.contains(&(namespace, name)));
        self.has_table.send_replace(true);
    }

    /// The table currently in force.
    pub fn load(&self) -> Arc<RouteTable> {
        Arc::clone(&self.current.load().table)
    }

    /// The private registry holding the gateway's metrics (to add collectors or to
    /// expose it elsewhere).
    pub fn registry(&self) -> &prometheus::Registry {
        self.metrics.registry()
    }

    /// The gateway's metrics in Prometheus text format, as `/metrics` serves them.
    pub fn encode_metrics(&self) -> Result<Vec<u8>, MetricsError> {
        self.metrics.encode()
    }

    /// The per-revision in-flight counters the gateway keeps for the autoscaler
    /// ([`report_stats`](crate::report_stats) samples and sends them).
    pub fn stat_counters(&self) -> Arc<CounterRegistry> {
        Arc::clone(&self.stat_counters)
    }

    pub(crate) fn snapshot(&self) -> Guard<Arc<Snapshot>> {
        self.current.load()
    }

    pub(crate) fn metrics(&self) -> &GatewayMetrics {
        &self.metrics
    }
}

impl Default for GatewayConfig {
    /// [`GatewayConfig::awaiting_first_table`]: what a gateway fed by xDS starts with.
    fn default() -> Self {
        Self::awaiting_first_table()
    }
}

// === impl Snapshot ===

impl Snapshot {
    fn new(
        table: Arc<RouteTable>,
        metrics: &GatewayMetrics,
        stat_counters: &CounterRegistry,
        previous: Option<&Self>,
    ) -> Self {
        let warm: HashMap<SocketAddr, &Arc<Http1Endpoint>> = previous
            .into_iter()
            .flat_map(|p| p.revisions.iter())
            .flat_map(|r| r.upstreams.iter())
            .map(|u| (u.addr(), u))
            .collect();
        let mut fresh: HashMap<SocketAddr, Arc<Http1Endpoint>> = HashMap::new();
        let mut upstream = |addr: SocketAddr| match warm.get(&addr) {
            Some(&existing) => Arc::clone(existing),
            None => Arc::clone(
                fresh
                    .entry(addr)
                    .or_insert_with(|| Arc::new(Http1Endpoint::new(addr))),
            ),
        };
        let revisions = table
            .revisions()
            .map(|r| RevisionRuntime {
                metrics: Arc::new(metrics.for_revision(&r.namespace, &r.name)),
                upstreams: r.endpoints.iter().map(|&addr| upstream(addr)).collect(),
                stat_counter: stat_counters.counter(&r.namespace, &r.name),
                next_endpoint: AtomicUsize::new(fastrand::usize(..)),
            })
            .collect();
        Self { table, revisions }
    }

    /// Closes upstream connections idle for too long; `now` from `pool::sweep_clock`.
    pub(crate) fn evict_idle(&self, now: u32) {
        for upstream in self.revisions.iter().flat_map(|r| r.upstreams.iter()) {
            upstream.evict_idle(now);
        }
    }
}

// === impl RevisionRuntime ===

impl RevisionRuntime {
    /// Round-robin over `count` endpoints. Starts at a random offset so that many
    /// gateways (or many table pushes) do not all hit the first endpoint together.
    pub(crate) fn next_endpoint(&self, count: usize) -> usize {
        self.next_endpoint.fetch_add(1, Ordering::Relaxed) % count
    }
}
