use crds::{Container, RevisionSpec};
use k8s_openapi::api::apps::v1::{DeploymentSpec, DeploymentStatus};

use super::*;
use crate::conditions::{READY, UNKNOWN, find};

fn at(second: i64) -> Time {
    Time(jiff::Timestamp::from_second(second).unwrap())
}

fn revision() -> Revision {
    let mut rev = Revision::new(
        "hello-00001",
        RevisionSpec {
            containers: vec![Container::default()],
            ..RevisionSpec::default()
        },
    );
    rev.metadata.generation = Some(1);
    rev
}

fn deployment(replicas: i32, ready: i32, conds: &[(&str, &str, &str, &str)]) -> Deployment {
    Deployment {
        spec: DeploymentSpec {
            replicas: Some(replicas),
            ..DeploymentSpec::default()
        },
        status: Some(DeploymentStatus {
            ready_replicas: Some(ready),
            conditions: Some(
                conds
                    .iter()
                    .map(|(t, s, r, m)| DeploymentCondition {
                        type_: Some((*t).into()),
                        status: Some((*s).into()),
                        reason: Some((*r).into()),
                        message: Some((*m).into()),
                        ..DeploymentCondition::default()
                    })
                    .collect(),
            ),
            ..DeploymentStatus::default()
        }),
        ..Deployment::default()
    }
}

fn cond<'a>(s: &'a RevisionStatus, t: &str) -> &'a crds::Condition {
    find(s.conditions.as_deref().unwrap(), t).unwrap()
}

/// Feed one status into the next, as successive reconciles do.
fn step(rev: &mut Revision, d: &Deployment, now: i64) -> RevisionStatus {
    let s = revision_status(rev, DeploymentState::Found(d), at(now));
    rev.status = Some(s.clone());
    s
}

#[test]
fn comes_up_unknown_then_ready() {
    let mut rev = revision();
    let s = revision_status(&rev, DeploymentState::Pending, at(1));
    assert_eq!(cond(&s, READY).status, UNKNOWN);
    assert_eq!(
        cond(&s, RESOURCES_AVAILABLE).reason.as_deref(),
        Some("Deploying")
    );
    assert_eq!(s.observed_generation, Some(1));
    assert_eq!(
        s.container_statuses.as_ref().unwrap()[0].name.as_deref(),
        Some("user-container")
    );

    let s = step(&mut rev, &deployment(1, 0, &[]), 2);
    assert_eq!(cond(&s, READY).status, UNKNOWN);
    assert_eq!(cond(&s, ACTIVE).status, UNKNOWN);
    let s = step(&mut rev, &deployment(1, 1, &[]), 3);
    assert_eq!(cond(&s, READY).status, TRUE);
    assert_eq!(cond(&s, ACTIVE).status, TRUE);
    assert_eq!((s.actual_replicas, s.desired_replicas), (Some(1), Some(1)));
}

#[test]
fn scaled_to_zero_stays_ready_but_inactive() {
    let mut rev = revision();
    step(&mut rev, &deployment(1, 1, &[]), 1);
    let s = step(&mut rev, &deployment(0, 0, &[]), 2);
    assert_eq!(cond(&s, READY).status, TRUE);
    assert_eq!(cond(&s, ACTIVE).status, FALSE);
    assert_eq!(cond(&s, ACTIVE).reason.as_deref(), Some("NoTraffic"));
    assert_eq!(s.actual_replicas, Some(0));
}

#[test]
fn zero_initial_scale_is_ready_with_no_replica() {
    let mut rev = revision();
    rev.annotations_mut()
        .insert("autoscaling.knative.dev/initial-scale".into(), "0".into());
    let s = step(&mut rev, &deployment(0, 0, &[]), 1);
    assert_eq!(cond(&s, READY).status, TRUE);
    assert_eq!(cond(&s, ACTIVE).status, FALSE);
    assert_eq!(cond(&s, ACTIVE).reason.as_deref(), Some("NoTraffic"));
    // Without the annotation a revision at zero that never ran is not ready.
    let mut plain = revision();
    let s = step(&mut plain, &deployment(0, 0, &[]), 1);
    assert_eq!(cond(&s, READY).status, UNKNOWN);
}

#[test]
fn crashing_container_fails_with_the_runners_words() {
    let mut rev = revision();
    let msg = "container user-container exited with code 3: boom";
    let s = step(
        &mut rev,
        &deployment(1, 0, &[("ReplicaFailure", "True", "ExitCode3", msg)]),
        1,
    );
    let ch = cond(&s, CONTAINER_HEALTHY);
    assert_eq!(
        (ch.status.as_str(), ch.reason.as_deref()),
        (FALSE, Some("ExitCode3"))
    );
    assert_eq!(ch.message.as_deref(), Some(msg));
    let ready = cond(&s, READY);
    assert_eq!(ready.status, FALSE);
    assert_eq!(ready.message.as_deref(), Some(msg));
    // Recovers once a replica of this spec is ready and the failure is gone.
    let s = step(&mut rev, &deployment(1, 1, &[]), 2);
    assert_eq!(cond(&s, READY).status, TRUE);
}

#[test]
fn not_runnable_and_deadline_fail_resources() {
    let mut rev = revision();
    let s = step(
        &mut rev,
        &deployment(
            1,
            0,
            &[(
                "ReplicaFailure",
                "True",
                "ContainerNotRunnable",
                "no command",
            )],
        ),
        1,
    );
    assert_eq!(cond(&s, RESOURCES_AVAILABLE).status, FALSE);
    assert_eq!(
        cond(&s, READY).reason.as_deref(),
        Some("ContainerNotRunnable")
    );

    let mut rev = revision();
    let s = step(
        &mut rev,
        &deployment(
            1,
            0,
            &[(
                "Progressing",
                "False",
                "ProgressDeadlineExceeded",
                "too slow",
            )],
        ),
        1,
    );
    assert_eq!(cond(&s, RESOURCES_AVAILABLE).status, FALSE);
    assert_eq!(
        cond(&s, READY).reason.as_deref(),
        Some("ProgressDeadlineExceeded")
    );
}

#[test]
fn unchanged_inputs_give_an_unchanged_status() {
    let mut rev = revision();
    let d = deployment(1, 1, &[]);
    let first = step(&mut rev, &d, 1);
    let second = step(&mut rev, &d, 50);
    assert_eq!(first, second);
}

#[test]
fn foreign_deployment_is_reported() {
    let s = revision_status(
        &revision(),
        DeploymentState::NotOwned {
            kind: "Deployment",
            name: "hello-00001-deployment",
        },
        at(1),
    );
    assert_eq!(cond(&s, READY).reason.as_deref(), Some("NotOwned"));
}
