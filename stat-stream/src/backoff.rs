//! Reconnect delays: doubling from a first step to 5 s, with jitter so a fleet of
//! gateways does not reconnect to a restarted peer (the autoscaler, the control plane)
//! in lockstep. Shared by every reconnecting client in the data plane.

use std::time::Duration;

const MAX: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub struct Backoff {
    first: Duration,
    next: Duration,
}

impl Default for Backoff {
    /// 50 ms first: the metrics stream's peer is usually back at once.
    fn default() -> Self {
        Self::starting_at(Duration::from_millis(50))
    }
}

impl Backoff {
    /// Delays doubling from `first` up to 5 s.
    pub fn starting_at(first: Duration) -> Self {
        Self { first, next: first }
    }

    /// The delay before the next attempt: 75–100 % of the current step.
    pub fn next_delay(&mut self) -> Duration {
        let step = self.next;
        self.next = (self.next * 2).min(MAX.max(self.first));
        step.mul_f64(0.75 + fastrand::f64() * 0.25)
    }

    /// After a session that got somewhere, start again from the shortest delay.
    pub fn reset(&mut self) {
        self.next = self.first;
    }
}
