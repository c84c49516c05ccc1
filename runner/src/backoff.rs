//! The crash-restart schedule: pure functions of the crash count and uptime.
//!
//! kubelet's CrashLoopBackOff starts at 10 s and doubles to 5 min. That suits a
//! cluster where a crash often means a bad image or config and restarts cost
//! image pulls and scheduling. Here a restart is a fork/exec on the same
//! machine, and a function that crashed on one bad request should serve the
//! next within a blink, so we start at 100 ms and cap at 10 s: fast recovery
//! from one-off crashes, while a crash loop still costs at most a few process
//! starts a minute once it reaches the cap.

use std::time::Duration;

/// Delay before the first restart.
pub(crate) const INITIAL_DELAY: Duration = Duration::from_millis(100);
/// Ceiling of the doubling.
pub(crate) const MAX_DELAY: Duration = Duration::from_secs(10);
/// A replica that stayed up this long has recovered; its next crash starts the
/// schedule over. kubelet forgets a backoff after twice its cap; so do we.
pub(crate) const RESET_AFTER: Duration = Duration::from_secs(20);

/// How long to wait before restarting after the `crashes`-th consecutive
/// crash (1-based): 100 ms, 200 ms, 400 ms, … 10 s.
pub(crate) fn restart_delay(crashes: u32) -> Duration {
    let doublings = crashes.saturating_sub(1).min(16);
    INITIAL_DELAY.saturating_mul(1 << doublings).min(MAX_DELAY)
}

/// The consecutive-crash count after an exit, given the previous count and how
/// long the process had been running.
pub(crate) fn crashes_after_exit(previous: u32, uptime: Duration) -> u32 {
    if uptime >= RESET_AFTER {
        1
    } else {
        previous.saturating_add(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_from_100ms_to_the_cap() {
        let delays: Vec<_> = (1..=9).map(restart_delay).collect();
        let ms: Vec<u128> = delays.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, [100, 200, 400, 800, 1600, 3200, 6400, 10_000, 10_000]);
        assert_eq!(restart_delay(u32::MAX), MAX_DELAY);
        assert_eq!(restart_delay(0), INITIAL_DELAY);
    }

    #[test]
    fn a_long_run_resets_the_count() {
        assert_eq!(crashes_after_exit(0, Duration::ZERO), 1);
        assert_eq!(crashes_after_exit(5, Duration::from_secs(1)), 6);
        assert_eq!(crashes_after_exit(5, RESET_AFTER), 1);
        assert_eq!(crashes_after_exit(u32::MAX, Duration::ZERO), u32::MAX);
    }
}
