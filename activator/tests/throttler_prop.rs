//! Random acquire/release/endpoint sequences never put more than `containerConcurrency`
//! requests on a replica, and never leave a request waiting while a replica has room.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use activator::{Permit, RevisionThrottler, ThrottlerConfig};
use parking_lot::Mutex;
use proptest::prelude::*;
use tokio::time::Instant;

#[derive(Debug, Clone)]
enum Op {
    /// Acquire inline with a short deadline (times out if there is no room).
    Acquire,
    /// Acquire in a task with a long deadline, so it stays queued.
    Wait,
    Release(usize),
    /// Which of four addresses are ready.
    Endpoints([bool; 4]),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::Acquire),
        2 => Just(Op::Wait),
        3 => any::<usize>().prop_map(Op::Release),
        1 => any::<[bool; 4]>().prop_map(Op::Endpoints),
    ]
}

fn run(cc: usize, queue_capacity: usize, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async move {
        let t = Arc::new(RevisionThrottler::new(ThrottlerConfig {
            container_concurrency: cc,
            queue_capacity,
        }));
        let held: Arc<Mutex<Vec<Permit>>> = Arc::default();
        for op in ops {
            match op {
                Op::Acquire => {
                    let deadline = Instant::now() + Duration::from_millis(1);
                    if let Ok(p) = t.acquire(deadline).await {
                        held.lock().push(p);
                    }
                }
                Op::Wait => {
                    let (t, held) = (Arc::clone(&t), Arc::clone(&held));
                    tokio::spawn(async move {
                        let deadline = Instant::now() + Duration::from_secs(3600);
                        if let Ok(p) = t.acquire(deadline).await {
                            held.lock().push(p);
                        }
                    });
                }
                Op::Release(i) => {
                    let released = {
                        let mut held = held.lock();
                        (!held.is_empty()).then(|| {
                            let i = i % held.len();
                            held.swap_remove(i)
                        })
                    };
                    drop(released);
                }
                Op::Endpoints(ready) => {
                    let addrs = (0..4u16)
                        .filter(|&i| ready[usize::from(i)])
                        .map(|i| SocketAddr::from(([10, 0, 0, 1], 8000 + i)))
                        .collect();
                    t.update_endpoints(addrs);
                }
            }
            for _ in 0..10 {
                tokio::task::yield_now().await;
            }

            let mut per_addr: HashMap<SocketAddr, usize> = HashMap::new();
            for p in held.lock().iter() {
                *per_addr.entry(p.addr()).or_default() += 1;
            }
            for (addr, n) in &per_addr {
                prop_assert!(*n <= cc, "{n} permits on {addr}, cc {cc}");
            }
            let endpoints = t.endpoints();
            for (addr, in_flight) in &endpoints {
                prop_assert!(*in_flight <= cc, "{addr} has {in_flight} in flight");
            }
            if t.queue_depth() > 0 {
                prop_assert!(
                    endpoints.iter().all(|(_, n)| *n == cc),
                    "requests wait while a replica has room: {endpoints:?}"
                );
            }
            prop_assert!(t.queue_depth() <= queue_capacity);
        }
        Ok(())
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn never_more_than_cc_per_replica(
        cc in 1usize..6,
        queue_capacity in 0usize..6,
        ops in proptest::collection::vec(op(), 1..60),
    ) {
        run(cc, queue_capacity, ops)?;
    }
}
