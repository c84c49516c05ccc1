use super::*;

const SEC: i64 = NANOS_PER_SEC;

fn goal(revision: &str, percent: i64) -> Goal {
    Goal {
        configuration: "hello".into(),
        tag: String::new(),
        percent,
        revision: revision.into(),
    }
}

fn shares(rollout: &Rollout) -> Vec<(String, i64)> {
    rollout.configurations[0]
        .revisions
        .iter()
        .map(|r| (r.revision_name.clone(), r.percent))
        .collect()
}

fn pairs(list: &[(&str, i64)]) -> Vec<(String, i64)> {
    list.iter().map(|(n, p)| ((*n).to_string(), *p)).collect()
}

#[test]
fn first_sight_settles_on_the_goal() {
    let (rollout, next) = step(
        &[goal("hello-00001", 100)],
        None,
        0,
        Duration::from_secs(60),
    );
    assert_eq!(shares(&rollout), pairs(&[("hello-00001", 100)]));
    assert_eq!(next, None);
    assert!(!rollout.in_progress());
}

#[test]
fn a_new_revision_starts_at_one_percent_then_moves_in_equal_steps() {
    let duration = Duration::from_secs(5);
    let (settled, _) = step(&[goal("a", 100)], None, 0, duration);
    let (mut rollout, next) = step(&[goal("b", 100)], Some(&settled), 0, duration);
    assert_eq!(shares(&rollout), pairs(&[("a", 99), ("b", 1)]));
    // 1 s for the first 1%, then 4 steps of 25% (rounded from 99/4), one a second.
    assert_eq!(next, Some(SEC));
    let params = rollout.configurations[0].step_params;
    assert_eq!((params.step_size, params.step_duration), (25, SEC));

    let mut seen = vec![shares(&rollout)];
    let mut now = 0;
    while rollout.in_progress() {
        // Early reconciles change nothing.
        let (same, _) = step(&[goal("b", 100)], Some(&rollout), now + SEC / 2, duration);
        assert_eq!(shares(&same), shares(&rollout));
        now += SEC;
        rollout = step(&[goal("b", 100)], Some(&rollout), now, duration).0;
        seen.push(shares(&rollout));
        assert!(now <= 10 * SEC, "never finished: {seen:?}");
    }
    assert_eq!(
        seen,
        [
            pairs(&[("a", 99), ("b", 1)]),
            pairs(&[("a", 74), ("b", 26)]),
            pairs(&[("a", 49), ("b", 51)]),
            pairs(&[("a", 24), ("b", 76)]),
            pairs(&[("b", 100)]),
        ]
    );
    assert_eq!(rollout.configurations[0].step_params, StepParams::default());
}

#[test]
fn long_durations_step_one_percent_at_a_time() {
    let (settled, _) = step(&[goal("a", 100)], None, 0, Duration::from_secs(600));
    let (rollout, _) = step(
        &[goal("b", 100)],
        Some(&settled),
        0,
        Duration::from_secs(600),
    );
    let params = rollout.configurations[0].step_params;
    assert_eq!(params.step_size, 1);
    // 599 s over 99 steps.
    assert_eq!(params.step_duration, 599 * SEC / 99);
}

#[test]
fn a_third_revision_during_a_rollout_joins_the_queue() {
    let duration = Duration::from_secs(10);
    let (a, _) = step(&[goal("a", 100)], None, 0, duration);
    let (ab, _) = step(&[goal("b", 100)], Some(&a), 0, duration);
    let (ab, _) = step(&[goal("b", 100)], Some(&ab), SEC, duration);
    let (abc, _) = step(&[goal("c", 100)], Some(&ab), SEC + 1, duration);
    let shares = shares(&abc);
    assert_eq!(shares.len(), 3, "{shares:?}");
    assert_eq!(shares[2], ("c".to_string(), 1));
    assert_eq!(shares.iter().map(|(_, p)| p).sum::<i64>(), 100);
}

#[test]
fn a_smaller_share_is_cut_from_the_oldest() {
    let duration = Duration::from_secs(10);
    let (a, _) = step(&[goal("a", 100)], None, 0, duration);
    let (ab, _) = step(&[goal("b", 100)], Some(&a), 0, duration);
    let (cut, _) = step(&[goal("b", 50)], Some(&ab), 1, duration);
    assert_eq!(shares(&cut), pairs(&[("a", 49), ("b", 1)]));
}

#[test]
fn tiny_shares_and_tags_roll_independently() {
    let mut tagged = goal("b", 0);
    tagged.tag = "candidate".into();
    let (a, _) = step(
        &[goal("a", 1), tagged.clone()],
        None,
        0,
        Duration::from_secs(10),
    );
    let (next, due) = step(
        &[goal("b", 1), tagged],
        Some(&a),
        0,
        Duration::from_secs(10),
    );
    // 1% cannot be split: it moves at once.
    assert_eq!(due, None);
    let untagged = next
        .configurations
        .iter()
        .find(|c| c.tag.is_empty())
        .unwrap();
    assert_eq!(untagged.revisions[0].revision_name, "b");
}

#[test]
fn the_annotation_round_trips_in_knatives_shape() {
    let (a, _) = step(&[goal("a", 100)], None, 0, Duration::from_secs(10));
    let (ab, _) = step(&[goal("b", 100)], Some(&a), 7, Duration::from_secs(10));
    let text = ab.to_annotation();
    assert!(text.contains(r#""configurationName":"hello""#), "{text}");
    assert!(text.contains(r#""stepParams":{"starttime":7"#), "{text}");
    assert_eq!(Rollout::parse(&text), Some(ab));
    // Shares that do not add up are discarded.
    let broken = text.replace(r#""percent":99"#, r#""percent":98"#);
    assert_eq!(Rollout::parse(&broken), None);
}
