use std::path::PathBuf;
use std::sync::Arc;

use super::*;
use crate::container_log::ContainerLog;
use crate::status::ReplicaFailure;
use jiff::Timestamp;

const CONTAINER: ContainerInfo<'static> = ContainerInfo {
    name: "user-container",
    image: "example.com/fn",
};

fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + secs).unwrap()
}

fn replica() -> ReplicaState {
    let log = ContainerLog::disabled(PathBuf::from("/nonexistent"));
    ReplicaState::new(7, Arc::from("abcde"), 1, 40001, log, at(0))
}

fn status(r: &ReplicaState) -> PodStatus {
    pod_status(r, CONTAINER, "hello-abc-abcde")
}

fn condition(s: &PodStatus, type_: &str) -> (String, Option<Timestamp>) {
    let c = s
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == type_)
        .unwrap();
    (
        c.status.clone(),
        c.last_transition_time.as_ref().map(|t| t.0),
    )
}

fn only_container(s: &PodStatus) -> &ContainerStatus {
    &s.container_statuses.as_ref().unwrap()[0]
}

fn crash(code: i32) -> ReplicaFailure {
    ReplicaFailure {
        exit_code: Some(code),
        signal: None,
        last_stderr_line: Some("boom".into()),
        restarts: 0,
    }
}

#[test]
fn a_new_replica_is_pending_and_creating() {
    let s = status(&replica());
    assert_eq!(s.phase.as_deref(), Some("Pending"));
    assert_eq!(s.pod_ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(s.host_ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(condition(&s, "PodScheduled").0, "True");
    assert_eq!(condition(&s, "Ready").0, "False");
    let c = only_container(&s);
    assert_eq!(
        c.state
            .as_ref()
            .unwrap()
            .waiting
            .as_ref()
            .unwrap()
            .reason
            .as_deref(),
        Some("ContainerCreating")
    );
    assert_eq!(
        (c.ready, c.started, c.restart_count),
        (false, Some(false), 0)
    );
}

#[test]
fn a_ready_replica_is_running_and_ready_since_it_became_so() {
    let mut r = replica();
    r.started(4242, 0, at(1));
    r.set_ready(true, at(2));
    let s = status(&r);
    assert_eq!(s.phase.as_deref(), Some("Running"));
    for type_ in ["Ready", "ContainersReady"] {
        assert_eq!(condition(&s, type_), ("True".into(), Some(at(2))));
    }
    assert_eq!(condition(&s, "Initialized"), ("True".into(), Some(at(0))));
    let c = only_container(&s);
    assert_eq!((c.ready, c.started), (true, Some(true)));
    assert_eq!(c.container_id.as_deref(), Some("fnmesh://4242"));
    let running = c.state.as_ref().unwrap().running.as_ref().unwrap();
    assert_eq!(running.started_at.as_ref().unwrap().0, at(1));
    assert_eq!(c.last_state, Some(K8sContainerState::default()));
}

#[test]
fn a_crash_backs_off_then_the_restart_shows_the_last_termination() {
    let mut r = replica();
    r.started(100, 0, at(1));
    r.set_ready(true, at(2));
    r.exited(&crash(3), Duration::from_millis(1600), at(5));
    let s = status(&r);
    assert_eq!(s.phase.as_deref(), Some("Running"));
    assert_eq!(condition(&s, "Ready"), ("False".into(), Some(at(5))));
    let c = only_container(&s);
    let waiting = c.state.as_ref().unwrap().waiting.as_ref().unwrap();
    assert_eq!(waiting.reason.as_deref(), Some("CrashLoopBackOff"));
    assert_eq!(
        waiting.message.as_deref(),
        Some("back-off 1.6s restarting failed container=user-container pod=hello-abc-abcde")
    );
    let last = c.last_state.as_ref().unwrap().terminated.as_ref().unwrap();
    assert_eq!((last.exit_code, last.reason.as_deref()), (3, Some("Error")));
    assert_eq!(last.message.as_deref(), Some("boom"));
    assert_eq!(last.started_at.as_ref().unwrap().0, at(1));
    assert_eq!(last.finished_at.as_ref().unwrap().0, at(5));
    assert_eq!(c.restart_count, 0);

    r.started(101, 1, at(6));
    let c = status(&r).container_statuses.unwrap().remove(0);
    assert_eq!(c.restart_count, 1);
    assert!(c.state.unwrap().running.is_some());
    assert_eq!(
        c.last_state
            .unwrap()
            .terminated
            .unwrap()
            .container_id
            .as_deref(),
        Some("fnmesh://100")
    );
}

#[test]
fn start_failures_and_signals_read_as_the_runtime_reports_them() {
    let mut r = replica();
    let failure = ReplicaFailure {
        exit_code: None,
        signal: None,
        last_stderr_line: Some("cannot start \"nope\": No such file".into()),
        restarts: 0,
    };
    r.exited(&failure, Duration::from_millis(100), at(1));
    let s = status(&r);
    // Never started, but it has a termination: Running as the kubelet counts it.
    assert_eq!(s.phase.as_deref(), Some("Running"));
    let last = only_container(&s)
        .last_state
        .clone()
        .unwrap()
        .terminated
        .unwrap();
    assert_eq!(
        (last.exit_code, last.reason.as_deref()),
        (128, Some("StartError"))
    );
    assert!(last.message.unwrap().contains("No such file"));

    r.started(5, 1, at(2));
    let killed = ReplicaFailure {
        exit_code: None,
        signal: Some(9),
        last_stderr_line: None,
        restarts: 1,
    };
    r.exited(&killed, Duration::from_secs(10), at(3));
    let c = status(&r).container_statuses.unwrap().remove(0);
    let last = c.last_state.unwrap().terminated.unwrap();
    assert_eq!((last.exit_code, last.signal), (137, Some(9)));
    assert!(
        c.state
            .unwrap()
            .waiting
            .unwrap()
            .message
            .unwrap()
            .starts_with("back-off 10s ")
    );
}

#[test]
fn a_stopping_replica_is_unready_and_its_end_is_final() {
    let mut r = replica();
    r.started(100, 0, at(1));
    r.set_ready(true, at(2));
    r.stop(at(3));
    let s = status(&r);
    assert_eq!(condition(&s, "Ready"), ("False".into(), Some(at(3))));
    assert_eq!(s.phase.as_deref(), Some("Running"));
    r.exited(&crash(0), Duration::ZERO, at(4));
    assert_eq!(phase(&r), "Succeeded");
    let terminated = only_container(&status(&r))
        .state
        .clone()
        .unwrap()
        .terminated
        .unwrap();
    assert_eq!(terminated.reason.as_deref(), Some("Completed"));
    r.exited(&crash(2), Duration::ZERO, at(5));
    assert_eq!(phase(&r), "Failed");
}

#[test]
fn durations_print_as_go_does() {
    let ms = |n| go_duration(Duration::from_millis(n));
    assert_eq!(ms(100), "100ms");
    assert_eq!(ms(1600), "1.6s");
    assert_eq!(ms(10_000), "10s");
    assert_eq!(ms(90_000), "1m30s");
}
