use super::*;

fn anns(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|&(k, v)| (format!("autoscaling.knative.dev/{k}"), v.to_owned()))
        .collect()
}

fn resolve(pairs: &[(&str, &str)], cc: u32) -> Result<RevisionScaling, AnnotationError> {
    RevisionScaling::resolve(&AutoscalerConfig::default(), &anns(pairs), cc)
}

fn error(pairs: &[(&str, &str)]) -> String {
    resolve(pairs, 0).unwrap_err().to_string()
}

#[test]
fn defaults_without_annotations() {
    let s = resolve(&[], 0).unwrap();
    assert_eq!(s.metric, ScalingMetric::Concurrency);
    assert_eq!(s.total, 100.0);
    assert_eq!(s.target, 70.0);
    assert_eq!(s.target_burst_capacity, 211.0);
    assert_eq!(s.stable_window, Duration::from_secs(60));
    assert_eq!(s.panic_window, Duration::from_secs(6));
    assert_eq!(s.panic_threshold_percentage, 200.0);
    assert_eq!((s.min_scale, s.max_scale, s.initial_scale), (0, 0, 1));
    assert_eq!(s.activation_scale, None);
    assert_eq!(s.scale_down_delay, Duration::ZERO);
}

#[test]
fn container_concurrency_is_the_per_pod_total() {
    let s = resolve(&[], 10).unwrap();
    assert_eq!((s.total, s.target), (10.0, 7.0));
}

#[test]
fn target_annotation_overrides_but_is_capped_at_cc() {
    let s = resolve(&[("target", "50")], 0).unwrap();
    assert_eq!((s.total, s.target), (50.0, 35.0));
    let s = resolve(&[("target", "50")], 20).unwrap();
    assert_eq!((s.total, s.target), (20.0, 14.0));
    let s = resolve(&[("target", "5")], 20).unwrap();
    assert_eq!((s.total, s.target), (5.0, 3.5));
}

#[test]
fn utilization_annotation_and_target_floor() {
    let s = resolve(
        &[("target", "10"), ("target-utilization-percentage", "50")],
        0,
    )
    .unwrap();
    assert_eq!(s.target, 5.0);
    // 0.01 × 1% = 0.0001 → lifted to TargetMin.
    let s = resolve(
        &[("target", "0.01"), ("target-utilization-percentage", "1")],
        0,
    )
    .unwrap();
    assert_eq!(s.target, 0.01);
}

#[test]
fn rps_uses_its_own_default_and_fixed_utilization() {
    // cc is irrelevant for rps, and container-concurrency-target-percentage
    // does not apply: Knative's TargetUtilization is a fixed 0.7.
    let config = AutoscalerConfig::from_configmap_data(
        &[(
            "container-concurrency-target-percentage".to_owned(),
            "50".to_owned(),
        )]
        .into(),
    )
    .unwrap();
    let s = RevisionScaling::resolve(&config, &anns(&[("metric", "rps")]), 10).unwrap();
    assert_eq!(s.metric, ScalingMetric::Rps);
    assert_eq!((s.total, s.target), (200.0, 140.0));
    // The target annotation is not capped by cc for rps.
    let s = RevisionScaling::resolve(&config, &anns(&[("metric", "rps"), ("target", "50")]), 10)
        .unwrap();
    assert_eq!(s.total, 50.0);
}

#[test]
fn window_overrides_move_the_panic_window() {
    let s = resolve(&[("window", "2m"), ("panic-window-percentage", "5")], 0).unwrap();
    assert_eq!(s.stable_window, Duration::from_secs(120));
    assert_eq!(s.panic_window, Duration::from_secs(6));
    // 6 s × 10% = 0.6 s → rounds to 1 s; 15 s × 10% = 1.5 s → 2 s (half up).
    assert_eq!(
        resolve(&[("window", "6s")], 0).unwrap().panic_window,
        Duration::from_secs(1)
    );
    assert_eq!(
        resolve(&[("window", "15s")], 0).unwrap().panic_window,
        Duration::from_secs(2)
    );
    // 7 s × 1% = 0.07 s → 0 → lifted to the 1 s bucket.
    let s = resolve(&[("window", "7s"), ("panic-window-percentage", "1")], 0).unwrap();
    assert_eq!(s.panic_window, Duration::from_secs(1));
}

#[test]
fn the_other_knobs() {
    let s = resolve(
        &[
            ("panic-threshold-percentage", "150"),
            ("target-burst-capacity", "-1"),
            ("min-scale", "1"),
            ("max-scale", "5"),
            ("initial-scale", "3"),
            ("activation-scale", "2"),
            ("scale-down-delay", "30s"),
            ("scale-to-zero-pod-retention-period", "1m"),
        ],
        0,
    )
    .unwrap();
    assert_eq!(s.panic_threshold_percentage, 150.0);
    assert_eq!(s.target_burst_capacity, -1.0);
    assert_eq!((s.min_scale, s.max_scale, s.initial_scale), (1, 5, 3));
    assert_eq!(s.activation_scale, Some(2));
    assert_eq!(s.scale_down_delay, Duration::from_secs(30));
    assert_eq!(
        s.scale_to_zero_pod_retention_period,
        Duration::from_secs(60)
    );
}

#[test]
fn legacy_camel_case_keys_still_work() {
    let s = resolve(
        &[
            ("minScale", "2"),
            ("maxScale", "4"),
            ("scaleDownDelay", "4s"),
        ],
        0,
    )
    .unwrap();
    assert_eq!((s.min_scale, s.max_scale), (2, 4));
    assert_eq!(s.scale_down_delay, Duration::from_secs(4));
}

#[test]
fn zero_initial_scale_needs_the_cluster_switch() {
    assert!(resolve(&[("initial-scale", "0")], 0).is_err());
    let config = AutoscalerConfig::from_configmap_data(
        &[("allow-zero-initial-scale".to_owned(), "true".to_owned())].into(),
    )
    .unwrap();
    let s = RevisionScaling::resolve(&config, &anns(&[("initial-scale", "0")]), 0).unwrap();
    assert_eq!(s.initial_scale, 0);
}

#[test]
fn config_defaults_fill_in_bounds() {
    let config = AutoscalerConfig::from_configmap_data(
        &[
            ("min-scale".to_owned(), "2".to_owned()),
            ("max-scale".to_owned(), "9".to_owned()),
        ]
        .into(),
    )
    .unwrap();
    let s = RevisionScaling::resolve(&config, &BTreeMap::new(), 0).unwrap();
    assert_eq!((s.min_scale, s.max_scale), (2, 9));
}

#[test]
fn unrelated_and_unknown_annotations_are_ignored() {
    let mut a = anns(&[("no-such-knob", "1")]);
    a.insert("serving.knative.dev/creator".to_owned(), "me".to_owned());
    assert!(RevisionScaling::resolve(&AutoscalerConfig::default(), &a, 0).is_ok());
}

#[test]
fn errors_name_the_annotation() {
    const P: &str = "autoscaling.knative.dev/";
    let cases: &[(&[(&str, &str)], String)] = &[
        (
            &[("min-scale", "-1")],
            format!("{P}min-scale: must be at least 0, got -1"),
        ),
        (
            &[("max-scale", "x")],
            format!("{P}max-scale: \"x\" is not a 32-bit integer"),
        ),
        (
            &[("min-scale", "3"), ("max-scale", "2")],
            format!("{P}max-scale: must not be less than min-scale (3), got 2"),
        ),
        (
            &[("activation-scale", "1")],
            format!("{P}activation-scale: must be at least 2, got 1"),
        ),
        (
            &[("activation-scale", "5"), ("max-scale", "3")],
            format!("{P}activation-scale: must not exceed max-scale (3), got 5"),
        ),
        (
            &[("activation-scale", "2"), ("min-scale", "3")],
            format!("{P}activation-scale: must not be less than min-scale (3), got 2"),
        ),
        (
            &[("panic-window-percentage", "0.5")],
            format!("{P}panic-window-percentage: must be between 1 and 100, got 0.5"),
        ),
        (
            &[("panic-threshold-percentage", "100")],
            format!("{P}panic-threshold-percentage: must be between 110 and 1000, got 100"),
        ),
        (
            &[("target", "0")],
            format!("{P}target: must be at least 0.01, got 0"),
        ),
        (
            &[("target-utilization-percentage", "101")],
            format!("{P}target-utilization-percentage: must be between 1 and 100, got 101"),
        ),
        (
            &[("target-burst-capacity", "-2")],
            format!("{P}target-burst-capacity: must be at least 0, or -1 for unlimited, got -2"),
        ),
        (
            &[("window", "5s")],
            format!("{P}window: must be between 6s and 1h, got 5s"),
        ),
        (
            &[("window", "6.5s")],
            format!("{P}window: must be whole seconds, got 6.5s"),
        ),
        (
            &[("window", "sixty")],
            format!("{P}window: \"sixty\" is not a duration (e.g. 30s, 1m30s)"),
        ),
        (
            &[("scale-down-delay", "2h")],
            format!("{P}scale-down-delay: must be between 0s and 1h, got 2h"),
        ),
        (
            &[("scale-to-zero-pod-retention-period", "-1s")],
            format!("{P}scale-to-zero-pod-retention-period: must be between 0s and 1h, got -1s"),
        ),
        (
            &[("metric", "cpu")],
            format!("{P}metric: must be concurrency or rps for the KPA, got cpu"),
        ),
        (
            &[("class", "hpa.autoscaling.knative.dev")],
            format!(
                "{P}class: only the KPA (kpa.autoscaling.knative.dev) is implemented, got hpa.autoscaling.knative.dev"
            ),
        ),
        (
            &[("metric-aggregation-algorithm", "weightedExponential")],
            format!(
                "{P}metric-aggregation-algorithm: only linear is implemented, got weightedExponential"
            ),
        ),
        (
            &[("initial-scale", "0")],
            format!(
                "{P}initial-scale: 0 is not allowed unless allow-zero-initial-scale is true, got 0"
            ),
        ),
        (
            &[("minScale", "-3")],
            format!("{P}minScale: must be at least 0, got -3"),
        ),
    ];
    for (pairs, want) in cases {
        assert_eq!(&error(pairs), want, "{pairs:?}");
    }
}

#[test]
fn max_scale_limit_applies_to_the_annotation() {
    let config = AutoscalerConfig::from_configmap_data(
        &[
            ("max-scale-limit".to_owned(), "10".to_owned()),
            ("max-scale".to_owned(), "5".to_owned()),
        ]
        .into(),
    )
    .unwrap();
    let err = RevisionScaling::resolve(&config, &anns(&[("max-scale", "0")]), 0).unwrap_err();
    assert_eq!(err.key(), "autoscaling.knative.dev/max-scale");
    assert!(RevisionScaling::resolve(&config, &anns(&[("max-scale", "11")]), 0).is_err());
    assert!(RevisionScaling::resolve(&config, &anns(&[("max-scale", "10")]), 0).is_ok());
}
