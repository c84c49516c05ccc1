//! Counting one revision's requests in flight, with a handful of relaxed atomics per
//! request and no lock, so the data plane's hot path stays cheap.
//!
//! The sampler wants the time-weighted average of the in-flight count over a period,
//! i.e. the area under the in-flight curve divided by the period's length. Keeping the
//! area itself would need a read-modify-write of "area so far + count × time since the
//! last change" on every change, which atomics cannot do in one step. Instead each
//! request adds its own contribution as two halves, in nanoseconds since a
//! process-wide epoch:
//!
//! - at its start `t_s` it adds `−t_s` to `area_offset` and 1 to `in_flight`;
//! - at its end `t_e` it adds `+t_e` and −1.
//!
//! A finished request has then added `t_e − t_s`, its whole duration; one still in
//! flight has added `−t_s`, and `T − t_s` is its share up to time `T`. So the total
//! in-flight time up to `T` is `area_offset + in_flight × T`, and a period's average is
//! the difference of two such readings divided by the period's length.
//!
//! The two atomics are read one after the other, not together: a request that starts
//! or ends between the two loads is seen half-counted, an error of (the time between
//! the loads) × (its ±1), i.e. nanoseconds in a one-second period. The offset grows
//! without bound, so everything is wrapping arithmetic: differences of readings stay
//! exact as long as one period's true area fits in an `i64` (292 request-years).

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;
// tokio's clock, as everywhere in the workspace: it is the std clock in production and
// follows `tokio::time::pause` in tests, for the guards' `Drop` as for the callers.
use tokio::time::Instant;

/// `in_flight` and the arrivals counter share one word, so starting a request is two
/// atomic adds rather than three: arrivals in the high 32 bits (only per-period
/// differences matter, so they may wrap), the in-flight count in the low 32 (never
/// negative, so ending a request never borrows from the arrivals).
const ARRIVAL: u64 = 1 << 32;
const IN_FLIGHT_MASK: u64 = u32::MAX as u64;

/// Counts one revision's requests (see the module docs for the arithmetic).
#[derive(Debug)]
pub struct ConcurrencyCounter {
    /// Σ of `−t_start` of every request begun and `+t_end` of every request ended.
    area_offset: AtomicI64,
    /// `arrivals << 32 | in_flight`.
    counts: AtomicU64,
    /// Where the previous sample left off; only the sampler touches it.
    last: Mutex<Reading>,
}

/// Figures for the period since the previous sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Time-weighted average number of requests in flight.
    pub concurrency: f64,
    /// Requests begun.
    pub requests: u64,
}

impl Sample {
    /// Nothing in flight and nothing arrived.
    pub fn is_zero(&self) -> bool {
        self.concurrency == 0.0 && self.requests == 0
    }
}

/// One request being counted; dropping it ends the request now.
#[derive(Debug)]
#[must_use = "the request counts only while the guard lives"]
pub struct InFlight {
    /// `None` once ended, so `end_at` and `Drop` do not both end it.
    counter: Option<Arc<ConcurrencyCounter>>,
}

#[derive(Debug, Clone, Copy)]
struct Reading {
    at: i64,
    area: i64,
    arrivals: u32,
}

impl Default for ConcurrencyCounter {
    fn default() -> Self {
        Self::new()
    }
}

impl ConcurrencyCounter {
    pub fn new() -> Self {
        Self {
            area_offset: AtomicI64::new(0),
            counts: AtomicU64::new(0),
            last: Mutex::new(Reading {
                at: nanos(Instant::now()),
                area: 0,
                arrivals: 0,
            }),
        }
    }

    /// Counts one request from `arrival` until the guard is dropped.
    pub fn begin(self: &Arc<Self>, arrival: Instant) -> InFlight {
        self.area_offset.fetch_sub(nanos(arrival), Relaxed);
        self.counts.fetch_add(ARRIVAL + 1, Relaxed);
        InFlight {
            counter: Some(Arc::clone(self)),
        }
    }

    /// The period since the previous sample (or since creation): time-weighted
    /// average in-flight count and arrivals. Called by one sampler at a time.
    pub fn sample(&self, now: Instant) -> Sample {
        let now = self.read(now);
        let mut last = self.last.lock();
        let period = now.at.wrapping_sub(last.at);
        let area = now.area.wrapping_sub(last.area);
        let requests = u64::from(now.arrivals.wrapping_sub(last.arrivals));
        *last = now;
        let concurrency = if period > 0 {
            area as f64 / period as f64
        } else {
            0.0
        };
        Sample {
            concurrency,
            requests,
        }
    }

    fn read(&self, at: Instant) -> Reading {
        let at = nanos(at);
        let counts = self.counts.load(Relaxed);
        let offset = self.area_offset.load(Relaxed);
        let in_flight = (counts & IN_FLIGHT_MASK) as i64;
        Reading {
            at,
            area: offset.wrapping_add(in_flight.wrapping_mul(at)),
            arrivals: (counts >> 32) as u32,
        }
    }

    fn end(&self, at: Instant) {
        self.area_offset.fetch_add(nanos(at), Relaxed);
        self.counts.fetch_sub(1, Relaxed);
    }
}

impl InFlight {
    /// Ends the request at `at` rather than now (for callers that already read the
    /// clock, and for tests).
    pub fn end_at(mut self, at: Instant) {
        if let Some(counter) = self.counter.take() {
            counter.end(at);
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(counter) = self.counter.take() {
            counter.end(Instant::now());
        }
    }
}

/// Signed nanoseconds from the process-wide epoch; an `Instant` taken before the epoch
/// was fixed (a test's start time, say) comes out negative rather than clamped.
fn nanos(at: Instant) -> i64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let epoch = *EPOCH.get_or_init(Instant::now);
    match at.checked_duration_since(epoch) {
        Some(after) => after.as_nanos() as i64,
        None => -((epoch - at).as_nanos() as i64),
    }
}
