//! The `autoscaling.knative.dev/*` annotation keys the KPA reads, with the
//! legacy camelCase spellings Knative still honours after the kebab-case key
//! (`kmap.KeyPriority` in `pkg/apis/autoscaling/register.go`).

use std::collections::BTreeMap;

/// The annotation group; every key below lives under it.
pub const ANNOTATION_PREFIX: &str = "autoscaling.knative.dev/";

/// One annotation: its key after the prefix, then older spellings, in the
/// order Knative looks them up.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AnnotationKey(&'static [&'static str]);

pub(crate) const CLASS: AnnotationKey = AnnotationKey(&["class"]);
pub(crate) const METRIC: AnnotationKey = AnnotationKey(&["metric"]);
pub(crate) const METRIC_AGGREGATION_ALGORITHM: AnnotationKey =
    AnnotationKey(&["metric-aggregation-algorithm", "metricAggregationAlgorithm"]);
pub(crate) const TARGET: AnnotationKey = AnnotationKey(&["target"]);
pub(crate) const TARGET_UTILIZATION_PERCENTAGE: AnnotationKey = AnnotationKey(&[
    "target-utilization-percentage",
    "targetUtilizationPercentage",
]);
pub(crate) const TARGET_BURST_CAPACITY: AnnotationKey =
    AnnotationKey(&["target-burst-capacity", "targetBurstCapacity"]);
pub(crate) const WINDOW: AnnotationKey = AnnotationKey(&["window"]);
pub(crate) const PANIC_WINDOW_PERCENTAGE: AnnotationKey =
    AnnotationKey(&["panic-window-percentage", "panicWindowPercentage"]);
pub(crate) const PANIC_THRESHOLD_PERCENTAGE: AnnotationKey =
    AnnotationKey(&["panic-threshold-percentage", "panicThresholdPercentage"]);
pub(crate) const MIN_SCALE: AnnotationKey = AnnotationKey(&["min-scale", "minScale"]);
pub(crate) const MAX_SCALE: AnnotationKey = AnnotationKey(&["max-scale", "maxScale"]);
pub(crate) const INITIAL_SCALE: AnnotationKey = AnnotationKey(&["initial-scale", "initialScale"]);
pub(crate) const ACTIVATION_SCALE: AnnotationKey = AnnotationKey(&["activation-scale"]);
pub(crate) const SCALE_DOWN_DELAY: AnnotationKey =
    AnnotationKey(&["scale-down-delay", "scaleDownDelay"]);
pub(crate) const SCALE_TO_ZERO_POD_RETENTION_PERIOD: AnnotationKey = AnnotationKey(&[
    "scale-to-zero-pod-retention-period",
    "scaleToZeroPodRetentionPeriod",
]);

const ALL: [AnnotationKey; 15] = [
    CLASS,
    METRIC,
    METRIC_AGGREGATION_ALGORITHM,
    TARGET,
    TARGET_UTILIZATION_PERCENTAGE,
    TARGET_BURST_CAPACITY,
    WINDOW,
    PANIC_WINDOW_PERCENTAGE,
    PANIC_THRESHOLD_PERCENTAGE,
    MIN_SCALE,
    MAX_SCALE,
    INITIAL_SCALE,
    ACTIVATION_SCALE,
    SCALE_DOWN_DELAY,
    SCALE_TO_ZERO_POD_RETENTION_PERIOD,
];

/// A set annotation: the full key it was found under, and its value.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Found<'a> {
    pub(crate) key: &'a str,
    pub(crate) value: &'a str,
}

// === impl AnnotationKey ===

impl AnnotationKey {
    /// The first spelling present, as Knative's `KeyPriority.Get`.
    pub(crate) fn get<'a>(&self, annotations: &'a BTreeMap<String, String>) -> Option<Found<'a>> {
        self.0.iter().find_map(|suffix| {
            annotations
                .get_key_value(&format!("{ANNOTATION_PREFIX}{suffix}"))
                .map(|(key, value)| Found { key, value })
        })
    }

    /// The canonical full key, for errors about an annotation that is absent.
    pub(crate) fn canonical(&self) -> String {
        format!("{ANNOTATION_PREFIX}{}", self.0[0])
    }
}

/// Whether `key` (with its prefix) is one the KPA reads.
pub(crate) fn is_known(key: &str) -> bool {
    key.strip_prefix(ANNOTATION_PREFIX)
        .is_some_and(|suffix| ALL.iter().any(|k| k.0.contains(&suffix)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kebab_case_wins_over_legacy_camel_case() {
        let anns: BTreeMap<String, String> = [
            ("autoscaling.knative.dev/minScale", "1"),
            ("autoscaling.knative.dev/min-scale", "2"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let found = MIN_SCALE.get(&anns).unwrap();
        assert_eq!(
            (found.key, found.value),
            ("autoscaling.knative.dev/min-scale", "2")
        );
    }

    #[test]
    fn known_keys() {
        assert!(is_known("autoscaling.knative.dev/target"));
        assert!(is_known("autoscaling.knative.dev/scaleDownDelay"));
        assert!(!is_known("autoscaling.knative.dev/windowSize"));
        assert!(!is_known("target"));
    }
}
