//! The KPA decider: every tick, observed stable/panic averages and the ready
//! pod count in, a recommended scale and the excess burst capacity out.
//! Knative's `autoscaler.Scale` (`pkg/autoscaler/scaling/autoscaler.go`),
//! with the metric collector's buckets folded in (`metrics/collector.go`).

use std::time::Duration;

use crate::buckets::WindowBuckets;
use crate::revision_scaling::{RevisionScaling, ScalingMetric};
use crate::scale_down_delay::ScaleDownDelayWindow;

/// What one decider needs: Knative's `DeciderSpec`, plus the panic window
/// that Knative keeps on the `Metric` object.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DeciderSpec {
    pub metric: ScalingMetric,
    /// Per-pod value the KPA aims for.
    pub target: f64,
    /// Per-pod value a pod can take; only the burst capacity uses it.
    pub total: f64,
    /// -1: activator always in path; 0: only at zero; > 0: spare capacity to keep.
    pub target_burst_capacity: f64,
    /// `panic-threshold-percentage / 100`.
    pub panic_threshold: f64,
    pub stable_window: Duration,
    pub panic_window: Duration,
    /// Zero means no delay window at all (not a one-tick window).
    pub scale_down_delay: Duration,
    pub max_scale_up_rate: f64,
    pub max_scale_down_rate: f64,
    /// 0 when unset; only values above 1 act.
    pub activation_scale: u32,
    /// Whether a route references the revision. An unreachable revision may
    /// drop straight to 0 and skips the scale-down delay.
    pub reachable: bool,
}

// === impl DeciderSpec ===

impl DeciderSpec {
    /// Knative's `MakeDecider` for a revision that is (or is not) routed to.
    pub fn new(scaling: &RevisionScaling, reachable: bool) -> Self {
        Self {
            metric: scaling.metric,
            target: scaling.target,
            total: scaling.total,
            target_burst_capacity: scaling.target_burst_capacity,
            panic_threshold: scaling.panic_threshold_percentage / 100.0,
            stable_window: scaling.stable_window,
            panic_window: scaling.panic_window,
            scale_down_delay: scaling.scale_down_delay,
            max_scale_up_rate: scaling.max_scale_up_rate,
            max_scale_down_rate: scaling.max_scale_down_rate,
            activation_scale: scaling.activation_scale.unwrap_or(0),
            reachable,
        }
    }

    /// The burst capacity Knative assumes before the first decision: `initial
    /// scale × total − TBC` (or -1/0 for those TBC modes), so a revision whose
    /// initial pods cannot absorb the burst starts behind the activator.
    pub fn initial_excess_burst_capacity(&self, initial_scale: u32) -> i32 {
        let tbc = self.target_burst_capacity;
        if tbc == 0.0 {
            0
        } else if tbc < 0.0 {
            -1
        } else {
            to_i32(f64::from(initial_scale) * self.total - tbc)
        }
    }
}

/// One tick's outcome: Knative's `ScaleResult` plus what it logged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    /// Knative's `ScaleResult.DesiredPodCount`: after the rate limits,
    /// activation-scale, the panic-mode hold and the scale-down delay, but
    /// before the PA reconciler applies min-scale/max-scale, initial scale,
    /// enable-scale-to-zero, the grace period and the last-pod retention.
    /// 0 here means "could go to zero", not "is at zero".
    pub desired_pods: u32,
    /// Spare capacity beyond the burst capacity; negative puts the activator
    /// in the request path.
    pub excess_burst_capacity: i32,
    /// Whether this decision was made in panic mode.
    pub panic: bool,
    /// The stable-window average of the scaling metric.
    pub observed_stable: f64,
    /// The panic-window average of the scaling metric.
    pub observed_panic: f64,
}

/// One revision's decider and its metric windows.
#[derive(Debug, Clone)]
pub struct Kpa {
    spec: DeciderSpec,
    stable: WindowBuckets,
    panic_window: WindowBuckets,
    /// When the panic threshold was last crossed; `None` outside panic mode.
    /// Knative's `panicTime`.
    panic_since: Option<Duration>,
    /// The highest recommendation of this panic episode (Knative's `maxPanicPods`).
    max_panic_pods: i32,
    delay: Option<ScaleDownDelayWindow>,
}

// === impl Kpa ===

impl Kpa {
    /// A decider created at `now` for a revision with `ready_pods` ready.
    ///
    /// With more than one pod ready it starts in panic mode, as Knative's
    /// does: a restarted autoscaler has no history, and must not scale a
    /// running revision down before it has seen a stable window of data.
    pub fn new(spec: DeciderSpec, ready_pods: u32, now: Duration) -> Self {
        let delay = (spec.scale_down_delay > Duration::ZERO)
            .then(|| ScaleDownDelayWindow::new(spec.scale_down_delay));
        Self {
            stable: WindowBuckets::new(window_secs(spec.stable_window)),
            panic_window: WindowBuckets::new(window_secs(spec.panic_window)),
            panic_since: (ready_pods > 1).then_some(now),
            max_panic_pods: i32::try_from(ready_pods).unwrap_or(i32::MAX),
            delay,
            spec,
        }
    }

    pub fn spec(&self) -> &DeciderSpec {
        &self.spec
    }

    /// Knative changes reachability through `Update`; the windows and panic
    /// state carry on.
    pub fn set_reachable(&mut self, reachable: bool) {
        self.spec.reachable = reachable;
    }

    /// Records the revision-wide value of the scaling metric (average
    /// concurrency, or requests per second) observed in the second `at` falls
    /// in. A second with no report is simply not recorded: that is what
    /// "no data" means to the windows.
    pub fn record(&mut self, at: Duration, value: f64) {
        let second = at.as_secs();
        self.stable.record(second, value);
        self.panic_window.record(second, value);
    }

    /// The tick at `now` with `ready_pods` ready. `None` is Knative's invalid
    /// scale result: the stable window has had no data for more than a whole
    /// window, so nothing is decided and panic state is left untouched (the
    /// caller keeps whatever it last applied).
    ///
    /// Knative's collector only reports "no data" when it has a scrape target;
    /// this models the usual case where it has one.
    ///
    /// Knative ticks every 2 s, and also at once when a report with non-zero
    /// concurrency arrives while the last applied scale is 0 (a cold
    /// request); both are the caller's to schedule.
    pub fn decide(&mut self, now: Duration, ready_pods: u32) -> Option<Decision> {
        let second = now.as_secs();
        if self.stable.is_empty(second) {
            return None;
        }
        let observed_stable = self.stable.window_average(second);
        let observed_panic = self.panic_window.window_average(second);
        let spec = &self.spec;

        // A revision at zero is sized as if it had one pod.
        let ready = f64::from(ready_pods.max(1));
        // The ceiling lets a cautious rate still add at least one pod.
        let max_up = (spec.max_scale_up_rate * ready).ceil();
        let max_down = if spec.reachable {
            (ready / spec.max_scale_down_rate).floor()
        } else {
            0.0
        };
        let stable_pods = (observed_stable / spec.target).ceil();
        let panic_pods = (observed_panic / spec.target).ceil();
        let mut desired_stable = to_i32(stable_pods.max(max_down).min(max_up));
        let mut desired_panic = to_i32(panic_pods.max(max_down).min(max_up));

        // Activation-scale lifts any non-zero recommendation, after the rate
        // limits, and never lifts a zero one.
        if spec.activation_scale > 1 {
            let floor = i32::try_from(spec.activation_scale).unwrap_or(i32::MAX);
            if stable_pods > 0.0 {
                desired_stable = desired_stable.max(floor);
            }
            if panic_pods > 0.0 {
                desired_panic = desired_panic.max(floor);
            }
        }

        self.update_panic(now, panic_pods / ready >= spec.panic_threshold);

        let mut desired = desired_stable;
        if self.panic_since.is_some() {
            // Provision for the larger of the two windows, and never shrink
            // during a panic: only increases apply.
            desired = desired.max(desired_panic);
            self.max_panic_pods = self.max_panic_pods.max(desired);
            desired = self.max_panic_pods;
        }

        if self.spec.reachable
            && let Some(delay) = &mut self.delay
        {
            delay.record(now, desired);
            desired = delay.current();
        }

        Some(Decision {
            desired_pods: u32::try_from(desired).unwrap_or(0),
            excess_burst_capacity: self.excess_burst_capacity(ready_pods, observed_panic),
            panic: self.panic_since.is_some(),
            observed_stable,
            observed_panic,
        })
    }

    /// Enter panic when over the threshold; every tick over it restarts the
    /// clock; leave once a full stable window has passed below it, by which
    /// time the surge is in the stable average.
    fn update_panic(&mut self, now: Duration, over_threshold: bool) {
        if over_threshold {
            self.panic_since = Some(now);
        } else if let Some(since) = self.panic_since
            && since.saturating_add(self.spec.stable_window) < now
        {
            self.panic_since = None;
            self.max_panic_pods = 0;
        }
    }

    /// Based on the panic average, so a short burst already counts against
    /// the spare capacity. Uses the real ready count, not the lifted one.
    fn excess_burst_capacity(&self, ready_pods: u32, observed_panic: f64) -> i32 {
        let tbc = self.spec.target_burst_capacity;
        if tbc == 0.0 {
            0
        } else if tbc > 0.0 {
            let capacity = f64::from(ready_pods) * self.spec.total;
            to_i32((capacity - tbc - observed_panic).floor())
        } else {
            -1
        }
    }
}

/// Whole seconds of a window, as Knative sizes its 1 s buckets (rounded up).
fn window_secs(window: Duration) -> u64 {
    window.as_secs() + u64::from(window.subsec_nanos() > 0)
}

/// Go converts the float to int32; Rust's `as` saturates instead of Go's
/// platform-defined result for values out of range (and maps NaN to 0).
#[allow(clippy::cast_possible_truncation)]
fn to_i32(value: f64) -> i32 {
    value as i32
}

#[cfg(test)]
mod tests;
