//! What the PodAutoscaler reconciler does with a [`Decision`]: Knative's
//! `kpa/scaler.go` and the mode choice in `kpa/kpa.go`. The decider says how many
//! pods the load needs; this applies min/max-scale, `enable-scale-to-zero`, the
//! stable-window activity gate, the scale-to-zero grace period and the last-pod
//! retention, and says whether the activator must be in the request path.
//!
//! Pure like the decider: the shell calls [`Scaler::step`] every tick (and on a
//! cold request) with the time and what it observed, and applies the outcome.

use std::time::Duration;

use crate::kpa::Decision;

/// The settings a [`Scaler`] applies, resolved per revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScalerBounds {
    /// Applied only while a route references the revision.
    pub min_scale: u32,
    /// 0 means unlimited.
    pub max_scale: u32,
    pub enable_scale_to_zero: bool,
    pub stable_window: Duration,
    /// How long the activator must have been in the path before the last pod goes.
    pub scale_to_zero_grace_period: Duration,
    /// How long the last pod stays after the revision went idle.
    pub scale_to_zero_pod_retention_period: Duration,
    /// A revision that cannot get a ready pod within this is given up (scaled to 0).
    pub activation_timeout: Duration,
}

/// What one step observed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observed {
    pub now: Duration,
    /// The scale currently requested (the Deployment's `spec.replicas`).
    pub current_scale: u32,
    pub ready_pods: u32,
    /// Whether a route references the revision (its routing state is active).
    pub routed: bool,
}

/// One step's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// The scale to request; `None` leaves it as it is (Knative's `scaleUnknown`).
    pub scale: Option<u32>,
    /// Whether the gateways must send the revision's requests to the activator.
    pub proxy: bool,
}

/// Knative's PodAutoscaler `Active` condition, as far as scaling depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Activity {
    /// Replicas are wanted but none is ready yet (Knative's `Activating`).
    Activating { since: Duration },
    /// Serving with ready replicas since `since`.
    Active { since: Duration },
    /// Idle: the activator is in the path since `since`, waiting out the grace period
    /// (or already at zero).
    Inactive { since: Duration },
}

/// One revision's scaling state between decisions.
#[derive(Debug, Clone)]
pub struct Scaler {
    bounds: ScalerBounds,
    activity: Activity,
}

// === impl Scaler ===

impl Scaler {
    /// A scaler created at `now` for a revision currently at `current_scale` with
    /// `ready_pods` ready.
    pub fn new(bounds: ScalerBounds, current_scale: u32, ready_pods: u32, now: Duration) -> Self {
        let activity = if ready_pods > 0 {
            Activity::Active { since: now }
        } else if current_scale == 0 {
            Activity::Inactive { since: now }
        } else {
            Activity::Activating { since: now }
        };
        Self { bounds, activity }
    }

    /// New settings (a ConfigMap or annotation edit); the activity carries on.
    pub fn set_bounds(&mut self, bounds: ScalerBounds) {
        self.bounds = bounds;
    }

    /// Whether the revision is idle behind the activator (at zero or about to be).
    pub fn is_inactive(&self) -> bool {
        matches!(self.activity, Activity::Inactive { .. })
    }

    /// Applies `decision` (`None`: the decider had no data) to what was observed.
    pub fn step(&mut self, decision: Option<&Decision>, seen: Observed) -> Outcome {
        self.track_readiness(seen);
        let Some(decision) = decision else {
            return Outcome {
                scale: None,
                proxy: self.is_inactive() || seen.ready_pods == 0,
            };
        };
        let want = self.bounded(decision.desired_pods, seen.routed);
        let scale = if want > 0 {
            if self.is_inactive() {
                // Load is back before the last pod left (or at zero): wake up.
                self.activity = if seen.ready_pods > 0 {
                    Activity::Active { since: seen.now }
                } else {
                    Activity::Activating { since: seen.now }
                };
            }
            Some(want)
        } else {
            self.toward_zero(seen)
        };
        // Knative: the activator is in the path at zero, while waiting to get there,
        // and whenever the spare capacity cannot absorb a burst.
        let proxy = scale == Some(0)
            || (scale.is_none() && self.is_inactive())
            || decision.excess_burst_capacity < 0
            || seen.ready_pods == 0;
        Outcome { scale, proxy }
    }

    /// min-scale (while routed), max-scale, and `enable-scale-to-zero`.
    fn bounded(&self, desired: u32, routed: bool) -> u32 {
        let b = &self.bounds;
        let mut want = desired;
        if routed {
            want = want.max(b.min_scale);
        }
        if b.max_scale > 0 {
            want = want.min(b.max_scale);
        }
        if want == 0 && !b.enable_scale_to_zero {
            want = 1;
        }
        want
    }

    /// The decider would go to zero: Knative's `handleScaleToZero`.
    fn toward_zero(&mut self, seen: Observed) -> Option<u32> {
        let b = self.bounds;
        match self.activity {
            Activity::Activating { since } => {
                // Stuck activating past the deadline: presume it cannot start.
                (seen.now.saturating_sub(since) >= b.activation_timeout).then_some(0)
            }
            Activity::Active { since } => {
                // Active at least a stable window: go idle behind the activator, and
                // count the grace period from now.
                if seen.now.saturating_sub(since) >= b.stable_window {
                    self.activity = Activity::Inactive { since: seen.now };
                }
                None
            }
            Activity::Inactive { since } => {
                let idle = seen.now.saturating_sub(since);
                let wait = b
                    .scale_to_zero_grace_period
                    .max(b.scale_to_zero_pod_retention_period);
                (seen.current_scale == 0 || idle >= wait).then_some(0)
            }
        }
    }

    /// Activating → Active once a pod is ready.
    fn track_readiness(&mut self, seen: Observed) {
        if let Activity::Activating { .. } = self.activity
            && seen.ready_pods > 0
        {
            self.activity = Activity::Active { since: seen.now };
        }
    }
}

#[cfg(test)]
mod tests;
