//! The elector against the real embedded API server, on paused time: who leads, how
//! fast the other takes over when the leader dies, loses the API or lets go, and that
//! two candidates never lead at once (checked at every change by [`Monitor`]).

mod support;

use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api as KubeApi, PostParams, WatchEvent, WatchParams};
use leader_election::{
    DEFAULT_LEASE_DURATION, DEFAULT_RENEW_DEADLINE, DEFAULT_RETRY_PERIOD, ElectionConfig,
    LeaderElector,
};
use support::{Api, LEASE, Monitor, NAMESPACE, Proxy, config};
use tokio::time::{Instant, sleep};

const LIMIT: Duration = Duration::from_secs(60);

async fn lease(api: &Api) -> LeaseSpec {
    let leases: KubeApi<Lease> = KubeApi::namespaced(api.client(), NAMESPACE);
    leases.get(LEASE).await.unwrap().spec.unwrap()
}

fn other(name: &str) -> &'static str {
    if name == "a" { "b" } else { "a" }
}

#[tokio::test(start_paused = true)]
async fn exactly_one_of_two_candidates_leads_and_keeps_leading() {
    let api = Api::start().await;
    let (a, b) = (api.candidate("a"), api.candidate("b"));
    let monitor = Monitor::follow(&[("a", a.leadership()), ("b", b.leadership())]);
    let (leader, _) = monitor.first_leader(Instant::now(), LIMIT).await;

    // A minute of renewals: nothing changes hands.
    sleep(Duration::from_secs(60)).await;
    monitor.assert_never_both();
    assert_eq!(monitor.changes(), vec![(leader.clone(), true)]);
    let (leading, following) = if leader == "a" { (&a, &b) } else { (&b, &a) };
    assert!(leading.leadership().is_leader() && !following.leadership().is_leader());

    let spec = lease(&api).await;
    assert_eq!(spec.holder_identity.as_deref(), Some(leader.as_str()));
    assert_eq!(spec.lease_duration_seconds, Some(15));
    assert_eq!(spec.lease_transitions, Some(0));
    let (acquired, renewed) = (spec.acquire_time.unwrap().0, spec.renew_time.unwrap().0);
    assert!(
        renewed > acquired,
        "renewTime {renewed} not after acquireTime {acquired}"
    );
}

#[tokio::test(start_paused = true)]
async fn when_the_leader_dies_the_other_leads_within_the_lease_duration() {
    let api = Api::start().await;
    let mut candidates = [
        ("a", Some(api.candidate("a"))),
        ("b", Some(api.candidate("b"))),
    ];
    let follow: Vec<_> = candidates
        .iter()
        .map(|(n, e)| (*n, e.as_ref().unwrap().leadership()))
        .collect();
    let monitor = Monitor::follow(&follow);
    let (leader, _) = monitor.first_leader(Instant::now(), LIMIT).await;
    // Between two renewals.
    sleep(Duration::from_secs(7)).await;

    let died = Instant::now();
    let slot = candidates.iter_mut().find(|(n, _)| *n == leader).unwrap();
    drop(slot.1.take());
    let stopped = monitor
        .when(&leader, false, died, Duration::from_secs(1))
        .await;
    assert_eq!(stopped, died, "a dropped elector left its replica leading");

    let successor = other(&leader);
    let took_over = monitor.when(successor, true, died, LIMIT).await;
    let after = took_over - died;
    // It waits out the lease it last saw renewed (at most a retry period before the
    // death), and not longer.
    assert!(
        after >= DEFAULT_LEASE_DURATION - DEFAULT_RETRY_PERIOD && after <= DEFAULT_LEASE_DURATION,
        "took over {after:?} after the leader died"
    );
    let spec = lease(&api).await;
    assert_eq!(spec.holder_identity.as_deref(), Some(successor));
    assert_eq!(spec.lease_transitions, Some(1));
    monitor.assert_never_both();
}

#[tokio::test(start_paused = true)]
async fn a_leader_that_cannot_renew_stops_before_the_other_takes_over() {
    let api = Api::start().await;
    let proxy = Proxy::start(api.addr).await;
    let a = LeaderElector::spawn(proxy.client(), config("a")).unwrap();
    let mut leading = a.leadership();
    leading.led().await;
    let b = api.candidate("b");
    let monitor = Monitor::follow(&[("a", a.leadership()), ("b", b.leadership())]);
    sleep(Duration::from_secs(5)).await;

    // The API stops answering `a`: requests hang, none fail fast.
    let cut = Instant::now();
    proxy.cut();
    let stopped = monitor.when("a", false, cut, LIMIT).await;
    assert!(
        stopped - cut <= DEFAULT_RENEW_DEADLINE,
        "a kept leading {:?} without renewing",
        stopped - cut
    );
    let took_over = monitor.when("b", true, cut, LIMIT).await;
    // b counts from the last renewal it saw; a stopped counting from before sending it.
    assert!(
        took_over - stopped >= DEFAULT_LEASE_DURATION - DEFAULT_RENEW_DEADLINE,
        "b took over {:?} after a stopped",
        took_over - stopped
    );
    assert!(took_over - cut <= DEFAULT_LEASE_DURATION);
    assert_eq!(
        monitor.changes(),
        vec![("a".into(), true), ("a".into(), false), ("b".into(), true)]
    );
}

#[tokio::test(start_paused = true)]
async fn a_released_lease_is_taken_over_at_once() {
    let api = Api::start().await;
    let a = api.candidate("a");
    a.leadership().led().await;
    let b = api.candidate("b");
    let monitor = Monitor::follow(&[("a", a.leadership()), ("b", b.leadership())]);
    sleep(Duration::from_secs(5)).await;

    let released = Instant::now();
    let mut a_leadership = a.leadership();
    a.release().await;
    assert!(!a_leadership.is_leader());
    let took_over = monitor.when("b", true, released, LIMIT).await;
    assert!(
        took_over - released < DEFAULT_RETRY_PERIOD,
        "b took {:?} to take a released lease",
        took_over - released
    );
    let spec = lease(&api).await;
    assert_eq!(spec.holder_identity.as_deref(), Some("b"));
    assert_eq!(spec.lease_transitions, Some(1));
    // The released elector is gone for good: one last change (to false), then none.
    assert!(!a_leadership.changed().await);
    let changed = tokio::time::timeout(Duration::from_secs(60), a_leadership.changed());
    assert!(changed.await.is_err());
}

#[tokio::test(start_paused = true)]
async fn candidates_racing_for_one_lease_take_turns_one_at_a_time() {
    let api = Api::start().await;
    // Shorter, configured timings; three candidates start at the same instant.
    let fast = |identity: &str| ElectionConfig {
        lease_duration: Duration::from_secs(4),
        renew_deadline: Duration::from_secs(3),
        retry_period: Duration::from_secs(1),
        ..config(identity)
    };
    let names = ["a", "b", "c"];
    let mut electors: Vec<Option<LeaderElector>> = names
        .iter()
        .map(|n| Some(LeaderElector::spawn(api.client(), fast(n)).unwrap()))
        .collect();
    let follow: Vec<_> = names
        .iter()
        .zip(&electors)
        .map(|(n, e)| (*n, e.as_ref().unwrap().leadership()))
        .collect();
    let monitor = Monitor::follow(&follow);
    let mut since = Instant::now();
    let mut leaders = Vec::new();
    for _ in 0..names.len() {
        let (leader, at) = monitor.first_leader(since, LIMIT).await;
        assert!(!leaders.contains(&leader), "{leader} led twice");
        sleep(Duration::from_millis(2500)).await;
        let index = names.iter().position(|n| *n == leader).unwrap();
        drop(electors[index].take());
        leaders.push(leader);
        since = at + Duration::from_millis(1);
    }
    assert_eq!(lease(&api).await.lease_transitions, Some(2));
    monitor.assert_never_both();
}

#[tokio::test(start_paused = true)]
async fn the_api_refuses_a_lease_update_from_a_stale_read_and_watches_leases() {
    let api = Api::start().await;
    let leases: KubeApi<Lease> = KubeApi::namespaced(api.client(), NAMESPACE);
    let created = leases
        .create(
            &PostParams::default(),
            &Lease {
                metadata: ObjectMeta {
                    name: Some(LEASE.into()),
                    ..ObjectMeta::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some("a".into()),
                    ..LeaseSpec::default()
                }),
            },
        )
        .await
        .unwrap();
    let version = created.metadata.resource_version.clone().unwrap();
    let mut events = leases
        .watch(
            &WatchParams::default().fields(&format!("metadata.name={LEASE}")),
            &version,
        )
        .await
        .unwrap()
        .boxed();

    let mut by_a = created.clone();
    by_a.spec.as_mut().unwrap().holder_identity = Some("b".into());
    let mut by_c = created;
    by_c.spec.as_mut().unwrap().holder_identity = Some("c".into());
    leases
        .replace(LEASE, &PostParams::default(), &by_a)
        .await
        .unwrap();
    let stale = leases.replace(LEASE, &PostParams::default(), &by_c).await;
    assert!(
        matches!(&stale, Err(kube::Error::Api(s)) if s.code == 409),
        "a write from a stale read landed: {stale:?}"
    );
    let spec = lease(&api).await;
    assert_eq!(spec.holder_identity.as_deref(), Some("b"));
    let event = loop {
        match events.next().await {
            Some(Ok(WatchEvent::Bookmark(_))) => {}
            other => break other,
        }
    };
    match event {
        Some(Ok(WatchEvent::Modified(lease))) => {
            assert_eq!(lease.spec.unwrap().holder_identity.as_deref(), Some("b"));
        }
        other => panic!("expected the update on the watch, got {other:?}"),
    }
}
