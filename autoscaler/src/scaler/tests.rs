use super::*;

const S: Duration = Duration::from_secs(1);

fn bounds() -> ScalerBounds {
    ScalerBounds {
        min_scale: 0,
        max_scale: 0,
        enable_scale_to_zero: true,
        stable_window: 6 * S,
        scale_to_zero_grace_period: 6 * S,
        scale_to_zero_pod_retention_period: Duration::ZERO,
        activation_timeout: 600 * S,
    }
}

fn decision(desired_pods: u32, excess_burst_capacity: i32) -> Decision {
    Decision {
        desired_pods,
        excess_burst_capacity,
        panic: false,
        observed_stable: 0.0,
        observed_panic: 0.0,
    }
}

fn seen(now: u64, current_scale: u32, ready_pods: u32) -> Observed {
    Observed {
        now: Duration::from_secs(now),
        current_scale,
        ready_pods,
        routed: true,
    }
}

#[test]
fn idle_goes_behind_the_activator_then_to_zero_after_the_grace_period() {
    let mut scaler = Scaler::new(bounds(), 1, 1, Duration::ZERO);
    // Active for less than a stable window: nothing changes, no activator.
    let out = scaler.step(Some(&decision(0, 10)), seen(4, 1, 1));
    assert_eq!(
        out,
        Outcome {
            scale: None,
            proxy: false
        }
    );
    // A stable window later: the activator goes in front, the pod stays.
    let out = scaler.step(Some(&decision(0, 10)), seen(6, 1, 1));
    assert_eq!(
        out,
        Outcome {
            scale: None,
            proxy: true
        }
    );
    let out = scaler.step(Some(&decision(0, 10)), seen(10, 1, 1));
    assert_eq!(
        out,
        Outcome {
            scale: None,
            proxy: true
        }
    );
    // The grace period has passed since: the last pod goes.
    let out = scaler.step(Some(&decision(0, 10)), seen(12, 1, 1));
    assert_eq!(
        out,
        Outcome {
            scale: Some(0),
            proxy: true
        }
    );
    // At zero it stays at zero, behind the activator.
    let out = scaler.step(Some(&decision(0, 10)), seen(14, 0, 0));
    assert_eq!(
        out,
        Outcome {
            scale: Some(0),
            proxy: true
        }
    );
}

#[test]
fn retention_keeps_the_last_pod_longer_than_the_grace_period() {
    let mut b = bounds();
    b.scale_to_zero_pod_retention_period = 20 * S;
    let mut scaler = Scaler::new(b, 1, 1, Duration::ZERO);
    scaler.step(Some(&decision(0, 10)), seen(6, 1, 1));
    assert_eq!(
        scaler.step(Some(&decision(0, 10)), seen(24, 1, 1)).scale,
        None
    );
    assert_eq!(
        scaler.step(Some(&decision(0, 10)), seen(26, 1, 1)).scale,
        Some(0)
    );
}

#[test]
fn load_during_the_grace_period_cancels_scale_to_zero() {
    let mut scaler = Scaler::new(bounds(), 1, 1, Duration::ZERO);
    scaler.step(Some(&decision(0, 10)), seen(6, 1, 1));
    let out = scaler.step(Some(&decision(1, 10)), seen(8, 1, 1));
    assert_eq!(
        out,
        Outcome {
            scale: Some(1),
            proxy: false
        }
    );
    assert!(!scaler.is_inactive());
    // Idle again: the grace period starts over.
    scaler.step(Some(&decision(0, 10)), seen(16, 1, 1));
    assert_eq!(
        scaler.step(Some(&decision(0, 10)), seen(20, 1, 1)).scale,
        None
    );
    assert_eq!(
        scaler.step(Some(&decision(0, 10)), seen(22, 1, 1)).scale,
        Some(0)
    );
}

#[test]
fn a_cold_request_wakes_a_revision_at_zero_behind_the_activator() {
    let mut scaler = Scaler::new(bounds(), 0, 0, Duration::ZERO);
    assert!(scaler.is_inactive());
    let out = scaler.step(Some(&decision(1, -1)), seen(3, 0, 0));
    assert_eq!(
        out,
        Outcome {
            scale: Some(1),
            proxy: true
        }
    );
    // Ready, with spare capacity: serve mode.
    let out = scaler.step(Some(&decision(1, 50)), seen(4, 1, 1));
    assert_eq!(
        out,
        Outcome {
            scale: Some(1),
            proxy: false
        }
    );
}

#[test]
fn min_scale_holds_only_while_routed_and_max_scale_caps() {
    let mut b = bounds();
    b.min_scale = 2;
    b.max_scale = 3;
    let mut scaler = Scaler::new(b, 2, 2, Duration::ZERO);
    assert_eq!(
        scaler.step(Some(&decision(0, 10)), seen(8, 2, 2)).scale,
        Some(2)
    );
    assert_eq!(
        scaler.step(Some(&decision(9, 10)), seen(10, 2, 2)).scale,
        Some(3)
    );
    let mut unrouted = seen(20, 3, 3);
    unrouted.routed = false;
    // Unrouted: min-scale no longer applies and the revision heads for zero.
    assert_eq!(scaler.step(Some(&decision(0, 10)), unrouted).scale, None);
    unrouted.now = 26 * S;
    assert_eq!(scaler.step(Some(&decision(0, 10)), unrouted).scale, Some(0));
}

#[test]
fn without_scale_to_zero_the_floor_is_one() {
    let mut b = bounds();
    b.enable_scale_to_zero = false;
    let mut scaler = Scaler::new(b, 1, 1, Duration::ZERO);
    for t in [6, 20, 100] {
        assert_eq!(
            scaler.step(Some(&decision(0, 10)), seen(t, 1, 1)).scale,
            Some(1)
        );
    }
}

#[test]
fn negative_burst_capacity_keeps_the_activator_in_the_path() {
    let mut scaler = Scaler::new(bounds(), 1, 1, Duration::ZERO);
    let out = scaler.step(Some(&decision(1, -1)), seen(2, 1, 1));
    assert_eq!(
        out,
        Outcome {
            scale: Some(1),
            proxy: true
        }
    );
}

#[test]
fn a_revision_that_never_gets_ready_is_given_up_after_the_activation_timeout() {
    let mut b = bounds();
    b.activation_timeout = 10 * S;
    let mut scaler = Scaler::new(b, 1, 0, Duration::ZERO);
    assert_eq!(
        scaler.step(Some(&decision(0, -1)), seen(8, 1, 0)).scale,
        None
    );
    assert_eq!(
        scaler.step(Some(&decision(0, -1)), seen(10, 1, 0)).scale,
        Some(0)
    );
}

#[test]
fn no_data_changes_nothing() {
    let mut scaler = Scaler::new(bounds(), 1, 1, Duration::ZERO);
    assert_eq!(
        scaler.step(None, seen(100, 1, 1)),
        Outcome {
            scale: None,
            proxy: false
        }
    );
    let mut at_zero = Scaler::new(bounds(), 0, 0, Duration::ZERO);
    assert_eq!(
        at_zero.step(None, seen(100, 0, 0)),
        Outcome {
            scale: None,
            proxy: true
        }
    );
}
