use super::*;

fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|&(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn parse(pairs: &[(&str, &str)]) -> Result<AutoscalerConfig, ConfigError> {
    AutoscalerConfig::from_configmap_data(&data(pairs))
}

fn error(pairs: &[(&str, &str)]) -> String {
    parse(pairs).unwrap_err().to_string()
}

#[test]
fn empty_data_is_knatives_defaults() {
    let c = parse(&[]).unwrap();
    assert_eq!(c, AutoscalerConfig::default());
    assert_eq!(c.container_concurrency_target_fraction, 0.7);
    assert_eq!(c.container_concurrency_target_default, 100.0);
    assert_eq!(c.rps_target_default, 200.0);
    assert_eq!(c.target_burst_capacity, 211.0);
    assert_eq!(c.stable_window, Duration::from_secs(60));
    assert_eq!(c.panic_window_percentage, 10.0);
    assert_eq!(c.panic_threshold_percentage, 200.0);
    assert_eq!((c.max_scale_up_rate, c.max_scale_down_rate), (1000.0, 2.0));
    assert!(c.enable_scale_to_zero && !c.allow_zero_initial_scale);
    assert_eq!(c.scale_to_zero_grace_period, Duration::from_secs(30));
    assert_eq!(c.scale_to_zero_pod_retention_period, Duration::ZERO);
    assert_eq!(c.activator_capacity, 100.0);
    assert_eq!(
        (c.initial_scale, c.min_scale, c.max_scale, c.max_scale_limit),
        (1, 0, 0, 0)
    );
    assert_eq!(c.scale_down_delay, Duration::ZERO);
    assert_eq!(c.pod_autoscaler_class, KPA_CLASS);
}

#[test]
fn knatives_example_block_parses_and_unknown_keys_are_ignored() {
    let c = parse(&[
        ("_example", "whatever"),
        ("container-concurrency-target-percentage", "70"),
        ("panic-window-percentage", "10.0"),
        ("panic-threshold-percentage", "200.0"),
        ("max-scale-up-rate", "1000.0"),
        ("stable-window", "60s"),
        ("enable-scale-to-zero", "true"),
        ("activator-capacity", "100.0"),
        ("no-such-key", "1"),
    ])
    .unwrap();
    assert_eq!(c, AutoscalerConfig::default());
}

#[test]
fn overrides_apply() {
    let c = parse(&[
        ("stable-window", "1m30s"),
        ("scale-down-delay", "10s"),
        ("enable-scale-to-zero", "F"),
        ("target-burst-capacity", "-1"),
        ("max-scale", "10"),
        ("max-scale-limit", "20"),
        ("min-scale", "2"),
        ("initial-scale", "0"),
        ("allow-zero-initial-scale", "true"),
    ])
    .unwrap();
    assert_eq!(c.stable_window, Duration::from_secs(90));
    assert_eq!(c.scale_down_delay, Duration::from_secs(10));
    assert!(!c.enable_scale_to_zero);
    assert_eq!(c.target_burst_capacity, -1.0);
    assert_eq!(
        (c.min_scale, c.max_scale, c.max_scale_limit, c.initial_scale),
        (2, 10, 20, 0)
    );
}

#[test]
fn target_percentage_accepts_legacy_fractions() {
    let pct = parse(&[("container-concurrency-target-percentage", "80")]).unwrap();
    let frac = parse(&[("container-concurrency-target-percentage", "0.8")]).unwrap();
    assert_eq!(pct.container_concurrency_target_fraction, 0.8);
    assert_eq!(frac.container_concurrency_target_fraction, 0.8);
    // 1.0 is a fraction (100%), 1.5 is a percentage (1.5%).
    let one = parse(&[("container-concurrency-target-percentage", "1")]).unwrap();
    assert_eq!(one.container_concurrency_target_fraction, 1.0);
    let small = parse(&[("container-concurrency-target-percentage", "1.5")]).unwrap();
    assert_eq!(small.container_concurrency_target_fraction, 0.015);
}

#[test]
fn errors_name_the_key_and_the_rule() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("stable-window", "2s")],
            "stable-window: must be between 6s and 1h, got 2s",
        ),
        (
            &[("stable-window", "2h")],
            "stable-window: must be between 6s and 1h, got 2h",
        ),
        (
            &[("stable-window", "6500ms")],
            "stable-window: must be whole seconds, got 6500ms",
        ),
        (
            &[("stable-window", "60")],
            "stable-window: \"60\" is not a duration (e.g. 30s, 1m30s)",
        ),
        (
            &[("scale-to-zero-grace-period", "0s")],
            "scale-to-zero-grace-period: must be positive, got 0s",
        ),
        (
            &[("scale-down-delay", "-1s")],
            "scale-down-delay: cannot be negative, got -1s",
        ),
        (
            &[("scale-down-delay", "1.5s")],
            "scale-down-delay: must be whole seconds, got 1.5s",
        ),
        (
            &[("scale-to-zero-pod-retention-period", "-1m")],
            "scale-to-zero-pod-retention-period: cannot be negative, got -1m",
        ),
        (
            &[("target-burst-capacity", "-2")],
            "target-burst-capacity: must be at least 0, or -1 for unlimited, got -2",
        ),
        (
            &[("container-concurrency-target-percentage", "0")],
            "container-concurrency-target-percentage: must be in (0, 100], got 0",
        ),
        (
            &[("container-concurrency-target-percentage", "101")],
            "container-concurrency-target-percentage: must be in (0, 100], got 101",
        ),
        (
            &[("container-concurrency-target-default", "0.01")],
            "container-concurrency-target-default: times container-concurrency-target-percentage (0.7) \
             must be at least 0.01, got 0.01",
        ),
        (
            &[("requests-per-second-target-default", "0")],
            "requests-per-second-target-default: must be at least 0.01, got 0",
        ),
        (
            &[("activator-capacity", "0.5")],
            "activator-capacity: must be at least 1, got 0.5",
        ),
        (
            &[("max-scale-up-rate", "1")],
            "max-scale-up-rate: must be greater than 1, got 1",
        ),
        (
            &[("max-scale-down-rate", "1.0")],
            "max-scale-down-rate: must be greater than 1, got 1.0",
        ),
        (
            &[("max-scale-up-rate", "Inf")],
            "max-scale-up-rate: \"Inf\" is not a finite number",
        ),
        (
            &[("panic-window-percentage", "0.5")],
            "panic-window-percentage: must be between 1 and 100, got 0.5",
        ),
        (
            &[("initial-scale", "0")],
            "initial-scale: must be at least 1 (or 0 when allow-zero-initial-scale is true), got 0",
        ),
        (
            &[("min-scale", "-1")],
            "min-scale: must be at least 0, got -1",
        ),
        (
            &[("max-scale", "-1")],
            "max-scale: must be in [0, max-scale-limit (0)], got -1",
        ),
        (
            &[("max-scale-limit", "5")],
            "max-scale: must be in [1, max-scale-limit (5)], got 0",
        ),
        (
            &[("max-scale-limit", "5"), ("max-scale", "6")],
            "max-scale: must be in [1, max-scale-limit (5)], got 6",
        ),
        (
            &[("max-scale-limit", "-5")],
            "max-scale-limit: must be at least 0, got -5",
        ),
        (
            &[("min-scale", "4"), ("max-scale", "3")],
            "min-scale: must not exceed max-scale (3), got 4",
        ),
        (
            &[("enable-scale-to-zero", "yes")],
            "enable-scale-to-zero: \"yes\" is not a boolean",
        ),
        (
            &[("min-scale", "1.0")],
            "min-scale: \"1.0\" is not a 32-bit integer",
        ),
    ];
    for (pairs, want) in cases {
        assert_eq!(error(pairs), *want, "{pairs:?}");
    }
}

#[test]
fn error_key_accessor() {
    let err = parse(&[("stable-window", "1s")]).unwrap_err();
    assert_eq!(err.key(), "stable-window");
}

#[test]
fn panic_threshold_is_not_validated_in_the_configmap() {
    // Knative bounds the annotation (110..=1000) but not the ConfigMap key.
    let c = parse(&[("panic-threshold-percentage", "50")]).unwrap();
    assert_eq!(c.panic_threshold_percentage, 50.0);
}

#[test]
fn min_scale_above_unlimited_max_is_fine() {
    assert!(parse(&[("min-scale", "7")]).is_ok());
}
