//! Lost wakeups show up as hangs only when release and enqueue race on real threads.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use activator::{RevisionThrottler, ThrottlerConfig};
use tokio::time::Instant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contended_acquire_and_release_never_strands_a_waiter() {
    let t = Arc::new(RevisionThrottler::new(ThrottlerConfig {
        container_concurrency: 1,
        queue_capacity: 64,
    }));
    t.update_endpoints(vec![SocketAddr::from(([10, 0, 0, 1], 8080))]);
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let t = Arc::clone(&t);
            tokio::spawn(async move {
                for _ in 0..200 {
                    let deadline = Instant::now() + Duration::from_secs(30);
                    let permit = t.acquire(deadline).await.expect("stranded waiter");
                    tokio::task::yield_now().await;
                    drop(permit);
                }
            })
        })
        .collect();
    let all = async {
        for task in tasks {
            task.await.unwrap();
        }
    };
    tokio::time::timeout(Duration::from_secs(60), all)
        .await
        .expect("throttler hung");
    assert_eq!(t.queue_depth(), 0);
    assert_eq!(t.endpoints()[0].1, 0);
}
