//! `autoscaling.knative.dev/*` annotation rules, as Knative's `autoscaling.ValidateAnnotations`
//! with the stock `config-autoscaler` (KPA class, no max-scale limit, initial-scale 0 refused).

use std::collections::BTreeMap;

use super::duration::{SECOND, parse_go_duration};
use crate::error::FieldError;

pub(crate) const GROUP: &str = "autoscaling.knative.dev";
const KPA: &str = "kpa.autoscaling.knative.dev";
const HPA: &str = "hpa.autoscaling.knative.dev";

const WINDOW_MIN: i128 = 6 * SECOND;
const WINDOW_MAX: i128 = 3600 * SECOND;

/// Each annotation and its legacy camelCase spelling; the first present wins, as in Knative.
const CLASS: &[&str] = &["autoscaling.knative.dev/class"];
const MIN_SCALE: &[&str] = &[
    "autoscaling.knative.dev/min-scale",
    "autoscaling.knative.dev/minScale",
];
const MAX_SCALE: &[&str] = &[
    "autoscaling.knative.dev/max-scale",
    "autoscaling.knative.dev/maxScale",
];
const INITIAL_SCALE: &[&str] = &[
    "autoscaling.knative.dev/initial-scale",
    "autoscaling.knative.dev/initialScale",
];
const ACTIVATION_SCALE: &[&str] = &["autoscaling.knative.dev/activation-scale"];
const METRIC: &[&str] = &["autoscaling.knative.dev/metric"];
const TARGET: &[&str] = &["autoscaling.knative.dev/target"];
const UTILIZATION: &[&str] = &[
    "autoscaling.knative.dev/target-utilization-percentage",
    "autoscaling.knative.dev/targetUtilizationPercentage",
];
const BURST: &[&str] = &[
    "autoscaling.knative.dev/target-burst-capacity",
    "autoscaling.knative.dev/targetBurstCapacity",
];
const PANIC_WINDOW: &[&str] = &[
    "autoscaling.knative.dev/panic-window-percentage",
    "autoscaling.knative.dev/panicWindowPercentage",
];
const PANIC_THRESHOLD: &[&str] = &[
    "autoscaling.knative.dev/panic-threshold-percentage",
    "autoscaling.knative.dev/panicThresholdPercentage",
];
const WINDOW: &[&str] = &["autoscaling.knative.dev/window"];
const SCALE_DOWN_DELAY: &[&str] = &[
    "autoscaling.knative.dev/scale-down-delay",
    "autoscaling.knative.dev/scaleDownDelay",
];
const RETENTION: &[&str] = &[
    "autoscaling.knative.dev/scale-to-zero-pod-retention-period",
    "autoscaling.knative.dev/scaleToZeroPodRetentionPeriod",
];
const ALGORITHM: &[&str] = &[
    "autoscaling.knative.dev/metric-aggregation-algorithm",
    "autoscaling.knative.dev/metricAggregationAlgorithm",
];

type Annotations = BTreeMap<String, String>;

fn get<'a>(m: &'a Annotations, keys: &[&'static str]) -> Option<(&'static str, &'a str)> {
    keys.iter().find_map(|&k| m.get(k).map(|v| (k, v.as_str())))
}

/// Validates the autoscaling annotations of a revision template (paths are the annotation keys).
pub fn validate_autoscaling_annotations(m: &Annotations) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let class = get(m, CLASS).map(|(_, v)| v);
    if let Some((k, v)) = get(m, CLASS)
        && v.ends_with(".knative.dev")
        && v != KPA
        && v != HPA
    {
        errs.push(FieldError::new(
            k,
            format!("invalid value {v:?}: unknown autoscaler class"),
        ));
    }
    scale_bounds(m, &mut errs);
    floats(m, &mut errs);
    durations(m, &mut errs);
    if let Some((k, metric)) = get(m, METRIC) {
        let ok = match class.unwrap_or(KPA) {
            KPA => matches!(metric, "concurrency" | "rps"),
            HPA => !metric.is_empty(),
            _ => true,
        };
        if !ok {
            errs.push(FieldError::new(
                k,
                format!(
                    "invalid value {metric:?}: metric is not supported by the autoscaler class"
                ),
            ));
        }
    }
    if class == Some(KPA)
        && let Some((k, v)) = get(m, ALGORITHM)
        && !v.is_empty()
        && !matches!(v, "linear" | "weighted-exponential" | "weightedExponential")
    {
        errs.push(FieldError::new(
            k,
            format!("invalid value {v:?}: must be linear or weighted-exponential"),
        ));
    }
    if let Some((k, v)) = get(m, INITIAL_SCALE) {
        match v.parse::<i64>() {
            Err(_) => errs.push(FieldError::new(
                k,
                format!("invalid value {v:?}: must be an integer"),
            )),
            Ok(n) if n < 0 => errs.push(FieldError::new(
                k,
                format!("initial-scale={n} must be greater than 0"),
            )),
            // 0 depends on the cluster's `allow-zero-initial-scale`: see
            // [`refuse_zero_initial_scale`], which admission calls with it.
            Ok(_) => {}
        }
    }
    errs
}

/// Knative's webhook refuses `initial-scale: 0` unless `config-autoscaler` has
/// `allow-zero-initial-scale: "true"`; this is that rule for a Service or Configuration
/// (template annotations) or a Revision (its own), with the path Knative reports. The
/// caller reads the cluster's setting; without it the rule does not apply.
pub fn refuse_zero_initial_scale(
    kind: crate::ServingKind,
    obj: &serde_json::Value,
) -> Vec<FieldError> {
    use crate::ServingKind;
    let (pointer, prefix) = match kind {
        ServingKind::Service | ServingKind::Configuration => (
            "/spec/template/metadata/annotations",
            "spec.template.metadata.annotations",
        ),
        ServingKind::Revision => ("/metadata/annotations", "metadata.annotations"),
        ServingKind::Route => return Vec::new(),
    };
    let Some(annotations) = obj.pointer(pointer).and_then(serde_json::Value::as_object) else {
        return Vec::new();
    };
    INITIAL_SCALE
        .iter()
        .find_map(|&k| {
            annotations
                .get(k)
                .and_then(serde_json::Value::as_str)
                .map(|v| (k, v))
        })
        .filter(|(_, v)| v.trim().parse::<i64>() == Ok(0))
        .map(|(k, _)| {
            FieldError::new(
                format!("{prefix}.{k}"),
                "initial-scale=0 not allowed by cluster",
            )
        })
        .into_iter()
        .collect()
}

/// A non-negative int32, as Knative's `getIntGE0`.
fn int_ge0(m: &Annotations, keys: &[&'static str], errs: &mut Vec<FieldError>) -> i64 {
    let Some((k, v)) = get(m, keys) else { return 0 };
    match v.parse::<i64>() {
        Ok(n) if (0..=i64::from(i32::MAX)).contains(&n) => n,
        Ok(_) => {
            errs.push(FieldError::new(
                k,
                format!("expected 0 <= {v} <= {}", i32::MAX),
            ));
            0
        }
        Err(_) => {
            errs.push(FieldError::new(
                k,
                format!("invalid value {v:?}: must be an integer"),
            ));
            0
        }
    }
}

fn scale_bounds(m: &Annotations, errs: &mut Vec<FieldError>) {
    let min = int_ge0(m, MIN_SCALE, errs);
    let max = int_ge0(m, MAX_SCALE, errs);
    if max != 0 && max < min {
        errs.push(FieldError::new(
            MAX_SCALE[0],
            format!("max-scale={max} is less than min-scale={min}"),
        ));
    }
    let Some((k, v)) = get(m, ACTIVATION_SCALE) else {
        return;
    };
    match v.parse::<i32>().map(i64::from) {
        Err(_) => errs.push(FieldError::new(
            k,
            format!("invalid value {v:?}: must be an integer"),
        )),
        Ok(act) if min > act => errs.push(FieldError::new(
            k,
            format!("min-scale={min} is greater than activation-scale={act}"),
        )),
        Ok(act) if max != 0 && max < act => errs.push(FieldError::new(
            k,
            format!("max-scale={max} is less than activation-scale={act}"),
        )),
        Ok(act) if act < 2 => errs.push(FieldError::new(
            k,
            format!("activation-scale={act} must be greater than 1"),
        )),
        Ok(_) => {}
    }
}

fn floats(m: &Annotations, errs: &mut Vec<FieldError>) {
    let ranged = [
        (PANIC_WINDOW, 1.0, 100.0),
        (PANIC_THRESHOLD, 110.0, 1000.0),
        (UTILIZATION, 1.0, 100.0),
    ];
    for (keys, lo, hi) in ranged {
        if let Some((k, v)) = get(m, keys) {
            match v.parse::<f64>() {
                Err(_) => errs.push(FieldError::new(
                    k,
                    format!("invalid value {v:?}: must be a number"),
                )),
                Ok(f) if !(lo..=hi).contains(&f) => {
                    errs.push(FieldError::new(k, format!("expected {lo} <= {v} <= {hi}")));
                }
                Ok(_) => {}
            }
        }
    }
    if let Some((k, v)) = get(m, TARGET) {
        match v.parse::<f64>() {
            Err(_) => errs.push(FieldError::new(
                k,
                format!("invalid value {v:?}: must be a number"),
            )),
            Ok(f) if f < 0.01 => errs.push(FieldError::new(
                k,
                format!("target {v} should be at least 0.01"),
            )),
            Ok(_) => {}
        }
    }
    if let Some((k, v)) = get(m, BURST) {
        #[allow(clippy::float_cmp)]
        let ok = v.parse::<f64>().is_ok_and(|f| f >= 0.0 || f == -1.0);
        if !ok {
            errs.push(FieldError::new(
                k,
                format!("invalid value {v:?}: must be -1 or a non-negative number"),
            ));
        }
    }
}

fn durations(m: &Annotations, errs: &mut Vec<FieldError>) {
    let bad = |k: &str, v: &str| {
        FieldError::new(
            k,
            format!("invalid value {v:?}: must be a duration such as 60s"),
        )
    };
    if let Some((k, v)) = get(m, WINDOW) {
        match parse_go_duration(v) {
            None => errs.push(bad(k, v)),
            Some(d) if !(WINDOW_MIN..=WINDOW_MAX).contains(&d) => {
                errs.push(FieldError::new(k, format!("expected 6s <= {v} <= 1h0m0s")));
            }
            Some(d) if d % SECOND != 0 => errs.push(FieldError::new(
                k,
                "must be specified with at most second precision",
            )),
            Some(_) => {}
        }
    }
    if let Some((k, v)) = get(m, RETENTION) {
        match parse_go_duration(v) {
            None => errs.push(bad(k, v)),
            Some(d) if !(0..=WINDOW_MAX).contains(&d) => {
                errs.push(FieldError::new(k, format!("expected 0s <= {v} <= 1h0m0s")));
            }
            Some(_) => {}
        }
    }
    if let Some((k, v)) = get(m, SCALE_DOWN_DELAY) {
        match parse_go_duration(v) {
            None => errs.push(bad(k, v)),
            Some(d) if !(0..=WINDOW_MAX).contains(&d) => {
                errs.push(FieldError::new(k, format!("expected 0s <= {v} <= 1h0m0s")));
            }
            Some(d) if d % SECOND != 0 => errs.push(FieldError::new(
                k,
                "must be specified with at most second precision",
            )),
            Some(_) => {}
        }
    }
}

/// Service and Configuration metadata must not carry autoscaling annotations: they only
/// take effect on the revision template.
pub fn validate_no_autoscaling_annotations(m: &Annotations) -> Vec<FieldError> {
    m.keys()
        .filter(|k| k.starts_with(GROUP))
        .map(|k| {
            FieldError::new(
                k.as_str(),
                "autoscaling annotations must be put under \"spec.template.metadata.annotations\" to work",
            )
        })
        .collect()
}
