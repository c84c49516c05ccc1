//! Group commit under concurrency: every acknowledged write is persisted and visible,
//! optimistic-concurrency conflicts still happen, watch events come in resourceVersion
//! order, concurrent writes share fsyncs, and a waiting write holds no thread.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde_json::json;

use super::*;

fn obj(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "ns"}})
}

fn key(name: &str) -> String {
    format!("/configmaps/ns/{name}")
}

#[derive(Debug, PartialEq)]
enum Failed {
    Conflict,
    Store,
}

impl From<StoreError> for Failed {
    fn from(_: StoreError) -> Self {
        Failed::Store
    }
}

#[test]
fn concurrent_acknowledged_writes_are_visible_persisted_and_ordered() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.redb");
    let (threads, each) = (16, 25);
    {
        let store = Store::open(&path).unwrap();
        let mut sub = store.subscribe(None, "").unwrap();
        std::thread::scope(|s| {
            for t in 0..threads {
                let store = &store;
                s.spawn(move || {
                    for i in 0..each {
                        let name = format!("t{t}-{i}");
                        let stored = store
                            .transact(false, |txn| {
                                Ok::<_, StoreError>(txn.put(&key(&name), obj(&name)))
                            })
                            .unwrap();
                        // Acknowledged means committed and published: readable at once.
                        let read = store
                            .get(&key(&name))
                            .expect("an acknowledged write is visible");
                        assert_eq!(resource_version(&read), resource_version(&stored));
                    }
                });
            }
        });
        let total = (threads * each) as u64;
        assert_eq!(store.current_rv(), total);
        let mut rvs = Vec::new();
        while let Ok(e) = sub.live.try_recv() {
            assert_eq!(e.kind, EventType::Added);
            rvs.push(e.rv);
        }
        assert_eq!(
            rvs,
            (1..=total).collect::<Vec<_>>(),
            "every event, in order"
        );
        let commits = store.shared.progress.commits.load(Ordering::Relaxed);
        assert!(commits <= total, "{commits} commits for {total} writes");
    }
    let reopened = Store::open(&path).unwrap();
    for t in 0..threads {
        for i in 0..each {
            assert!(
                reopened.get(&key(&format!("t{t}-{i}"))).is_some(),
                "t{t}-{i} persisted"
            );
        }
    }
    assert_eq!(reopened.current_rv(), (threads * each) as u64);
}

#[test]
fn conflicting_concurrent_updates_still_conflict() {
    let (_dir, store) = {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db.redb")).unwrap();
        (dir, store)
    };
    store
        .transact(false, |t| {
            Ok::<_, Failed>(t.put(&key("counter"), json!({"n": 0, "metadata": {}})))
        })
        .unwrap();
    let outcomes: Vec<Result<(), Failed>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let store = &store;
                s.spawn(move || {
                    (0..20)
                        .map(|_| {
                            // Read, then write only if nobody wrote in between (what a
                            // PUT with metadata.resourceVersion asks for).
                            let seen = store.get(&key("counter")).unwrap();
                            store.transact(false, |t| {
                                let now = t.get(&key("counter")).unwrap();
                                if resource_version(&now) != resource_version(&seen) {
                                    return Err(Failed::Conflict);
                                }
                                let n = now["n"].as_u64().unwrap() + 1;
                                t.put(&key("counter"), json!({"n": n, "metadata": {}}));
                                Ok(())
                            })
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let ok = outcomes.iter().filter(|o| o.is_ok()).count() as u64;
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Ok(()) | Err(Failed::Conflict)))
    );
    assert!(
        ok < 160,
        "8 threads racing on one object must conflict sometimes"
    );
    // No lost update: each successful write incremented exactly once.
    let counter = store.get(&key("counter")).unwrap();
    assert_eq!(counter["n"].as_u64().unwrap(), ok);
    assert_eq!(store.current_rv(), 1 + ok);
}

#[test]
fn a_write_is_computed_against_writes_staged_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db.redb")).unwrap();
    store
        .stage(false, |t| Ok::<_, StoreError>(t.put(&key("a"), obj("a"))))
        .unwrap();
    // Committed or still staged, the second transaction sees the first and its version.
    let (seen, rv) = store
        .stage(false, |t| {
            let a = t.get(&key("a"));
            let listed = t.scan("/configmaps/ns/").len();
            t.delete(&key("a"));
            Ok::<_, StoreError>((a.map(|a| resource_version(&a)), listed))
        })
        .unwrap();
    assert_eq!((seen, rv), (Some(1), 1));
    let third = store
        .transact(false, |t| Ok::<_, StoreError>(t.get(&key("a"))))
        .unwrap();
    assert!(third.is_none(), "the staged delete is seen");
    drop(store);
    let store = Store::open(&dir.path().join("db.redb")).unwrap();
    assert!(store.get(&key("a")).is_none());
    assert_eq!(store.current_rv(), 2);
}

#[test]
fn waiting_writes_hold_no_thread_and_share_fsyncs() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("db.redb")).unwrap());
    let writes = 200;
    // One thread runs every request; they all wait for the disk at once.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let tasks: Vec<_> = (0..writes)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    let name = format!("w{i}");
                    let stored = store
                        .durable(|| {
                            store.stage(false, |t| {
                                Ok::<_, StoreError>(t.put(&key(&name), obj(&name)))
                            })
                        })
                        .await
                        .unwrap()
                        .unwrap();
                    assert!(store.get(&key(&name)).is_some(), "durable means published");
                    resource_version(&stored)
                })
            })
            .collect();
        let mut rvs = Vec::new();
        for t in tasks {
            rvs.push(t.await.unwrap());
        }
        rvs.sort_unstable();
        assert_eq!(rvs, (1..=writes).collect::<Vec<_>>());
    });
    let commits = store.shared.progress.commits.load(Ordering::Relaxed);
    assert!(
        commits < writes / 2,
        "{commits} fsyncs for {writes} concurrent writes: they should be grouped"
    );
}

#[test]
fn a_failed_commit_fails_every_write_it_could_have_touched() {
    let decided = writer::Decided {
        rv: 10,
        failed: vec![(4, 6)],
    };
    assert_eq!(decided.failure_in(0, 3), None);
    assert_eq!(decided.failure_in(3, 4), Some((4, 6)));
    assert_eq!(decided.failure_in(5, 9), Some((4, 6)));
    assert_eq!(decided.failure_in(6, 9), None);
}
