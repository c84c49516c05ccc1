//! Per-revision scaling knobs: the `autoscaling.knative.dev/*` annotations
//! and `containerConcurrency` over the `config-autoscaler` defaults.
//!
//! Validation follows Knative's webhook (`pkg/apis/autoscaling/annotation_validation.go`),
//! resolution follows the PA reconciler (`ResolveMetricTarget`, `MakeMetric`,
//! `MakeDecider`, `GetInitialScale` under `pkg/reconciler/autoscaling/`).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::annotations::{self as key, AnnotationKey, Found};
use crate::config::{AutoscalerConfig, TARGET_MIN, WINDOW_MIN_NANOS};
use crate::go_duration::to_std;

mod rules;
use rules::{
    duration_in, float_in, validate_activation, validate_algorithm, validate_bounds,
    validate_class, validate_initial_scale, validate_metric, validate_tbc,
};

/// What the KPA scales on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ScalingMetric {
    /// Average in-flight requests (`metric: concurrency`, the default).
    #[default]
    Concurrency,
    /// Requests per second (`metric: rps`).
    Rps,
}

/// An autoscaling annotation that does not parse or breaks a rule; the
/// message starts with the full annotation key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnnotationError {
    #[error("{key}: {value:?} is not {expected}")]
    Unparsable {
        key: String,
        value: String,
        expected: &'static str,
    },
    #[error("{key}: {rule}, got {value}")]
    Invalid {
        key: String,
        rule: String,
        value: String,
    },
}

impl AnnotationError {
    /// The annotation key at fault, as it was written.
    pub fn key(&self) -> &str {
        match self {
            Self::Unparsable { key, .. } | Self::Invalid { key, .. } => key,
        }
    }

    fn invalid(found: Found<'_>, rule: impl Into<String>) -> Self {
        Self::Invalid {
            key: found.key.to_owned(),
            rule: rule.into(),
            value: found.value.to_owned(),
        }
    }

    fn unparsable(found: Found<'_>, expected: &'static str) -> Self {
        Self::Unparsable {
            key: found.key.to_owned(),
            value: found.value.to_owned(),
            expected,
        }
    }
}

/// One revision's resolved autoscaling settings.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RevisionScaling {
    pub metric: ScalingMetric,
    /// The revision's `containerConcurrency`; 0 is unlimited.
    pub container_concurrency: u32,
    /// What one pod can take (`total`): cc, the config default, or `target`.
    pub total: f64,
    /// What the KPA aims for per pod: `max(0.01, total × utilization)`.
    pub target: f64,
    pub target_burst_capacity: f64,
    pub panic_threshold_percentage: f64,
    pub stable_window: Duration,
    pub panic_window_percentage: f64,
    /// `stable_window × percentage`, rounded to whole seconds, at least 1 s.
    pub panic_window: Duration,
    pub scale_down_delay: Duration,
    pub max_scale_up_rate: f64,
    pub max_scale_down_rate: f64,
    /// Knative ignores min-scale while no route references the revision;
    /// that is the caller's to apply, this is the configured value.
    pub min_scale: u32,
    /// 0 means unlimited.
    pub max_scale: u32,
    pub initial_scale: u32,
    /// The smallest non-zero scale (≥ 2 when set).
    pub activation_scale: Option<u32>,
    pub scale_to_zero_pod_retention_period: Duration,
}

// === impl RevisionScaling ===

impl RevisionScaling {
    /// Resolves `annotations` (full keys; non-autoscaling and unknown ones
    /// ignored, as Knative does) over `config`.
    pub fn resolve(
        config: &AutoscalerConfig,
        annotations: &BTreeMap<String, String>,
        container_concurrency: u32,
    ) -> Result<Self, AnnotationError> {
        let a = |k: AnnotationKey| k.get(annotations);
        validate_class(config, a(key::CLASS))?;
        let (min_ann, max_ann) = validate_bounds(config, a(key::MIN_SCALE), a(key::MAX_SCALE))?;
        let activation_scale = validate_activation(a(key::ACTIVATION_SCALE), min_ann, max_ann)?;
        let panic_window_pct = float_in(a(key::PANIC_WINDOW_PERCENTAGE), 1.0, 100.0)?;
        let panic_threshold_pct = float_in(a(key::PANIC_THRESHOLD_PERCENTAGE), 110.0, 1000.0)?;
        let target_ann = float_in(a(key::TARGET), TARGET_MIN, f64::MAX)?;
        let utilization_pct = float_in(a(key::TARGET_UTILIZATION_PERCENTAGE), 1.0, 100.0)?;
        let tbc = validate_tbc(a(key::TARGET_BURST_CAPACITY))?;
        let window = duration_in(a(key::WINDOW), WINDOW_MIN_NANOS, "between 6s and 1h", true)?;
        let retention = duration_in(
            a(key::SCALE_TO_ZERO_POD_RETENTION_PERIOD),
            0,
            "between 0s and 1h",
            false,
        )?;
        let delay = duration_in(a(key::SCALE_DOWN_DELAY), 0, "between 0s and 1h", true)?;
        let metric = validate_metric(a(key::METRIC))?;
        validate_algorithm(a(key::METRIC_AGGREGATION_ALGORITHM))?;
        let initial = validate_initial_scale(config, a(key::INITIAL_SCALE))?;

        // ResolveMetricTarget: cc only matters for the concurrency metric.
        let (mut total, mut utilization) = match metric {
            ScalingMetric::Rps => (config.rps_target_default, config.target_utilization),
            ScalingMetric::Concurrency if container_concurrency == 0 => (
                config.container_concurrency_target_default,
                config.container_concurrency_target_fraction,
            ),
            ScalingMetric::Concurrency => (
                f64::from(container_concurrency),
                config.container_concurrency_target_fraction,
            ),
        };
        if let Some(t) = target_ann {
            // Never aim above what containerConcurrency lets a pod take.
            total = if metric == ScalingMetric::Concurrency && container_concurrency != 0 {
                t.min(f64::from(container_concurrency))
            } else {
                t
            };
        }
        if let Some(pct) = utilization_pct {
            utilization = pct / 100.0;
        }

        let stable_window = window.map_or(config.stable_window, to_std);
        let panic_window_percentage = panic_window_pct.unwrap_or(config.panic_window_percentage);
        Ok(Self {
            metric,
            container_concurrency,
            total,
            target: (total * utilization).max(TARGET_MIN),
            target_burst_capacity: tbc.unwrap_or(config.target_burst_capacity),
            panic_threshold_percentage: panic_threshold_pct
                .unwrap_or(config.panic_threshold_percentage),
            stable_window,
            panic_window_percentage,
            panic_window: panic_window(stable_window, panic_window_percentage),
            scale_down_delay: delay.map_or(config.scale_down_delay, to_std),
            max_scale_up_rate: config.max_scale_up_rate,
            max_scale_down_rate: config.max_scale_down_rate,
            min_scale: min_ann.unwrap_or(config.min_scale),
            max_scale: max_ann.unwrap_or(config.max_scale),
            initial_scale: initial.unwrap_or(config.initial_scale),
            activation_scale,
            scale_to_zero_pod_retention_period: retention
                .map_or(config.scale_to_zero_pod_retention_period, to_std),
        })
    }
}

/// Knative's `MakeMetric`: Go computes the product in float64 nanoseconds,
/// truncates to a Duration, rounds half away from zero to seconds, then
/// lifts anything below the 1 s bucket to 1 s.
pub(crate) fn panic_window(stable_window: Duration, percentage: f64) -> Duration {
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    let nanos = (stable_window.as_nanos() as f64 * percentage / 100.0) as u64;
    let secs = nanos.saturating_add(500_000_000) / 1_000_000_000;
    Duration::from_secs(secs.max(1))
}

#[cfg(test)]
mod tests;
