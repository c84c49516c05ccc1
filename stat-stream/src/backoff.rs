//! Reconnect delays: doubling from 50 ms to 5 s, with jitter so a fleet of gateways
//! does not reconnect to a restarted autoscaler in lockstep.

use std::time::Duration;

const FIRST: Duration = Duration::from_millis(50);
const MAX: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub(crate) struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self { next: FIRST }
    }
}

impl Backoff {
    /// The delay before the next attempt: 75–100 % of the current step.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let step = self.next;
        self.next = (self.next * 2).min(MAX);
        step.mul_f64(0.75 + fastrand::f64() * 0.25)
    }

    /// After a successful connection, start again from the shortest delay.
    pub(crate) fn reset(&mut self) {
        self.next = FIRST;
    }
}
