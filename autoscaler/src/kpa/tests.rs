use std::collections::BTreeMap;

use super::*;
use crate::config::AutoscalerConfig;

const fn s(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

/// A spec from ConfigMap pairs and annotation pairs (prefix omitted).
fn spec_with(config: &[(&str, &str)], annotations: &[(&str, &str)], cc: u32) -> DeciderSpec {
    let data: BTreeMap<String, String> = config
        .iter()
        .map(|&(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let config = AutoscalerConfig::from_configmap_data(&data).unwrap();
    let anns: BTreeMap<String, String> = annotations
        .iter()
        .map(|&(k, v)| (format!("autoscaling.knative.dev/{k}"), v.to_owned()))
        .collect();
    DeciderSpec::new(&RevisionScaling::resolve(&config, &anns, cc).unwrap(), true)
}

fn default_spec() -> DeciderSpec {
    spec_with(&[], &[], 0)
}

/// Records `value` for every second in `from..=to`.
fn feed(kpa: &mut Kpa, from: u64, to: u64, value: f64) {
    for sec in from..=to {
        kpa.record(s(sec), value);
    }
}

fn desired(kpa: &mut Kpa, now: u64, ready: u32) -> u32 {
    kpa.decide(s(now), ready).unwrap().desired_pods
}

// === windows ===

#[test]
fn partial_window_uses_the_mean_since_first_data() {
    let mut kpa = Kpa::new(default_spec(), 1, s(0));
    for (sec, v) in [(0, 10.0), (1, 20.0), (2, 30.0), (3, 40.0), (4, 50.0)] {
        kpa.record(s(sec), v);
    }
    let d = kpa.decide(s(4), 1).unwrap();
    assert_eq!(d.observed_stable, 30.0, "mean of 5 buckets, not of 60");
    // Panic window is 6 s: also still partial, also 30.
    assert_eq!(d.observed_panic, 30.0);
}

#[test]
fn full_window_is_the_mean_over_the_window() {
    let mut kpa = Kpa::new(spec_with(&[("stable-window", "10s")], &[], 0), 1, s(0));
    feed(&mut kpa, 0, 9, 100.0);
    feed(&mut kpa, 10, 19, 0.0);
    // Seconds 10..=19 are in the window, all zero; panic window (1 s) too.
    let d = kpa.decide(s(19), 1).unwrap();
    assert_eq!((d.observed_stable, d.desired_pods), (0.0, 0));
    let mut kpa = Kpa::new(spec_with(&[("stable-window", "10s")], &[], 0), 1, s(0));
    feed(&mut kpa, 0, 9, 100.0);
    feed(&mut kpa, 10, 14, 0.0);
    assert_eq!(kpa.decide(s(14), 1).unwrap().observed_stable, 50.0);
}

// === ceil(observed / target) ===

#[test]
fn desired_is_ceil_of_stable_over_target() {
    for (concurrency, want) in [
        (0.0, 0),
        (0.5, 1),
        (70.0, 1),
        (70.5, 2),
        (140.0, 2),
        (141.0, 3),
    ] {
        let mut kpa = Kpa::new(default_spec(), 1, s(0));
        feed(&mut kpa, 0, 2, concurrency);
        // 3 ready pods keep the panic ratio below 2 for all of these.
        assert_eq!(desired(&mut kpa, 2, 3), want.max(1), "{concurrency}");
    }
}

#[test]
fn zero_load_on_one_pod_goes_to_zero_at_once() {
    // maxScaleDown = floor(1 / 2) = 0, so nothing holds the single pod.
    let mut kpa = Kpa::new(default_spec(), 1, s(0));
    feed(&mut kpa, 0, 2, 0.0);
    let d = kpa.decide(s(2), 1).unwrap();
    assert_eq!((d.desired_pods, d.panic), (0, false));
}

#[test]
fn containerconcurrency_and_target_annotation_change_the_target() {
    // cc 10 → target 7; 20 in flight → 3 pods.
    let mut kpa = Kpa::new(spec_with(&[], &[], 10), 1, s(0));
    feed(&mut kpa, 0, 2, 20.0);
    assert_eq!(desired(&mut kpa, 2, 2), 3);
    // target 10 at 100% utilization → exactly 2 pods for 20.
    let spec = spec_with(
        &[],
        &[("target", "10"), ("target-utilization-percentage", "100")],
        0,
    );
    let mut kpa = Kpa::new(spec, 1, s(0));
    feed(&mut kpa, 0, 2, 20.0);
    assert_eq!(desired(&mut kpa, 2, 2), 2);
}

// === rate limits ===

#[test]
fn scale_up_is_bounded_by_the_up_rate() {
    let spec = spec_with(&[("max-scale-up-rate", "2")], &[], 0);
    let mut kpa = Kpa::new(spec, 1, s(0));
    feed(&mut kpa, 0, 2, 700.0); // wants 10
    assert_eq!(desired(&mut kpa, 2, 3), 6, "ceil(2 × 3)");
}

#[test]
fn a_cautious_up_rate_still_adds_a_pod() {
    let spec = spec_with(&[("max-scale-up-rate", "1.1")], &[], 0);
    let mut kpa = Kpa::new(spec, 1, s(0));
    feed(&mut kpa, 0, 2, 700.0);
    assert_eq!(desired(&mut kpa, 2, 3), 4, "ceil(1.1 × 3) = 4, not 3");
}

#[test]
fn scale_down_is_bounded_by_the_down_rate() {
    let mut kpa = Kpa::new(default_spec(), 1, s(0));
    feed(&mut kpa, 0, 2, 0.0);
    assert_eq!(desired(&mut kpa, 2, 10), 5, "floor(10 / 2)");
    assert_eq!(desired(&mut kpa, 2, 5), 2, "floor(5 / 2)");
}

#[test]
fn unreachable_revisions_may_drop_to_zero_at_once() {
    let mut kpa = Kpa::new(default_spec(), 1, s(0));
    kpa.set_reachable(false);
    feed(&mut kpa, 0, 2, 0.0);
    assert_eq!(desired(&mut kpa, 2, 10), 0);
}

// === panic mode ===

#[test]
fn panic_starts_when_panic_pods_reach_twice_ready() {
    // 139 → ceil(139/70) = 2 = 2 × 1 ready: exactly at the threshold enters.
    let mut kpa = Kpa::new(default_spec(), 1, s(0));
    feed(&mut kpa, 0, 2, 139.0);
    assert!(kpa.decide(s(2), 1).unwrap().panic);
    // 139 on 2 ready: ratio 1, no panic.
    let mut kpa = Kpa::new(default_spec(), 1, s(0));
    feed(&mut kpa, 0, 2, 139.0);
    assert!(!kpa.decide(s(2), 2).unwrap().panic);
}

#[test]
fn panic_threshold_annotation() {
    let spec = spec_with(&[], &[("panic-threshold-percentage", "150")], 0);
    let mut kpa = Kpa::new(spec, 1, s(0));
    feed(&mut kpa, 0, 2, 210.0); // 3 pods wanted on 2 ready: 1.5
    assert!(kpa.decide(s(2), 2).unwrap().panic);
}

#[test]
fn panic_extends_while_over_and_ends_a_stable_window_after() {
    let spec = spec_with(&[("stable-window", "10s")], &[], 0); // panic window 1 s
    let mut kpa = Kpa::new(spec, 1, s(0));
    feed(&mut kpa, 0, 2, 700.0);
    assert!(kpa.decide(s(2), 1).unwrap().panic); // enters at 2
    feed(&mut kpa, 3, 4, 700.0);
    assert!(kpa.decide(s(4), 1).unwrap().panic); // still over: extends to 4
    feed(&mut kpa, 5, 14, 1.0);
    // Below since 6; 4 + 10 = 14 is not before 14: still panicking.
    assert!(kpa.decide(s(14), 10).unwrap().panic);
    feed(&mut kpa, 15, 16, 1.0);
    let d = kpa.decide(s(16), 10).unwrap();
    assert!(!d.panic, "4 + 10 < 16");
}

#[test]
fn no_scale_down_in_panic() {
    let spec = spec_with(&[("stable-window", "10s")], &[], 0);
    let mut kpa = Kpa::new(spec, 1, s(0));
    feed(&mut kpa, 0, 2, 700.0);
    assert_eq!(desired(&mut kpa, 2, 1), 10);
    feed(&mut kpa, 3, 4, 1.0);
    // Panic pods now 1 and stable ~ (700×3 + 1×2)/5 → 7, but 10 holds.
    let d = kpa.decide(s(4), 10).unwrap();
    assert!(d.panic);
    assert_eq!(d.desired_pods, 10);
    // And an increase still applies.
    feed(&mut kpa, 5, 6, 1400.0);
    assert_eq!(desired(&mut kpa, 6, 10), 20);
}

#[test]
fn panic_takes_the_larger_of_stable_and_panic() {
    let spec = spec_with(&[("stable-window", "10s")], &[], 0);
    let mut kpa = Kpa::new(spec, 1, s(0));
    feed(&mut kpa, 0, 2, 700.0);
    assert!(kpa.decide(s(2), 1).unwrap().panic);
    // Nothing recorded at 3 and 4: the panic window (1 s) is stale → 0, the
    // stable mean still 700 over the three seconds it has.
    let d = kpa.decide(s(4), 1).unwrap();
    assert_eq!(
        (d.observed_stable, d.observed_panic, d.desired_pods),
        (700.0, 0.0, 10)
    );
}

#[test]
fn starts_in_panic_with_more_than_one_ready_pod() {
    let spec = spec_with(&[("stable-window", "10s")], &[], 0);
    let mut kpa = Kpa::new(spec.clone(), 4, s(0));
    feed(&mut kpa, 0, 2, 0.0);
    let d = kpa.decide(s(2), 4).unwrap();
    assert!(d.panic);
    assert_eq!(
        d.desired_pods, 4,
        "hold the running scale until a window of data"
    );
    feed(&mut kpa, 3, 12, 0.0);
    let d = kpa.decide(s(12), 4).unwrap();
    assert_eq!(
        (d.panic, d.desired_pods),
        (false, 2),
        "0 + 10 < 12; floor(4 / 2)"
    );
    // One ready pod (or none) starts calm.
    assert!(Kpa::new(spec, 1, s(0)).panic_since.is_none());
}

// === activation-scale ===

#[test]
fn activation_scale_lifts_non_zero_recommendations_only() {
    let spec = spec_with(&[], &[("activation-scale", "3")], 0);
    let mut kpa = Kpa::new(spec.clone(), 1, s(0));
    feed(&mut kpa, 0, 2, 1.0);
    assert_eq!(desired(&mut kpa, 2, 1), 3);
    let mut kpa = Kpa::new(spec, 1, s(0));
    feed(&mut kpa, 0, 2, 0.0);
    assert_eq!(desired(&mut kpa, 2, 1), 0);
}

#[test]
fn activation_scale_applies_after_the_rate_limit() {
    let spec = spec_with(
        &[("max-scale-up-rate", "2")],
        &[("activation-scale", "5")],
        0,
    );
    let mut kpa = Kpa::new(spec, 1, s(0));
    feed(&mut kpa, 0, 2, 1.0);
    assert_eq!(desired(&mut kpa, 2, 1), 5, "above ceil(2 × 1)");
}

// === scale-down delay ===

#[test]
fn scale_down_delay_holds_the_recent_maximum() {
    let spec = spec_with(
        &[("stable-window", "6s"), ("scale-down-delay", "6s")],
        &[],
        0,
    );
    let mut kpa = Kpa::new(spec, 1, s(0));
    feed(&mut kpa, 0, 2, 280.0);
    assert_eq!(desired(&mut kpa, 2, 4), 4);
    feed(&mut kpa, 3, 100, 0.0);
    // Delay 6 s = 3 ticks: the 4 from tick 2 lasts through ticks 4 and 6.
    assert_eq!(desired(&mut kpa, 4, 4), 4);
    assert_eq!(desired(&mut kpa, 6, 4), 4);
    assert_eq!(
        desired(&mut kpa, 8, 4),
        2,
        "4 has scrolled out; floor(4/2) from ticks 4..8"
    );
}

#[test]
fn scale_down_delay_is_skipped_when_unreachable() {
    let spec = spec_with(&[("scale-down-delay", "60s")], &[], 0);
    let mut kpa = Kpa::new(spec, 1, s(0));
    feed(&mut kpa, 0, 2, 280.0);
    assert_eq!(desired(&mut kpa, 2, 4), 4);
    kpa.set_reachable(false);
    feed(&mut kpa, 3, 70, 0.0);
    assert_eq!(desired(&mut kpa, 70, 4), 0);
}

// === excess burst capacity ===

#[test]
fn ebc_is_capacity_minus_burst_minus_panic_load() {
    let mut kpa = Kpa::new(default_spec(), 1, s(0));
    feed(&mut kpa, 0, 2, 50.5);
    // floor(3 × 100 − 211 − 50.5) = floor(38.5) = 38
    assert_eq!(kpa.decide(s(2), 3).unwrap().excess_burst_capacity, 38);
    // Negative when the pods cannot absorb the burst: floor(100 − 211 − 50.5).
    assert_eq!(kpa.decide(s(2), 1).unwrap().excess_burst_capacity, -162);
    // At zero pods the real count is used, not the lifted 1.
    assert_eq!(kpa.decide(s(2), 0).unwrap().excess_burst_capacity, -262);
}

#[test]
fn ebc_special_values_of_tbc() {
    for (tbc, want) in [("0", 0), ("-1", -1)] {
        let mut kpa = Kpa::new(
            spec_with(&[("target-burst-capacity", tbc)], &[], 0),
            1,
            s(0),
        );
        feed(&mut kpa, 0, 2, 1000.0);
        assert_eq!(
            kpa.decide(s(2), 1).unwrap().excess_burst_capacity,
            want,
            "tbc {tbc}"
        );
    }
}

#[test]
fn ebc_uses_total_not_target() {
    // cc 10: total 10 (target 7). floor(2 × 10 − 5 − 3) = 12.
    let mut kpa = Kpa::new(
        spec_with(&[], &[("target-burst-capacity", "5")], 10),
        1,
        s(0),
    );
    feed(&mut kpa, 0, 2, 3.0);
    assert_eq!(kpa.decide(s(2), 2).unwrap().excess_burst_capacity, 12);
}

#[test]
fn initial_ebc_before_any_decision() {
    let spec = default_spec();
    assert_eq!(spec.initial_excess_burst_capacity(1), 100 - 211);
    assert_eq!(spec.initial_excess_burst_capacity(3), 89);
    let zero = spec_with(&[("target-burst-capacity", "0")], &[], 0);
    assert_eq!(zero.initial_excess_burst_capacity(3), 0);
    let unlimited = spec_with(&[("target-burst-capacity", "-1")], &[], 0);
    assert_eq!(unlimited.initial_excess_burst_capacity(3), -1);
}

// === no data ===

#[test]
fn no_data_is_no_decision() {
    let mut kpa = Kpa::new(default_spec(), 1, s(0));
    assert_eq!(kpa.decide(s(2), 1), None);
}

#[test]
fn stale_data_is_not_diluted_then_zero_then_no_decision() {
    let spec = spec_with(&[("stable-window", "10s")], &[], 0);
    let mut kpa = Kpa::new(spec, 1, s(0));
    feed(&mut kpa, 0, 9, 140.0);
    // Last data at 9; at 14 the trailing 5 s are left out: still 140.
    let d = kpa.decide(s(14), 2).unwrap();
    assert_eq!((d.observed_stable, d.desired_pods), (140.0, 2));
    // Exactly a window after the last data: a valid decision on 0.
    let d = kpa.decide(s(19), 2).unwrap();
    assert_eq!((d.observed_stable, d.desired_pods), (0.0, 1));
    // More than a window: Knative's "no data", no decision.
    assert_eq!(kpa.decide(s(20), 2), None);
}

#[test]
fn no_data_leaves_panic_state_alone() {
    let spec = spec_with(&[("stable-window", "6s")], &[], 0);
    let mut kpa = Kpa::new(spec, 3, s(0));
    assert_eq!(kpa.decide(s(100), 3), None);
    assert!(kpa.panic_since.is_some());
    assert_eq!(kpa.max_panic_pods, 3);
}
