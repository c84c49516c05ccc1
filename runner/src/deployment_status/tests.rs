use super::*;

fn obs<'a>(
    desired: u32,
    rs: &'a ReplicaSetStatus,
    blocked: Option<&'a Blocked>,
) -> Observation<'a> {
    Observation {
        name: "d",
        generation: Some(3),
        desired,
        max_unavailable: 0,
        container: "user-container",
        replicas: rs,
        blocked,
    }
}

fn find<'a>(s: &'a DeploymentStatus, type_: &str) -> Option<&'a DeploymentCondition> {
    s.conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_.as_deref() == Some(type_))
}

fn summary(c: Option<&DeploymentCondition>) -> Option<(&str, &str)> {
    c.map(|c| (c.status.as_deref().unwrap(), c.reason.as_deref().unwrap()))
}

fn ready(n: u32) -> ReplicaSetStatus {
    ReplicaSetStatus {
        replicas: n,
        ready_replicas: n,
        updated_replicas: n,
        updated_ready_replicas: n,
        ..ReplicaSetStatus::default()
    }
}

#[test]
fn all_ready_is_available_and_complete() {
    let rs = ready(2);
    let s = deployment_status(&obs(2, &rs, None), None, Timestamp::UNIX_EPOCH);
    assert_eq!(s.observed_generation, Some(3));
    assert_eq!(
        (s.replicas, s.ready_replicas, s.available_replicas),
        (Some(2), Some(2), Some(2))
    );
    assert_eq!(s.unavailable_replicas, Some(0));
    assert_eq!(
        summary(find(&s, "Available")),
        Some(("True", "MinimumReplicasAvailable"))
    );
    assert_eq!(
        summary(find(&s, "Progressing")),
        Some(("True", "NewReplicaSetAvailable"))
    );
    assert!(find(&s, "ReplicaFailure").is_none());
}

#[test]
fn a_crash_is_reported_until_a_current_replica_is_ready() {
    let mut rs = ReplicaSetStatus {
        replicas: 1,
        updated_replicas: 1,
        last_failure: Some(ReplicaFailure {
            exit_code: Some(3),
            signal: None,
            last_stderr_line: Some("boom".into()),
            restarts: 0,
        }),
        ..ReplicaSetStatus::default()
    };
    let s = deployment_status(&obs(1, &rs, None), None, Timestamp::UNIX_EPOCH);
    let failure = find(&s, "ReplicaFailure").unwrap();
    assert_eq!(summary(Some(failure)), Some(("True", "ExitCode3")));
    assert_eq!(
        failure.message.as_deref(),
        Some("container user-container exited with code 3: boom")
    );
    assert_eq!(
        summary(find(&s, "Available")),
        Some(("False", "MinimumReplicasUnavailable"))
    );
    assert_eq!(s.unavailable_replicas, Some(1));

    rs.ready_replicas = 1;
    rs.updated_ready_replicas = 1;
    let s = deployment_status(&obs(1, &rs, None), Some(&s), Timestamp::UNIX_EPOCH);
    assert!(find(&s, "ReplicaFailure").is_none());
}

#[test]
fn signals_and_start_errors_have_their_own_reasons() {
    let failure = |exit_code, signal, line: Option<&str>| ReplicaFailure {
        exit_code,
        signal,
        last_stderr_line: line.map(Into::into),
        restarts: 2,
    };
    assert_eq!(
        failure_condition("c", &failure(None, Some(9), None)),
        (
            "Signal9".into(),
            "container c was killed by signal 9".into()
        )
    );
    assert_eq!(
        failure_condition("c", &failure(None, None, Some("no such file"))).0,
        "StartError"
    );
}

#[test]
fn blocked_deployments_report_why() {
    let rs = ReplicaSetStatus::default();
    let blocked = Blocked {
        reason: "ContainerNotRunnable",
        message: "container c has no command".into(),
    };
    let s = deployment_status(&obs(1, &rs, Some(&blocked)), None, Timestamp::UNIX_EPOCH);
    let failure = find(&s, "ReplicaFailure").unwrap();
    assert_eq!(
        summary(Some(failure)),
        Some(("True", "ContainerNotRunnable"))
    );
    assert_eq!(
        failure.message.as_deref(),
        Some("container c has no command")
    );
}

#[test]
fn unchanged_conditions_keep_their_timestamps() {
    let rs = ready(1);
    let first = deployment_status(&obs(1, &rs, None), None, Timestamp::UNIX_EPOCH);
    let later = Timestamp::from_second(100).unwrap();
    let again = deployment_status(&obs(1, &rs, None), Some(&first), later);
    assert_eq!(first, again);
    let scaled = ready(0);
    let changed = deployment_status(&obs(1, &scaled, None), Some(&first), later);
    let available = find(&changed, "Available").unwrap();
    assert_eq!(available.last_transition_time, Some(Time(later)));
}

#[test]
fn max_unavailable_defaults_to_a_quarter() {
    let d: Deployment = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "d"},
        "spec": {"selector": {}, "template": {}},
    }))
    .unwrap();
    assert_eq!(max_unavailable(&d, 1), 0);
    assert_eq!(max_unavailable(&d, 8), 2);
}
