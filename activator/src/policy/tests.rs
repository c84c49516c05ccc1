use std::net::SocketAddr;

use super::*;
use crate::breaker::Breaker;

fn replicas(cc: usize, n: u16) -> Vec<Replica> {
    (1..=n)
        .map(|port| Replica {
            addr: SocketAddr::from(([10, 0, 0, 1], port)),
            breaker: Breaker::new(cc),
        })
        .collect()
}

fn pick(policy: LoadBalancingPolicy, rs: &[Replica], cursor: &mut usize) -> Option<Pick> {
    policy.pick(rs, cursor, &mut fastrand::Rng::with_seed(7))
}

#[test]
fn chosen_from_container_concurrency_like_knative() {
    use LoadBalancingPolicy::*;
    let chosen: Vec<_> = [0, 1, 3, 4, 100]
        .map(LoadBalancingPolicy::for_container_concurrency)
        .into();
    assert_eq!(
        chosen,
        [
            PowerOfTwoChoices,
            FirstAvailable,
            FirstAvailable,
            RoundRobin,
            RoundRobin
        ]
    );
}

#[test]
fn first_available_picks_the_first_replica_with_room() {
    let rs = replicas(1, 3);
    let mut cursor = 0;
    let p0 = pick(LoadBalancingPolicy::FirstAvailable, &rs, &mut cursor).unwrap();
    let p1 = pick(LoadBalancingPolicy::FirstAvailable, &rs, &mut cursor).unwrap();
    assert_eq!((p0.index, p1.index), (0, 1));
    drop(p0);
    // The first replica has room again, so it wins over the untouched third.
    let again = pick(LoadBalancingPolicy::FirstAvailable, &rs, &mut cursor).unwrap();
    assert_eq!(again.index, 0);
    let p2 = pick(LoadBalancingPolicy::FirstAvailable, &rs, &mut cursor).unwrap();
    assert_eq!(p2.index, 2);
    assert!(pick(LoadBalancingPolicy::FirstAvailable, &rs, &mut cursor).is_none());
}

#[test]
fn round_robin_cycles_and_skips_full_replicas() {
    let rs = replicas(4, 3);
    let mut cursor = 0;
    let mut held = Vec::new();
    let mut order = Vec::new();
    for _ in 0..6 {
        let p = pick(LoadBalancingPolicy::RoundRobin, &rs, &mut cursor).unwrap();
        order.push(p.index);
        held.push(p);
    }
    assert_eq!(order, [0, 1, 2, 0, 1, 2]);
    // Fill replica 0 (it holds 2 of 4); the rotation then passes over it.
    let _fill: Vec<_> = (0..2)
        .map(|_| rs[0].breaker.try_acquire().unwrap())
        .collect();
    let order: Vec<_> = (0..4)
        .map(|_| {
            let p = pick(LoadBalancingPolicy::RoundRobin, &rs, &mut cursor).unwrap();
            let i = p.index;
            held.push(p);
            i
        })
        .collect();
    assert_eq!(order, [1, 2, 1, 2]);
}

#[test]
fn round_robin_restarts_when_the_set_shrinks() {
    let rs = replicas(4, 2);
    let mut cursor = 5;
    let p = pick(LoadBalancingPolicy::RoundRobin, &rs, &mut cursor).unwrap();
    assert_eq!((p.index, cursor), (0, 1));
}

#[test]
fn power_of_two_prefers_the_less_loaded_of_two() {
    let rs = replicas(0, 2);
    let _busy: Vec<_> = (0..3)
        .map(|_| rs[0].breaker.try_acquire().unwrap())
        .collect();
    let mut rng = fastrand::Rng::with_seed(1);
    for _ in 0..50 {
        let p = LoadBalancingPolicy::PowerOfTwoChoices
            .pick(&rs, &mut 0, &mut rng)
            .unwrap();
        assert_eq!(p.index, 1);
    }
}

#[test]
fn power_of_two_never_picks_the_busiest_of_many() {
    let rs = replicas(0, 5);
    let _busy: Vec<_> = (0..3)
        .map(|_| rs[2].breaker.try_acquire().unwrap())
        .collect();
    let mut rng = fastrand::Rng::with_seed(2);
    let mut seen = [0usize; 5];
    for _ in 0..500 {
        let p = LoadBalancingPolicy::PowerOfTwoChoices
            .pick(&rs, &mut 0, &mut rng)
            .unwrap();
        seen[p.index] += 1;
        // Released at once, so loads stay 0,0,3,0,0.
    }
    assert_eq!(seen[2], 0, "{seen:?}");
    assert!(
        seen.iter().enumerate().all(|(i, &c)| i == 2 || c > 0),
        "{seen:?}"
    );
}

#[test]
fn no_replicas_no_pick() {
    for policy in [
        LoadBalancingPolicy::PowerOfTwoChoices,
        LoadBalancingPolicy::FirstAvailable,
        LoadBalancingPolicy::RoundRobin,
    ] {
        assert!(pick(policy, &[], &mut 0).is_none());
    }
}
