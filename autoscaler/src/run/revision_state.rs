//! One revision as the running autoscaler tracks it: its resolved settings, its
//! decider ([`Kpa`]) and scaler, and the second of reports being collected.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::config::AutoscalerConfig;
use crate::intake::SecondTotals;
use crate::kpa::{DeciderSpec, Decision, Kpa};
use crate::revision_scaling::{AnnotationError, RevisionScaling};
use crate::scaler::{Observed, Outcome, Scaler, ScalerBounds};

/// Knative waits this long past the progress deadline before it gives up activating.
const ACTIVATION_TIMEOUT_BUFFER: Duration = Duration::from_secs(10);
/// Knative's default `progress-deadline`.
const DEFAULT_PROGRESS_DEADLINE: Duration = Duration::from_secs(600);

/// What a revision's settings are resolved from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RevisionInputs {
    pub(crate) annotations: BTreeMap<String, String>,
    pub(crate) container_concurrency: u32,
    pub(crate) progress_deadline: Option<Duration>,
}

#[derive(Debug)]
pub(crate) struct RevisionState {
    inputs: RevisionInputs,
    pub(crate) scaling: RevisionScaling,
    kpa: Kpa,
    scaler: Scaler,
    /// Reports received during the current second.
    pub(crate) collecting: SecondTotals,
    /// The largest cold-request count recorded straight into the current second.
    cold_recorded: f64,
}

/// What the API currently says about the revision's replicas.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Replicas {
    pub(crate) requested: u32,
    pub(crate) ready: u32,
}

// === impl RevisionState ===

impl RevisionState {
    pub(crate) fn new(
        config: &AutoscalerConfig,
        inputs: RevisionInputs,
        routed: bool,
        replicas: Replicas,
        now: Duration,
    ) -> Result<Self, AnnotationError> {
        let scaling = resolve(config, &inputs)?;
        let kpa = Kpa::new(DeciderSpec::new(&scaling, routed), replicas.ready, now);
        let scaler = Scaler::new(
            bounds(config, &scaling, &inputs),
            replicas.requested,
            replicas.ready,
            now,
        );
        Ok(Self {
            inputs,
            scaling,
            kpa,
            scaler,
            collecting: SecondTotals::default(),
            cold_recorded: 0.0,
        })
    }

    /// Whether the settings must be resolved again.
    pub(crate) fn inputs_changed(&self, inputs: &RevisionInputs) -> bool {
        &self.inputs != inputs
    }

    /// New settings: the decider restarts with the new spec (Knative re-creates it
    /// too); the scaler keeps its activity so no grace period starts over.
    pub(crate) fn reconfigure(
        &mut self,
        config: &AutoscalerConfig,
        inputs: RevisionInputs,
        routed: bool,
        replicas: Replicas,
        now: Duration,
    ) -> Result<(), AnnotationError> {
        let scaling = resolve(config, &inputs)?;
        self.scaler.set_bounds(bounds(config, &scaling, &inputs));
        self.kpa = Kpa::new(DeciderSpec::new(&scaling, routed), replicas.ready, now);
        self.scaling = scaling;
        self.inputs = inputs;
        Ok(())
    }

    /// Closes the second being collected into the decider's windows. A second with no
    /// report is a zero: every gateway reports each second, and omits only zeros.
    pub(crate) fn close_second(&mut self, at: Duration) {
        let value = self.collecting.value(self.scaling.metric);
        // The bucket holds the larger of the periodic reports and the cold peak.
        self.kpa.record(at, (value - self.cold_recorded).max(0.0));
        self.collecting = SecondTotals::default();
        self.cold_recorded = 0.0;
    }

    /// A cold request's count (requests now waiting for the revision's first replica)
    /// goes straight into the windows, so the decision it triggers sees it. Each
    /// waiting request sends one, so the second keeps the peak, not the sum.
    pub(crate) fn record_cold(&mut self, at: Duration, waiting: f64) {
        if waiting > self.cold_recorded {
            self.kpa.record(at, waiting - self.cold_recorded);
            self.cold_recorded = waiting;
        }
    }

    /// Whether the revision is at zero or on its way there, behind the activator.
    pub(crate) fn is_inactive(&self) -> bool {
        self.scaler.is_inactive()
    }

    /// One decision (`None`: no data) and what to do about it.
    pub(crate) fn step(
        &mut self,
        now: Duration,
        routed: bool,
        replicas: Replicas,
    ) -> (Option<Decision>, Outcome) {
        self.kpa.set_reachable(routed);
        let decision = self.kpa.decide(now, replicas.ready);
        let outcome = self.scaler.step(
            decision.as_ref(),
            Observed {
                now,
                current_scale: replicas.requested,
                ready_pods: replicas.ready,
                routed,
            },
        );
        (decision, outcome)
    }
}

fn resolve(
    config: &AutoscalerConfig,
    inputs: &RevisionInputs,
) -> Result<RevisionScaling, AnnotationError> {
    RevisionScaling::resolve(config, &inputs.annotations, inputs.container_concurrency)
}

fn bounds(config: &AutoscalerConfig, s: &RevisionScaling, inputs: &RevisionInputs) -> ScalerBounds {
    ScalerBounds {
        min_scale: s.min_scale,
        max_scale: s.max_scale,
        enable_scale_to_zero: config.enable_scale_to_zero,
        stable_window: s.stable_window,
        scale_to_zero_grace_period: config.scale_to_zero_grace_period,
        scale_to_zero_pod_retention_period: s.scale_to_zero_pod_retention_period,
        activation_timeout: inputs
            .progress_deadline
            .unwrap_or(DEFAULT_PROGRESS_DEADLINE)
            + ACTIVATION_TIMEOUT_BUFFER,
    }
}
