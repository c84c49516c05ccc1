//! The counter's arithmetic, with explicit instants (no sleeps).

use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use stat_stream::{ConcurrencyCounter, CounterRegistry, Sample};
use tokio::time::Instant;

const SECOND: Duration = Duration::from_secs(1);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A counter whose current period starts at `t0`.
fn counter_from(t0: Instant) -> Arc<ConcurrencyCounter> {
    let counter = Arc::new(ConcurrencyCounter::new());
    counter.sample(t0);
    counter
}

fn assert_close(actual: f64, expected: f64) {
    assert!((actual - expected).abs() < 1e-9, "{actual} != {expected}");
}

#[test]
fn idle_period_is_all_zero() {
    let t0 = Instant::now();
    let counter = counter_from(t0);
    let sample = counter.sample(t0 + SECOND);
    assert_eq!(
        sample,
        Sample {
            concurrency: 0.0,
            requests: 0
        }
    );
}

#[test]
fn two_requests_overlapping_half_the_period_average_one() {
    let t0 = Instant::now();
    let counter = counter_from(t0);
    let a = counter.begin(t0 + ms(250));
    let b = counter.begin(t0 + ms(250));
    a.end_at(t0 + ms(750));
    b.end_at(t0 + ms(750));
    let sample = counter.sample(t0 + SECOND);
    assert_close(sample.concurrency, 1.0);
    assert_eq!(sample.requests, 2);
}

#[test]
fn a_request_spanning_periods_counts_in_each() {
    let t0 = Instant::now();
    let counter = counter_from(t0);
    let long = counter.begin(t0 + ms(500));
    let first = counter.sample(t0 + SECOND);
    assert_close(first.concurrency, 0.5);
    assert_eq!(first.requests, 1);
    // Still in flight for the whole second period: full weight, no new arrival.
    let second = counter.sample(t0 + 2 * SECOND);
    assert_close(second.concurrency, 1.0);
    assert_eq!(second.requests, 0);
    long.end_at(t0 + ms(2250));
    let third = counter.sample(t0 + 3 * SECOND);
    assert_close(third.concurrency, 0.25);
    assert_eq!(third.requests, 0);
    let fourth = counter.sample(t0 + 4 * SECOND);
    assert_close(fourth.concurrency, 0.0);
}

#[test]
fn the_average_divides_by_the_measured_period() {
    let t0 = Instant::now();
    let counter = counter_from(t0);
    counter.begin(t0).end_at(t0 + SECOND);
    // A late sample (two seconds): one request-second over two seconds.
    assert_close(counter.sample(t0 + 2 * SECOND).concurrency, 0.5);
}

#[test]
fn dropping_the_guard_ends_the_request_now() {
    let counter = Arc::new(ConcurrencyCounter::new());
    let start = Instant::now();
    counter.sample(start);
    drop(counter.begin(start));
    let end = Instant::now() + SECOND;
    // The request lasted between 0 and (end − start); nothing is in flight any more.
    let sample = counter.sample(end);
    assert!(sample.concurrency < 0.5, "{sample:?}");
    assert_eq!(counter.sample(end + SECOND).concurrency, 0.0);
}

#[test]
fn registry_returns_one_counter_per_revision_and_reports_busy_ones() {
    let registry = CounterRegistry::default();
    let t0 = Instant::now();
    let a = registry.counter("ns", "a");
    assert!(Arc::ptr_eq(&a, &registry.counter("ns", "a")));
    assert!(!Arc::ptr_eq(&a, &registry.counter("ns", "b")));
    assert!(!Arc::ptr_eq(&a, &registry.counter("other", "a")));
    registry.sample_all(t0);
    a.begin(t0).end_at(t0 + ms(500));
    let stats = registry.sample_all(t0 + SECOND);
    assert_eq!(stats.len(), 1, "{stats:?}");
    assert_eq!(
        (stats[0].namespace.as_str(), stats[0].revision.as_str()),
        ("ns", "a")
    );
    assert_close(stats[0].concurrency, 0.5);
    assert_eq!(stats[0].requests, 1);
    assert!(registry.sample_all(t0 + 2 * SECOND).is_empty());
}

#[test]
fn retain_drops_unrouted_counters_but_guards_keep_theirs() {
    let registry = CounterRegistry::default();
    let t0 = Instant::now();
    let gone = registry.counter("ns", "gone");
    let guard = gone.begin(t0);
    registry.retain(|_, revision| revision != "gone");
    assert!(!Arc::ptr_eq(&gone, &registry.counter("ns", "gone")));
    drop(gone);
    // The guard still ends on its own (now orphaned) counter without trouble.
    guard.end_at(t0 + SECOND);
}

/// One request: start and length in milliseconds from the first sample.
fn request() -> impl Strategy<Value = (u64, u64)> {
    (0u64..5_000, 0u64..3_000)
}

proptest! {
    /// Sampled in arbitrary periods, with begins and ends applied in time order, the
    /// total area reported equals the sum of each request's overlap with the periods.
    #[test]
    fn sampled_area_equals_the_sum_of_request_overlaps(
        requests in proptest::collection::vec(request(), 0..40),
        cuts in proptest::collection::vec(1u64..8_000, 1..10),
    ) {
        let t0 = Instant::now();
        let counter = counter_from(t0);
        let mut cuts = cuts;
        cuts.sort_unstable();
        cuts.dedup();

        // Events in time order; at equal times, ends and begins before samples.
        #[derive(Debug)]
        enum Event { Begin(usize), End(usize), Sample }
        let mut events: Vec<(u64, u8, Event)> = Vec::new();
        for (i, &(start, len)) in requests.iter().enumerate() {
            events.push((start, 0, Event::Begin(i)));
            events.push((start + len, 1, Event::End(i)));
        }
        for &cut in &cuts {
            events.push((cut, 2, Event::Sample));
        }
        events.sort_by_key(|(at, order, _)| (*at, *order));

        let mut guards: Vec<Option<stat_stream::InFlight>> = (0..requests.len()).map(|_| None).collect();
        let mut last = 0u64;
        let mut period = 0usize;
        for (at, _, event) in events {
            let instant = t0 + ms(at);
            match event {
                Event::Begin(i) => guards[i] = Some(counter.begin(instant)),
                Event::End(i) => guards[i].take().unwrap().end_at(instant),
                Event::Sample => {
                    let sample = counter.sample(instant);
                    let (from, to) = (last, at);
                    let expected_area: u64 = requests
                        .iter()
                        .map(|&(start, len)| (start + len).min(to).saturating_sub(start.max(from)))
                        .sum();
                    let expected_arrivals = requests
                        .iter()
                        .filter(|&&(start, _)| (period == 0 || start > from) && start <= to)
                        .count() as u64;
                    let area = sample.concurrency * (to - from) as f64;
                    prop_assert!((area - expected_area as f64).abs() < 1e-6, "period {from}..{to}: {area} != {expected_area}");
                    prop_assert_eq!(sample.requests, expected_arrivals);
                    last = at;
                    period += 1;
                }
            }
        }
    }
}
