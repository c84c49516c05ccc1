//! One-second buckets of a revision-wide metric and their linear window
//! average: Knative's `TimedFloat64Buckets` with a 1 s granularity
//! (`pkg/autoscaler/aggregation/bucketing.go`).
//!
//! The average has three regimes, all Knative's:
//! - fresh data (the newest bucket is `now` or later): the mean over the
//!   buckets since the first write, or over the whole window once it is full;
//!   interior seconds with no data count as 0;
//! - stale data (newest bucket `d` seconds before `now`, `0 < d < window`):
//!   the trailing `d` seconds are *not* counted as zeros; the mean is over the
//!   window minus those seconds (or since the first write, if shorter);
//! - no data for a whole window or more: 0.
//!
//! A gap of a whole window or more between two writes starts over: the
//! "since the first write" partial-window mean applies again.

/// Knative rounds averages to 6 decimals, so `70.0000000001 / 70` does not
/// become two pods from float noise.
const AVERAGE_DECIMALS: i32 = 6;

/// The longest window Knative allows (`WindowMax`, 1 h); a bound on memory.
pub(crate) const MAX_WINDOW_SECS: u64 = 3600;

#[derive(Debug, Clone)]
pub(crate) struct WindowBuckets {
    /// `slots[s % len]` holds the sum recorded for second `s`, for every `s`
    /// in `(last_write - len, last_write]`; older slots were zeroed on the way.
    slots: Box<[f64]>,
    first_write: u64,
    last_write: Option<u64>,
}

// === impl WindowBuckets ===

impl WindowBuckets {
    /// A ring of `window_secs` one-second buckets (clamped to `1..=3600`).
    pub(crate) fn new(window_secs: u64) -> Self {
        let len = window_secs.clamp(1, MAX_WINDOW_SECS);
        Self {
            slots: vec![0.0; usize::try_from(len).unwrap_or(1)].into_boxed_slice(),
            first_write: 0,
            last_write: None,
        }
    }

    fn len(&self) -> u64 {
        self.slots.len() as u64
    }

    fn slot(&mut self, second: u64) -> &mut f64 {
        let len = self.len();
        // The remainder is < len <= 3600, so it fits any usize.
        &mut self.slots[usize::try_from(second % len).unwrap_or(0)]
    }

    /// Adds `value` to the bucket of `second`. Several values for one second
    /// add up (Knative sums the activator's and the scraper's reports).
    pub(crate) fn record(&mut self, second: u64, value: f64) {
        let len = self.len();
        match self.last_write {
            Some(last) if second == last => {}
            // Older than a window before the newest data: Knative drops it.
            Some(last) if second + len <= last => return,
            // Late, but inside the window: it may move the first write back.
            Some(last) if second < last => self.first_write = self.first_write.min(second),
            Some(last) if second - last < len => {
                // Seconds skipped since the last write are gaps: zero them so
                // they count as 0, and so the ring forgets what was a window ago.
                for s in last + 1..=second {
                    *self.slot(s) = 0.0;
                }
                self.last_write = Some(second);
            }
            // First write ever, or a whole window without data: start over.
            _ => {
                self.slots.fill(0.0);
                self.first_write = second;
                self.last_write = Some(second);
            }
        }
        *self.slot(second) += value;
    }

    /// No data for more than a window before `now` (Knative's `IsEmpty`, which
    /// makes the metric client answer "no data" and the decider skip a tick).
    pub(crate) fn is_empty(&self, now: u64) -> bool {
        self.last_write
            .is_none_or(|last| now.saturating_sub(last) > self.len())
    }

    /// The linear mean described in the module docs, rounded to 6 decimals.
    pub(crate) fn window_average(&self, now: u64) -> f64 {
        let Some(last) = self.last_write else {
            return 0.0;
        };
        let len = self.len();
        let stale = now.saturating_sub(last);
        if stale >= len {
            return 0.0;
        }
        // Seconds in (max(now, last) - len, last]: with stale data the window
        // ends at `now`, so its oldest `stale` seconds fall out of it.
        let start = (now.max(last) + 1).saturating_sub(len);
        let sum: f64 = (start..=last)
            .map(|s| self.slots[usize::try_from(s % len).unwrap_or(0)])
            .sum();
        let since_first = last - self.first_write + 1;
        #[allow(clippy::cast_precision_loss)] // both are at most 3600
        let divisor = since_first.min(len - stale) as f64;
        round_decimals(sum / divisor, AVERAGE_DECIMALS)
    }
}

fn round_decimals(value: f64, decimals: i32) -> f64 {
    let scale = 10_f64.powi(decimals);
    (value * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn filled(window: u64, samples: &[(u64, f64)]) -> WindowBuckets {
        let mut b = WindowBuckets::new(window);
        for &(s, v) in samples {
            b.record(s, v);
        }
        b
    }

    #[test]
    fn empty_until_first_write() {
        let b = WindowBuckets::new(6);
        assert!(b.is_empty(0));
        assert_eq!(b.window_average(0), 0.0);
    }

    #[test]
    fn partial_window_is_mean_since_first_write() {
        // Window 60 s, data at 10..=12: mean over those three seconds only.
        let b = filled(60, &[(10, 3.0), (11, 6.0), (12, 9.0)]);
        assert_eq!(b.window_average(12), 6.0);
    }

    #[test]
    fn full_window_is_mean_over_window() {
        // Window 4 s, seconds 0..=5 → the last four (2..=5) count.
        let b = filled(
            4,
            &[
                (0, 100.0),
                (1, 100.0),
                (2, 1.0),
                (3, 2.0),
                (4, 3.0),
                (5, 6.0),
            ],
        );
        assert_eq!(b.window_average(5), 3.0);
    }

    #[test]
    fn interior_gaps_count_as_zero() {
        // Seconds 1 and 2 missing between 0 and 3: (4 + 0 + 0 + 8) / 4.
        let b = filled(10, &[(0, 4.0), (3, 8.0)]);
        assert_eq!(b.window_average(3), 3.0);
    }

    #[test]
    fn trailing_gap_is_left_out_of_the_divisor() {
        // Window 6: data at 0..=9 of 12 each; at now=12 the last write is 3 s
        // old, so the mean is over seconds 7..=9 only, not (3*12)/6.
        let samples: Vec<_> = (0..10).map(|s| (s, 12.0)).collect();
        let b = filled(6, &samples);
        assert_eq!(b.window_average(12), 12.0);
        assert!(!b.is_empty(12));
        // Exactly a window after the last write: not "empty", but 0.
        assert_eq!(b.window_average(15), 0.0);
        assert!(!b.is_empty(15));
        assert!(b.is_empty(16));
    }

    #[test]
    fn whole_window_gap_restarts_partial_mean() {
        // Window 6: a write at 0, then at 6 (6 s later = a full window).
        let b = filled(6, &[(0, 60.0), (6, 6.0)]);
        assert_eq!(b.window_average(6), 6.0);
        // A 5 s gap does not restart: the four missing seconds count as 0,
        // (60 + 0 + 0 + 0 + 0 + 6) / 6.
        let b = filled(6, &[(0, 60.0), (5, 6.0)]);
        assert_eq!(b.window_average(5), 11.0);
    }

    #[test]
    fn late_and_ancient_writes() {
        let mut b = filled(6, &[(10, 6.0)]);
        b.record(9, 6.0); // late but in window: moves first write back
        assert_eq!(b.window_average(10), 6.0);
        b.record(4, 1000.0); // a window before the newest data: dropped
        assert_eq!(b.window_average(10), 6.0);
        b.record(10, 6.0); // same second adds up
        assert_eq!(b.window_average(10), 9.0);
    }

    #[test]
    fn rounds_to_six_decimals() {
        let b = filled(3, &[(0, 1.0), (1, 1.0), (2, 0.0)]);
        assert_eq!(b.window_average(2), 0.666_667);
    }

    proptest! {
        /// A constant value over any prefix of the window averages to itself.
        #[test]
        fn constant_input_averages_to_itself(
            window in 1_u64..120, seconds in 1_u64..300, value in 0.0_f64..1e6, start in 0_u64..1000,
        ) {
            let mut b = WindowBuckets::new(window);
            for s in start..start + seconds {
                b.record(s, value);
            }
            let avg = b.window_average(start + seconds - 1);
            prop_assert!((avg - value).abs() <= 1e-6 * value.max(1.0), "{avg} vs {value}");
        }

        /// The average never exceeds the largest recorded value, never goes negative.
        #[test]
        fn average_is_bounded(
            window in 1_u64..30,
            samples in proptest::collection::vec((0_u64..100, 0.0_f64..1000.0), 0..80),
            now in 0_u64..150,
        ) {
            let mut b = WindowBuckets::new(window);
            let mut per_second = std::collections::BTreeMap::new();
            for &(s, v) in &samples {
                b.record(s, v);
                *per_second.entry(s).or_insert(0.0) += v;
            }
            let max = per_second.values().copied().fold(0.0_f64, f64::max);
            let avg = b.window_average(now);
            prop_assert!(avg >= 0.0);
            prop_assert!(avg <= max + 1e-6, "{avg} > {max}");
        }
    }
}
