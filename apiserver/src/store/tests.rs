use serde_json::json;

use super::*;

fn obj(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "ns"}})
}

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db.redb")).unwrap();
    (dir, store)
}

fn put(store: &Store, key: &str, v: Value) -> Arc<Value> {
    store
        .transact(false, |t| Ok::<_, StoreError>(t.put(key, v)))
        .unwrap()
}

#[test]
fn writes_get_increasing_resource_versions() {
    let (_d, store) = open();
    let a = put(&store, "/configmaps/ns/a", obj("a"));
    let b = put(&store, "/configmaps/ns/b", obj("b"));
    assert_eq!(resource_version(&a), 1);
    assert_eq!(resource_version(&b), 2);
    assert_eq!(store.current_rv(), 2);
    let (items, rv) = store.list("/configmaps/ns/");
    assert_eq!(items.len(), 2);
    assert_eq!(rv, 2);
}

#[test]
fn a_failed_or_dry_run_transaction_changes_nothing() {
    let (_d, store) = open();
    let r: Result<(), StoreError> = store.transact(false, |t| {
        t.put("/configmaps/ns/a", obj("a"));
        Err(StoreError::Db("refused".into()))
    });
    assert!(r.is_err());
    store
        .transact(true, |t| {
            Ok::<_, StoreError>(t.put("/configmaps/ns/b", obj("b")))
        })
        .unwrap();
    assert_eq!(store.current_rv(), 0);
    assert!(store.get("/configmaps/ns/a").is_none());
    assert!(store.get("/configmaps/ns/b").is_none());
}

#[test]
fn committed_objects_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.redb");
    {
        let store = Store::open(&path).unwrap();
        put(&store, "/configmaps/ns/a", obj("a"));
        put(&store, "/configmaps/ns/b", obj("b"));
        store
            .transact(false, |t| {
                t.delete("/configmaps/ns/a");
                Ok::<_, StoreError>(())
            })
            .unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert!(store.get("/configmaps/ns/a").is_none());
    assert_eq!(resource_version(&store.get("/configmaps/ns/b").unwrap()), 2);
    assert_eq!(store.current_rv(), 3);
}

#[test]
fn subscribe_replays_changes_after_a_version() {
    let (_d, store) = open();
    put(&store, "/configmaps/ns/a", obj("a"));
    put(&store, "/configmaps/ns/a", obj("a"));
    store
        .transact(false, |t| {
            t.delete("/configmaps/ns/a");
            Ok::<_, StoreError>(())
        })
        .unwrap();
    let sub = store.subscribe(Some(1), "").unwrap();
    let kinds: Vec<_> = sub.replay.iter().map(|e| (e.kind, e.rv)).collect();
    assert_eq!(
        kinds,
        vec![(EventType::Modified, 2), (EventType::Deleted, 3)]
    );
    // The deleted object carries the deletion's resourceVersion.
    assert_eq!(resource_version(&sub.replay[1].object.object()), 3);
}

#[test]
fn subscribe_from_now_snapshots_the_prefix() {
    let (_d, store) = open();
    put(&store, "/configmaps/ns/a", obj("a"));
    put(&store, "/secrets/ns/s", obj("s"));
    let sub = store.subscribe(None, "/configmaps/").unwrap();
    assert_eq!(sub.snapshot.len(), 1);
    assert_eq!(sub.rv, 2);
}

#[test]
fn versions_older_than_a_restart_are_gone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.redb");
    {
        let store = Store::open(&path).unwrap();
        put(&store, "/configmaps/ns/a", obj("a"));
        put(&store, "/configmaps/ns/b", obj("b"));
    }
    let store = Store::open(&path).unwrap();
    assert!(store.subscribe(Some(1), "").is_err());
    assert!(store.subscribe(Some(2), "").is_ok());
}

#[test]
fn live_events_reach_subscribers() {
    let (_d, store) = open();
    let mut sub = store.subscribe(None, "").unwrap();
    put(&store, "/configmaps/ns/a", obj("a"));
    let e = sub.live.try_recv().unwrap();
    assert_eq!(e.kind, EventType::Added);
    assert_eq!(e.prefix, "/configmaps");
    assert_eq!(e.namespace, "ns");
}
