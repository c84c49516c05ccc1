use super::*;

const SET: ConditionSet = ConditionSet::living(&["A", "B"]);

fn at(second: i64) -> Time {
    Time(jiff::Timestamp::from_second(second).unwrap())
}

fn status(conds: &[Condition], t: &str) -> String {
    find(conds, t).map(|c| c.status.clone()).unwrap_or_default()
}

#[test]
fn initialize_adds_unknowns_and_keeps_existing() {
    let mut conds = Vec::new();
    SET.manage(&mut conds, at(1)).initialize();
    assert_eq!(conds.len(), 3);
    assert!(conds.iter().all(|c| c.status == UNKNOWN));
    assert_eq!(
        conds.iter().map(|c| c.type_.as_str()).collect::<Vec<_>>(),
        ["A", "B", "Ready"],
        "sorted by type"
    );
    SET.manage(&mut conds, at(1)).mark_true("A");
    SET.manage(&mut conds, at(2)).initialize();
    assert_eq!(status(&conds, "A"), TRUE);
}

#[test]
fn ready_needs_every_dependent() {
    let mut conds = Vec::new();
    let mut m = SET.manage(&mut conds, at(1));
    m.initialize();
    m.mark_true("A");
    assert_eq!(status(&conds, READY), UNKNOWN);
    SET.manage(&mut conds, at(1)).mark_true("B");
    assert_eq!(status(&conds, READY), TRUE);
}

#[test]
fn failure_carries_reason_and_trumps_unknown() {
    let mut conds = Vec::new();
    let mut m = SET.manage(&mut conds, at(1));
    m.initialize();
    m.mark_false("B", "ExitCode3", "container exited with code 3");
    m.mark_unknown("A", "Deploying", "");
    let ready = find(&conds, READY).unwrap();
    assert_eq!(ready.status, FALSE);
    assert_eq!(ready.reason.as_deref(), Some("ExitCode3"));
    assert_eq!(
        ready.message.as_deref(),
        Some("container exited with code 3")
    );
}

#[test]
fn non_dependents_are_info_and_leave_ready_alone() {
    let mut conds = Vec::new();
    let mut m = SET.manage(&mut conds, at(1));
    m.initialize();
    m.mark_true("A");
    m.mark_true("B");
    m.mark_false("Active", "NoTraffic", "idle");
    assert_eq!(status(&conds, READY), TRUE);
    let active = find(&conds, "Active").unwrap();
    assert_eq!(active.severity.as_deref(), Some("Info"));
    assert_eq!(find(&conds, "A").unwrap().severity, None);
}

#[test]
fn transition_time_moves_only_with_status() {
    let mut conds = Vec::new();
    SET.manage(&mut conds, at(1))
        .mark_unknown("A", "Deploying", "first");
    SET.manage(&mut conds, at(2))
        .mark_unknown("A", "Deploying", "second");
    let a = find(&conds, "A").unwrap();
    assert_eq!(a.last_transition_time, Some(at(1)));
    assert_eq!(a.message.as_deref(), Some("second"));
    SET.manage(&mut conds, at(3)).mark_true("A");
    assert_eq!(find(&conds, "A").unwrap().last_transition_time, Some(at(3)));
}

#[test]
fn same_inputs_give_the_same_list() {
    let run = |conds: &mut Vec<Condition>, now| {
        let mut m = SET.manage(conds, now);
        m.initialize();
        m.mark_true("A");
        m.mark_false("B", "Bad", "broken");
    };
    let mut once = Vec::new();
    run(&mut once, at(1));
    let mut twice = once.clone();
    run(&mut twice, at(5));
    assert_eq!(once, twice);
}

#[test]
fn a_detour_within_one_reconcile_keeps_the_transition_time() {
    let mut conds = Vec::new();
    SET.manage(&mut conds, at(1))
        .mark_false(READY, "RevisionFailed", "boom");
    let mut m = SET.manage(&mut conds, at(9));
    m.mark_unknown(READY, "", "");
    m.mark_false(READY, "RevisionFailed", "boom");
    assert_eq!(
        find(&conds, READY).unwrap().last_transition_time,
        Some(at(1))
    );
}
