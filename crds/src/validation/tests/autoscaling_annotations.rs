use std::collections::BTreeMap;

use crate::validation::validate_autoscaling_annotations;

fn check(pairs: &[(&str, &str)]) -> Vec<String> {
    let m: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (format!("autoscaling.knative.dev/{k}"), (*v).to_owned()))
        .collect();
    validate_autoscaling_annotations(&m)
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn valid_set_passes() {
    let errs = check(&[
        ("min-scale", "1"),
        ("max-scale", "10"),
        ("initial-scale", "2"),
        ("target", "50"),
        ("target-utilization-percentage", "70"),
        ("target-burst-capacity", "-1"),
        ("window", "60s"),
        ("panic-window-percentage", "10"),
        ("panic-threshold-percentage", "200"),
        ("scale-down-delay", "15m"),
        ("scale-to-zero-pod-retention-period", "1m5s"),
        ("metric", "rps"),
        ("activation-scale", "3"),
    ]);
    assert!(errs.is_empty(), "{errs:?}");
}

#[test]
fn min_scale_above_max_scale() {
    assert_eq!(
        check(&[("min-scale", "5"), ("max-scale", "2")]),
        ["autoscaling.knative.dev/max-scale: max-scale=2 is less than min-scale=5"]
    );
    assert!(
        check(&[("min-scale", "5"), ("max-scale", "0")]).is_empty(),
        "0 = unlimited"
    );
}

#[test]
fn scales_are_non_negative_integers() {
    assert_eq!(
        check(&[("min-scale", "x")]),
        ["autoscaling.knative.dev/min-scale: invalid value \"x\": must be an integer"]
    );
    assert_eq!(
        check(&[("maxScale", "-1")]),
        ["autoscaling.knative.dev/maxScale: expected 0 <= -1 <= 2147483647"]
    );
}

#[test]
fn target_must_be_positive() {
    assert_eq!(
        check(&[("target", "0")]),
        ["autoscaling.knative.dev/target: target 0 should be at least 0.01"]
    );
}

#[test]
fn window_bounds_and_precision() {
    assert_eq!(
        check(&[("window", "5s")]),
        ["autoscaling.knative.dev/window: expected 6s <= 5s <= 1h0m0s"]
    );
    assert_eq!(
        check(&[("window", "2h")]),
        ["autoscaling.knative.dev/window: expected 6s <= 2h <= 1h0m0s"]
    );
    assert_eq!(
        check(&[("window", "6500ms")]),
        ["autoscaling.knative.dev/window: must be specified with at most second precision"]
    );
    assert_eq!(check(&[("window", "soon")]).len(), 1);
}

#[test]
fn percentages_in_range() {
    assert_eq!(check(&[("target-utilization-percentage", "101")]).len(), 1);
    assert_eq!(check(&[("panic-threshold-percentage", "100")]).len(), 1);
    assert_eq!(check(&[("panic-window-percentage", "0.5")]).len(), 1);
    assert_eq!(check(&[("target-burst-capacity", "-2")]).len(), 1);
}

#[test]
fn initial_scale_zero_is_the_clusters_call() {
    // The annotation rules accept 0; whether the cluster allows it is a separate rule.
    assert!(check(&[("initial-scale", "0")]).is_empty());
    let service = serde_json::json!({"spec": {"template": {"metadata": {"annotations": {
        "autoscaling.knative.dev/initial-scale": "0"}}}}});
    let errs = crate::validation::refuse_zero_initial_scale(crate::ServingKind::Service, &service);
    assert_eq!(errs.len(), 1);
    assert_eq!(
        errs[0].field,
        "spec.template.metadata.annotations.autoscaling.knative.dev/initial-scale"
    );
    assert_eq!(errs[0].message, "initial-scale=0 not allowed by cluster");
    let revision = serde_json::json!({"metadata": {"annotations": {
        "autoscaling.knative.dev/initialScale": "1"}}});
    assert!(
        crate::validation::refuse_zero_initial_scale(crate::ServingKind::Revision, &revision)
            .is_empty()
    );
}

#[test]
fn metric_and_class() {
    assert_eq!(
        check(&[("metric", "cpu")]).len(),
        1,
        "KPA supports concurrency and rps only"
    );
    assert!(check(&[("class", "hpa.autoscaling.knative.dev"), ("metric", "cpu")]).is_empty());
    assert_eq!(check(&[("class", "foo.knative.dev")]).len(), 1);
    assert!(check(&[("class", "example.com/custom")]).is_empty());
}

#[test]
fn activation_scale_rules() {
    assert_eq!(
        check(&[("activation-scale", "1")]),
        ["autoscaling.knative.dev/activation-scale: activation-scale=1 must be greater than 1"]
    );
    assert_eq!(
        check(&[("min-scale", "4"), ("activation-scale", "3")]).len(),
        1
    );
    assert_eq!(
        check(&[("max-scale", "2"), ("activation-scale", "3")]).len(),
        1
    );
}
