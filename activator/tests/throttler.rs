//! The throttler's waiting behaviour, on paused time.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use activator::{LoadBalancingPolicy, RevisionThrottler, ThrottleError, ThrottlerConfig};
use parking_lot::Mutex;
use tokio::task::JoinHandle;
use tokio::time::Instant;

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 1], port))
}

fn throttler(cc: usize, queue_capacity: usize) -> Arc<RevisionThrottler> {
    Arc::new(RevisionThrottler::new(ThrottlerConfig {
        container_concurrency: cc,
        queue_capacity,
    }))
}

fn in_an_hour() -> Instant {
    Instant::now() + Duration::from_secs(3600)
}

/// Lets spawned waiters run up to their first await.
async fn settle() {
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
}

/// Spawns a waiter and waits until it is queued, so spawn order is queue order.
async fn spawn_waiter(
    t: &Arc<RevisionThrottler>,
) -> JoinHandle<Result<activator::Permit, ThrottleError>> {
    let before = t.queue_depth();
    let t2 = Arc::clone(t);
    let handle = tokio::spawn(async move { t2.acquire(in_an_hour()).await });
    settle().await;
    assert_eq!(t.queue_depth(), before + 1, "waiter did not queue");
    handle
}

#[tokio::test(start_paused = true)]
async fn a_replica_with_room_is_granted_at_once() {
    let t = throttler(1, 10);
    t.update_endpoints(vec![addr(1)]);
    let started = Instant::now();
    let p = t.acquire(in_an_hour()).await.unwrap();
    assert_eq!(p.addr(), addr(1));
    assert_eq!(started.elapsed(), Duration::ZERO);
    assert_eq!(t.endpoints(), [(addr(1), 1)]);
    drop(p);
    assert_eq!(t.endpoints(), [(addr(1), 0)]);
}

#[tokio::test(start_paused = true)]
async fn policy_follows_container_concurrency() {
    assert_eq!(
        throttler(0, 1).policy(),
        LoadBalancingPolicy::PowerOfTwoChoices
    );
    assert_eq!(
        throttler(2, 1).policy(),
        LoadBalancingPolicy::FirstAvailable
    );
    assert_eq!(throttler(10, 1).policy(), LoadBalancingPolicy::RoundRobin);
    assert_eq!(ThrottlerConfig::default().queue_capacity, 10_000);
}

#[tokio::test(start_paused = true)]
async fn unlimited_concurrency_never_queues_once_endpoints_exist() {
    let t = throttler(0, 1);
    t.update_endpoints(vec![addr(1), addr(2)]);
    let permits: Vec<_> = futures_lite_join(&t, 100).await;
    assert_eq!(permits.len(), 100);
    let loads: Vec<_> = t.endpoints().into_iter().map(|(_, n)| n).collect();
    assert_eq!(loads.iter().sum::<usize>(), 100);
    // Power of two choices with two replicas always takes the lighter one.
    assert!(loads[0].abs_diff(loads[1]) <= 1, "{loads:?}");
}

async fn futures_lite_join(t: &RevisionThrottler, n: usize) -> Vec<activator::Permit> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(t.acquire(in_an_hour()).await.unwrap());
    }
    out
}

#[tokio::test(start_paused = true)]
async fn waiters_are_woken_in_fifo_order_one_per_freed_slot() {
    let t = throttler(1, 10);
    t.update_endpoints(vec![addr(1)]);
    let first = t.acquire(in_an_hour()).await.unwrap();

    let order = Arc::new(Mutex::new(Vec::new()));
    let mut handles = Vec::new();
    for i in 0..4 {
        let t2 = Arc::clone(&t);
        let order = Arc::clone(&order);
        handles.push(tokio::spawn(async move {
            let p = t2.acquire(in_an_hour()).await.unwrap();
            order.lock().push(i);
            // Virtual time (the test is paused): hold the slot so the others stay queued.
            tokio::time::sleep(Duration::from_millis(10)).await;
            drop(p);
        }));
        settle().await;
    }
    assert_eq!(t.queue_depth(), 4);

    drop(first);
    settle().await;
    // One slot freed: exactly one waiter woke.
    assert_eq!(*order.lock(), [0]);
    assert_eq!(t.queue_depth(), 3);

    for h in handles {
        h.await.unwrap();
    }
    assert_eq!(*order.lock(), [0, 1, 2, 3]);
    assert_eq!(t.queue_depth(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_full_queue_refuses_at_exactly_capacity() {
    let t = throttler(1, 3);
    let mut waiters = Vec::new();
    for _ in 0..3 {
        waiters.push(spawn_waiter(&t).await);
    }
    let started = Instant::now();
    let refused = t.acquire(in_an_hour()).await.unwrap_err();
    assert_eq!(refused, ThrottleError::QueueFull { capacity: 3 });
    assert_eq!(refused.metric_label(), "queue_full");
    assert_eq!(started.elapsed(), Duration::ZERO);
    assert_eq!(t.queue_depth(), 3);

    // Room again once one waiter is served.
    t.update_endpoints(vec![addr(1)]);
    settle().await;
    assert_eq!(t.queue_depth(), 2);
    let _again = spawn_waiter(&t).await;
}

#[tokio::test(start_paused = true)]
async fn a_flood_beyond_the_queue_is_refused_not_accumulated() {
    let t = throttler(1, 10);
    let handles: Vec<_> = (0..100)
        .map(|_| {
            let t = Arc::clone(&t);
            tokio::spawn(async move { t.acquire(Instant::now() + Duration::from_secs(1)).await })
        })
        .collect();
    settle().await;
    assert_eq!(t.queue_depth(), 10);
    let mut full = 0;
    let mut timeouts = 0;
    for h in handles {
        match h.await.unwrap() {
            Err(ThrottleError::QueueFull { .. }) => full += 1,
            Err(ThrottleError::Timeout { .. }) => timeouts += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((full, timeouts), (90, 10));
}

#[tokio::test(start_paused = true)]
async fn waiting_ends_at_the_deadline() {
    let t = throttler(1, 10);
    let started = Instant::now();
    let err = t
        .acquire(started + Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(started.elapsed(), Duration::from_secs(5));
    assert_eq!(
        err,
        ThrottleError::Timeout {
            waited: Duration::from_secs(5)
        }
    );
    assert_eq!(t.queue_depth(), 0);
}

#[tokio::test(start_paused = true)]
async fn arriving_endpoints_wake_as_many_waiters_as_they_have_room() {
    let t = throttler(2, 10);
    let w: Vec<_> = [
        spawn_waiter(&t).await,
        spawn_waiter(&t).await,
        spawn_waiter(&t).await,
    ]
    .into();
    t.update_endpoints(vec![addr(1)]);
    settle().await;
    assert_eq!(t.queue_depth(), 1);
    t.update_endpoints(vec![addr(1), addr(2)]);
    let mut got = Vec::new();
    for h in w {
        got.push(h.await.unwrap().unwrap().addr());
    }
    assert_eq!(got, [addr(1), addr(1), addr(2)]);
    assert_eq!(t.endpoints(), [(addr(1), 0), (addr(2), 0)]);
}

#[tokio::test(start_paused = true)]
async fn fail_waiting_fails_every_waiter_with_the_reason() {
    let t = throttler(1, 10);
    let a = spawn_waiter(&t).await;
    let b = spawn_waiter(&t).await;
    t.fail_waiting("function failed to start: exit 1".into());
    for h in [a, b] {
        assert_eq!(
            h.await.unwrap().unwrap_err(),
            ThrottleError::Failed("function failed to start: exit 1".into())
        );
    }
    assert_eq!(t.queue_depth(), 0);
    // Later requests wait as usual.
    let c = spawn_waiter(&t).await;
    t.update_endpoints(vec![addr(1)]);
    assert_eq!(c.await.unwrap().unwrap().addr(), addr(1));
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_waiter_leaves_and_its_turn_passes_on() {
    let t = throttler(1, 10);
    t.update_endpoints(vec![addr(1)]);
    let held = t.acquire(in_an_hour()).await.unwrap();
    let gone = spawn_waiter(&t).await;
    let next = spawn_waiter(&t).await;
    gone.abort();
    settle().await;
    assert_eq!(t.queue_depth(), 1);
    drop(held);
    assert_eq!(next.await.unwrap().unwrap().addr(), addr(1));
}

#[tokio::test(start_paused = true)]
async fn removed_replicas_stop_receiving_and_staying_ones_keep_their_load() {
    let t = throttler(1, 10);
    t.update_endpoints(vec![addr(1), addr(2)]);
    let on_1 = t.acquire(in_an_hour()).await.unwrap();
    assert_eq!(on_1.addr(), addr(1));
    t.update_endpoints(vec![addr(1), addr(3)]);
    // addr(1) is still busy, so the next request goes to the new replica.
    let on_3 = t.acquire(in_an_hour()).await.unwrap();
    assert_eq!(on_3.addr(), addr(3));
    assert_eq!(t.endpoints(), [(addr(1), 1), (addr(3), 1)]);
}

#[tokio::test(start_paused = true)]
async fn a_refusing_replica_is_skipped_until_its_ejection_ends() {
    let t = throttler(1, 10);
    t.update_endpoints(vec![addr(1), addr(2)]);
    let first = t.acquire(in_an_hour()).await.unwrap();
    let refused = first.addr();
    first.eject();
    // Both next picks go to the other replica; a third request waits for a slot.
    let other = t.acquire(in_an_hour()).await.unwrap();
    assert_ne!(other.addr(), refused);
    let start = Instant::now();
    let waiter = spawn_waiter(&t).await;
    let back = waiter.await.unwrap().unwrap();
    assert_eq!(back.addr(), refused, "the ejected replica came back");
    assert_eq!(start.elapsed(), Duration::from_millis(250));
    drop((other, back));
}

#[tokio::test(start_paused = true)]
async fn an_ejected_replica_withdrawn_meanwhile_stays_out() {
    let t = throttler(1, 10);
    t.update_endpoints(vec![addr(1)]);
    t.acquire(in_an_hour()).await.unwrap().eject();
    t.update_endpoints(vec![addr(2)]);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let endpoints: Vec<SocketAddr> = t.endpoints().into_iter().map(|(a, _)| a).collect();
    assert_eq!(endpoints, [addr(2)]);
}
