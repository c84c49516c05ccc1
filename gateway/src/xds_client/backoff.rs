//! Reconnect delays: exponential from 100 ms to 5 s with jitter, so a fleet of
//! gateways does not reconnect to a restarted control plane in lockstep.

use std::time::Duration;

const FIRST: Duration = Duration::from_millis(100);
const MAX: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub(super) struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self { next: FIRST }
    }
}

impl Backoff {
    /// The delay before the next attempt (75–100 % of the current step).
    pub(super) fn next_delay(&mut self) -> Duration {
        let step = self.next;
        self.next = (self.next * 2).min(MAX);
        step.mul_f64(0.75 + fastrand::f64() * 0.25)
    }

    /// After a session that got somewhere, start again from the shortest delay.
    pub(super) fn reset(&mut self) {
        self.next = FIRST;
    }
}
