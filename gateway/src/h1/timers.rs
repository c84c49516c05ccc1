//! The fast path's timers: one per connection for the request in progress, moved only
//! when its deadline moves by more than [`TIMER_SLACK`], and the watch that bounds a
//! streaming response by the revision's deadline and idle timeout.
//!
//! The relay does not touch the timer per chunk. It stamps the time it starts waiting
//! for the function again into an [`Activity`] (a clock read and a relaxed store, and
//! only when the revision has an idle limit); the timer, armed for the idle limit from
//! an earlier stamp, wakes the watch, which either cuts the response or, when a later
//! stamp moved the limit, re-arms once. An active stream costs one timer reset per idle
//! period, not one per chunk.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::{Instant, Sleep};

use crate::request_limits::{RequestLimits, StreamLimit};

/// Timers are re-armed only when a deadline moves by more than this, so a busy
/// connection does not touch the timer wheel on every request; a revision's timeouts
/// may fire this much late.
pub(super) const TIMER_SLACK: Duration = Duration::from_millis(50);

/// Makes `timer` fire at `deadline`, or up to `slack` later, touching it only when it
/// is outside that window.
pub(super) fn rearm(timer: &mut Pin<Box<Sleep>>, deadline: Instant, slack: Duration) {
    let current = timer.deadline();
    if current < deadline || current > deadline + slack {
        timer.as_mut().reset(deadline + slack);
    }
}

/// When the relay of one response body last started waiting for the function. Shared
/// between the relay and [`streaming_cut`], which run in one task; atomic only so the
/// task stays `Send`.
#[derive(Debug)]
pub(super) struct Activity {
    /// `None` without an idle limit: nothing is stamped or read.
    base: Option<Instant>,
    /// Nanoseconds from `base` to the latest stamp.
    since_base: AtomicU64,
}

impl Activity {
    /// Activity of a response whose head has just arrived (the first stamp).
    pub(super) fn starting_now(limits: &RequestLimits) -> Self {
        Self {
            base: limits.idle.map(|_| Instant::now()),
            since_base: AtomicU64::new(0),
        }
    }

    /// The relay handed the function's bytes on and waits for more from now.
    pub(super) fn waiting(&self) {
        if let Some(base) = self.base {
            let nanos = u64::try_from((Instant::now() - base).as_nanos()).unwrap_or(u64::MAX);
            self.since_base.store(nanos, Ordering::Relaxed);
        }
    }

    fn waiting_since(&self) -> Option<Instant> {
        let base = self.base?;
        let nanos = self.since_base.load(Ordering::Relaxed);
        Some(base + Duration::from_nanos(nanos))
    }
}

/// Completes when a streaming response must be cut, with the limit that passed; runs
/// beside the relay that stamps `activity`.
pub(super) async fn streaming_cut(
    timer: &mut Pin<Box<Sleep>>,
    limits: &RequestLimits,
    activity: &Activity,
) -> StreamLimit {
    loop {
        let (due, limit) = limits.streaming_due(activity.waiting_since());
        // A timer that fired at or after the due time means now is past it.
        if timer.is_elapsed() && timer.deadline() >= due {
            return limit;
        }
        rearm(timer, due, TIMER_SLACK);
        timer.as_mut().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(idle: Option<u64>) -> RequestLimits {
        RequestLimits::arriving_now(Duration::from_secs(10), idle.map(Duration::from_secs))
    }

    #[tokio::test(start_paused = true)]
    async fn a_stamped_relay_keeps_the_stream_going_until_it_pauses_too_long() {
        let limits = limits(Some(2));
        let start = Instant::now();
        let mut timer = Box::pin(tokio::time::sleep_until(limits.response_start));
        let activity = Activity::starting_now(&limits);
        let relay = async {
            for _ in 0..4 {
                tokio::time::sleep(Duration::from_secs(1)).await;
                activity.waiting();
            }
            std::future::pending::<()>().await;
        };
        let limit = tokio::select! {
            () = relay => unreachable!(),
            limit = streaming_cut(&mut timer, &limits, &activity) => limit,
        };
        assert_eq!(limit, StreamLimit::Idle);
        let cut_after = Instant::now() - start;
        assert!(
            cut_after >= Duration::from_secs(6)
                && cut_after <= Duration::from_secs(6) + TIMER_SLACK,
            "2 s after the last stamp at 4 s, at most the slack late: {cut_after:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_deadline_cuts_an_active_stream_and_one_without_an_idle_limit() {
        for idle in [Some(2), None] {
            let limits = limits(idle);
            let start = Instant::now();
            let mut timer = Box::pin(tokio::time::sleep_until(limits.response_start));
            let activity = Activity::starting_now(&limits);
            let relay = async {
                loop {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    activity.waiting();
                }
            };
            let limit = tokio::select! {
                () = relay => unreachable!(),
                limit = streaming_cut(&mut timer, &limits, &activity) => limit,
            };
            assert_eq!(limit, StreamLimit::Deadline, "idle {idle:?}");
            let cut_after = Instant::now() - start;
            assert!(
                cut_after >= Duration::from_secs(10)
                    && cut_after <= Duration::from_secs(10) + TIMER_SLACK
            );
        }
    }
}
