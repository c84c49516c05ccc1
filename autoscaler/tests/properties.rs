//! Properties of the KPA decider and the simulator over generated inputs.

use std::collections::BTreeMap;
use std::time::Duration;

use autoscaler::{AutoscalerConfig, DeciderSpec, Kpa, RevisionScaling, simulate};
use proptest::prelude::*;

/// Knobs a generated spec varies.
#[derive(Debug, Clone)]
struct Knobs {
    window_secs: u64,
    panic_pct: u32,
    up_rate: f64,
    down_rate: f64,
    delay_secs: u64,
    activation: Option<u32>,
    cc: u32,
}

fn knobs() -> impl Strategy<Value = Knobs> {
    (
        6_u64..40,
        1_u32..=100,
        1.1_f64..20.0,
        1.1_f64..10.0,
        prop_oneof![Just(0_u64), 1_u64..20],
        prop_oneof![Just(None), (2_u32..6).prop_map(Some)],
        prop_oneof![Just(0_u32), 1_u32..50],
    )
        .prop_map(
            |(window_secs, panic_pct, up_rate, down_rate, delay_secs, activation, cc)| Knobs {
                window_secs,
                panic_pct,
                up_rate,
                down_rate,
                delay_secs,
                activation,
                cc,
            },
        )
}

fn spec(k: &Knobs) -> DeciderSpec {
    let config: BTreeMap<String, String> = [
        ("stable-window", format!("{}s", k.window_secs)),
        ("panic-window-percentage", k.panic_pct.to_string()),
        ("max-scale-up-rate", k.up_rate.to_string()),
        ("max-scale-down-rate", k.down_rate.to_string()),
        ("scale-down-delay", format!("{}s", k.delay_secs)),
    ]
    .into_iter()
    .map(|(key, v)| (key.to_owned(), v))
    .collect();
    let config = AutoscalerConfig::from_configmap_data(&config).unwrap();
    let mut anns = BTreeMap::new();
    if let Some(a) = k.activation {
        anns.insert(
            "autoscaling.knative.dev/activation-scale".to_owned(),
            a.to_string(),
        );
    }
    DeciderSpec::new(
        &RevisionScaling::resolve(&config, &anns, k.cc).unwrap(),
        true,
    )
}

/// One second of load: the metric (or no data) and the ready pods.
fn seconds(max_len: usize) -> impl Strategy<Value = Vec<(Option<f64>, u32)>> {
    proptest::collection::vec(
        (
            prop_oneof![1 => Just(None), 4 => (0.0_f64..2000.0).prop_map(Some)],
            0_u32..40,
        ),
        1..max_len,
    )
}

/// Runs the trace the way `simulate` does, yielding `(second, ready, decision)`.
fn run(spec: DeciderSpec, trace: &[(Option<f64>, u32)]) -> Vec<(u64, u32, autoscaler::Decision)> {
    let mut kpa = Kpa::new(spec, trace[0].1, Duration::ZERO);
    let mut out = Vec::new();
    for (second, &(value, ready)) in (0_u64..).zip(trace) {
        let now = Duration::from_secs(second);
        if let Some(v) = value {
            kpa.record(now, v);
        }
        if second > 0
            && second % 2 == 0
            && let Some(d) = kpa.decide(now, ready)
        {
            out.push((second, ready, d));
        }
    }
    out
}

proptest! {
    /// Nothing is recommended above the largest up-rate bound seen so far,
    /// the pods it started with (the startup panic hold), or activation-scale.
    #[test]
    fn desired_never_exceeds_the_up_rate_bound(k in knobs(), trace in seconds(200)) {
        let spec = spec(&k);
        let mut bound = u64::from(trace[0].1).max(u64::from(k.activation.unwrap_or(0)));
        for (second, ready, d) in run(spec, &trace) {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let up = (k.up_rate * f64::from(ready.max(1))).ceil() as u64;
            bound = bound.max(up);
            prop_assert!(u64::from(d.desired_pods) <= bound, "t={second}: {} > {bound}", d.desired_pods);
        }
    }

    /// While panicking (and without a scale-down delay) the recommendation
    /// never goes down.
    #[test]
    fn in_panic_desired_never_decreases(mut k in knobs(), trace in seconds(200)) {
        k.delay_secs = 0;
        let decisions = run(spec(&k), &trace);
        for pair in decisions.windows(2) {
            let ((_, _, a), (t, _, b)) = (pair[0], pair[1]);
            if a.panic && b.panic {
                prop_assert!(b.desired_pods >= a.desired_pods, "t={t}: {} < {}", b.desired_pods, a.desired_pods);
            }
        }
    }

    /// A constant load `c` on `ready` pods recommends `ceil(c / target)`
    /// within the rate bounds, at every tick (the partial-window mean of a
    /// constant is the constant), including after a full window.
    #[test]
    fn constant_load_gives_ceil_over_target(
        mut k in knobs(), quarter in 0_u32..40_000, ready in 0_u32..30,
    ) {
        k.activation = None;
        let c = f64::from(quarter) / 4.0;
        let spec = spec(&k);
        let target = spec.target;
        let trace = vec![(Some(c), ready); usize::try_from(k.window_secs * 2 + 3).unwrap()];
        // Start from one pod so the startup panic hold does not apply.
        let mut first = trace.clone();
        first[0].1 = 1;
        let r = f64::from(ready.max(1));
        let lo = (r / k.down_rate).floor();
        let hi = (k.up_rate * r).ceil();
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let want = (c / target).ceil().max(lo).min(hi) as u32;
        for (second, _, d) in run(spec, &first) {
            prop_assert_eq!(d.observed_stable, c);
            prop_assert_eq!(d.desired_pods, want, "t={}", second);
        }
    }

    /// `simulate` returns an error or CSV for any text, never panics.
    #[test]
    fn simulate_never_panics_on_arbitrary_text(text in ".{0,400}") {
        let _ = simulate(&text, &[], &[]);
        let with_header = format!("second,concurrency,ready_pods\n{text}");
        let _ = simulate(&with_header, &[], &[]);
    }

    /// Nor on well-formed traces with arbitrary settings, valid or not.
    #[test]
    fn simulate_never_panics_on_arbitrary_settings(
        rows in proptest::collection::vec((prop_oneof![Just(String::new()), "[0-9]{1,6}(\\.[0-9]{1,3})?"], 0_u32..5000), 0..150),
        config in proptest::collection::vec((config_key(), value()), 0..4),
        annotations in proptest::collection::vec((annotation_key(), value()), 0..4),
    ) {
        let mut trace = "second,concurrency,ready_pods\n".to_owned();
        for (i, (c, r)) in rows.iter().enumerate() {
            trace.push_str(&format!("{i},{c},{r}\n"));
        }
        if let Ok(out) = simulate(&trace, &config, &annotations) {
            let mut lines = out.lines();
            prop_assert_eq!(lines.next(), Some(autoscaler::OUTPUT_HEADER));
            prop_assert!(lines.count() <= rows.len() / 2);
        }
    }
}

fn config_key() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(autoscaler::CONFIG_KEYS.to_vec()).prop_map(str::to_owned),
        "[a-z-]{1,12}",
    ]
}

fn annotation_key() -> impl Strategy<Value = String> {
    proptest::sample::select(vec![
        "target",
        "target-utilization-percentage",
        "metric",
        "window",
        "panic-window-percentage",
        "panic-threshold-percentage",
        "target-burst-capacity",
        "min-scale",
        "max-scale",
        "initial-scale",
        "activation-scale",
        "scale-down-delay",
        "scale-to-zero-pod-retention-period",
        "containerConcurrency",
        "bogus",
    ])
    .prop_map(str::to_owned)
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "-?[0-9]{1,12}(\\.[0-9]{1,4})?",
        "[0-9]{1,4}(ns|us|ms|s|m|h)",
        proptest::sample::select(vec![
            "rps",
            "concurrency",
            "true",
            "Inf",
            "NaN",
            "",
            "1e308",
            "-1"
        ])
        .prop_map(str::to_owned),
    ]
}
