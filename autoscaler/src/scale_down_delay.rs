//! The scale-down delay: the largest recommendation of the last `delay` worth
//! of 2 s ticks, so a drop only takes effect once it has held for the whole
//! delay. Knative's `max.TimeWindow` (`pkg/autoscaler/aggregation/max/`).

use std::collections::VecDeque;
use std::time::Duration;

/// The decider's tick; the delay window has one slot per tick.
const TICK_SECS: u64 = 2;

#[derive(Debug, Clone)]
pub(crate) struct ScaleDownDelayWindow {
    /// How many ticks a recommendation stays in force: `ceil(delay / 2 s)`.
    ticks: u64,
    /// `(tick index, value)`, values strictly decreasing front to back, so the
    /// front is the maximum and each record is amortised O(1).
    maxima: VecDeque<(u64, i32)>,
}

// === impl ScaleDownDelayWindow ===

impl ScaleDownDelayWindow {
    pub(crate) fn new(delay: Duration) -> Self {
        let ticks = delay
            .as_nanos()
            .div_ceil(u128::from(TICK_SECS) * 1_000_000_000);
        Self {
            ticks: u64::try_from(ticks).unwrap_or(u64::MAX).max(1),
            maxima: VecDeque::new(),
        }
    }

    /// Records the recommendation made at `now`. Ticks are indexed by
    /// `now_secs / 2` as Knative indexes by `now.Unix() / 2`, so two decisions
    /// within one 2 s slot keep the larger.
    pub(crate) fn record(&mut self, now: Duration, value: i32) {
        let index = now.as_secs() / TICK_SECS;
        // A smaller or equal older value can never be the maximum again.
        while self.maxima.back().is_some_and(|&(_, v)| v <= value) {
            self.maxima.pop_back();
        }
        while self
            .maxima
            .front()
            .is_some_and(|&(i, _)| index.saturating_sub(i) >= self.ticks)
        {
            self.maxima.pop_front();
        }
        let mut value = value;
        if let Some(&(i, v)) = self.maxima.back()
            && i == index
        {
            value = value.max(v);
            self.maxima.pop_back();
        }
        self.maxima.push_back((index, value));
        // Only a clock going backwards can overfill the window; Knative
        // panics there, we keep memory bounded instead.
        while self.maxima.len() as u64 > self.ticks {
            self.maxima.pop_front();
        }
    }

    /// The maximum over the window; 0 before anything was recorded.
    pub(crate) fn current(&self) -> i32 {
        self.maxima.front().map_or(0, |&(_, v)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn a_drop_waits_for_the_whole_delay() {
        // Knative's own example: 5 min delay, 4 pods at 2 s, then 0.
        let mut w = ScaleDownDelayWindow::new(secs(300));
        w.record(secs(2), 4);
        assert_eq!(w.current(), 4);
        w.record(secs(300), 0);
        assert_eq!(w.current(), 4, "still inside 150 ticks");
        w.record(secs(302), 0);
        assert_eq!(w.current(), 0);
    }

    #[test]
    fn gradual_drop_steps_through_older_maxima() {
        let mut w = ScaleDownDelayWindow::new(secs(6)); // 3 ticks
        for (t, v) in [(0, 5), (2, 3), (4, 1)] {
            w.record(secs(t), v);
        }
        assert_eq!(w.current(), 5);
        w.record(secs(6), 1);
        assert_eq!(w.current(), 3);
        w.record(secs(8), 1);
        assert_eq!(w.current(), 1);
    }

    #[test]
    fn an_increase_applies_at_once() {
        let mut w = ScaleDownDelayWindow::new(secs(60));
        w.record(secs(0), 1);
        w.record(secs(2), 7);
        assert_eq!(w.current(), 7);
    }

    #[test]
    fn same_tick_keeps_the_larger() {
        let mut w = ScaleDownDelayWindow::new(secs(4));
        w.record(secs(10), 6);
        w.record(secs(11), 2); // same 2 s slot as 10
        assert_eq!(w.current(), 6);
        w.record(secs(14), 2);
        assert_eq!(w.current(), 2);
    }

    #[test]
    fn odd_delay_rounds_up_to_whole_ticks() {
        // 3 s → 2 ticks: a value from tick 0 is gone at tick 2.
        let mut w = ScaleDownDelayWindow::new(secs(3));
        w.record(secs(0), 9);
        w.record(secs(2), 1);
        assert_eq!(w.current(), 9);
        w.record(secs(4), 1);
        assert_eq!(w.current(), 1);
    }

    #[test]
    fn backwards_clock_stays_bounded() {
        let mut w = ScaleDownDelayWindow::new(secs(2)); // 1 tick
        w.record(secs(10), 10);
        w.record(secs(8), 5);
        assert!(w.maxima.len() <= 1);
    }
}
