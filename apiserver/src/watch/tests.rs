//! Watches decide selectors on the events' stored labels (and parse only for a field
//! selector) and write the stored JSON as it is: these pin what a selected watch sees —
//! an object moving into the selection is ADDED, out of it DELETED — both live and
//! replayed from the log, and that each line is the stored object.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::*;
use crate::path::ResourcePath;
use crate::selector::{FieldSelector, LabelSelector};
use crate::store::{StoreError, object_key};

fn configmaps(api: &Api) -> ResourcePath {
    ResourcePath {
        rt: api
            .table
            .find("", "v1", "configmaps")
            .cloned()
            .expect("configmaps"),
        namespace: Some("ns".into()),
        name: None,
        subresource: None,
    }
}

fn put(api: &Api, name: &str, app: &str) {
    let key = object_key("/configmaps", "ns", name);
    api.store
        .transact(false, |txn| {
            txn.put(
                &key,
                json!({"apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": {"name": name, "namespace": "ns", "labels": {"app": app}},
                       "data": {"app": app}}),
            );
            Ok::<(), StoreError>(())
        })
        .expect("put");
}

fn delete(api: &Api, name: &str) {
    let key = object_key("/configmaps", "ns", name);
    api.store
        .transact(false, |txn| {
            txn.delete(&key);
            Ok::<(), StoreError>(())
        })
        .expect("delete");
}

fn watch(api: &Api, opts: ListOptions, from: Option<u64>) -> mpsc::Receiver<Bytes> {
    let req = WatchRequest {
        rp: configmaps(api),
        opts,
        from,
        bookmarks: false,
        initial_events_end: false,
        timeout: None,
    };
    start(api, req, Arc::new(json_line)).expect("watch")
}

/// The next line as (type, name, data.app, resourceVersion), checking it is one JSON
/// object on one line.
async fn next(rx: &mut mpsc::Receiver<Bytes>) -> (String, String, String, String) {
    let line = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("an event within 10 s")
        .expect("the watch is open");
    assert!(line.ends_with(b"\n") && !line[..line.len() - 1].contains(&b'\n'));
    let v: Value = serde_json::from_slice(&line).expect("a JSON line");
    let s = |p: &str| {
        v.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    (
        s("/type"),
        s("/object/metadata/name"),
        s("/object/data/app"),
        s("/object/metadata/resourceVersion"),
    )
}

fn ev(kind: &str, name: &str, app: &str) -> (String, String, String) {
    (kind.into(), name.into(), app.into())
}

fn labels(s: &str) -> ListOptions {
    ListOptions {
        labels: Some(LabelSelector::parse(s).expect("selector")),
        ..ListOptions::default()
    }
}

/// The same writes, seen through `app=a`: moves in and out are ADDED and DELETED,
/// changes outside the selection are not sent.
async fn moves_through_app_a(rx: &mut mpsc::Receiver<Bytes>) {
    let mut seen = Vec::new();
    for _ in 0..5 {
        let (kind, name, app, _) = next(rx).await;
        seen.push((kind, name, app));
    }
    assert_eq!(
        seen,
        vec![
            ev("ADDED", "y", "a"),    // y moved in
            ev("MODIFIED", "x", "a"), // x changed inside
            ev("DELETED", "x", "b"),  // x moved out (sent with its new state)
            ev("DELETED", "y", "a"),  // y deleted: its last state
            ev("ADDED", "z", "a"),
        ]
    );
}

fn write_moves(api: &Api) {
    put(api, "y", "a");
    put(api, "x", "a");
    put(api, "x", "b");
    put(api, "x", "b"); // outside the selection before and after: nothing
    put(api, "w", "b"); // never selected: nothing
    delete(api, "w");
    delete(api, "y");
    put(api, "z", "a");
}

#[tokio::test]
async fn a_label_selected_watch_sees_objects_move_in_and_out() {
    let dir = tempfile::tempdir().unwrap();
    let api = Api::open(&dir.path().join("db.redb")).unwrap();
    put(&api, "x", "a");
    put(&api, "y", "b");
    let mut rx = watch(&api, labels("app=a"), None);
    // From now: the current objects the selector takes, as ADDED.
    let (kind, name, app, _) = next(&mut rx).await;
    assert_eq!((kind, name, app), ev("ADDED", "x", "a"));
    write_moves(&api);
    moves_through_app_a(&mut rx).await;
}

#[tokio::test]
async fn a_watch_resumed_from_the_log_selects_the_same_way() {
    let dir = tempfile::tempdir().unwrap();
    let api = Api::open(&dir.path().join("db.redb")).unwrap();
    put(&api, "x", "a");
    put(&api, "y", "b");
    let from = api.store.current_rv();
    write_moves(&api);
    // Every event below is replayed from the log.
    let mut rx = watch(&api, labels("app=a"), Some(from));
    moves_through_app_a(&mut rx).await;
}

#[tokio::test]
async fn a_field_selected_watch_parses_to_decide() {
    let dir = tempfile::tempdir().unwrap();
    let api = Api::open(&dir.path().join("db.redb")).unwrap();
    let opts = ListOptions {
        fields: Some(FieldSelector::parse("metadata.name=x").expect("selector")),
        ..labels("app=a")
    };
    let mut rx = watch(&api, opts, None);
    put(&api, "y", "a");
    put(&api, "x", "b");
    put(&api, "x", "a");
    delete(&api, "x");
    let rv_of_delete = api.store.current_rv().to_string();
    let (kind, name, app, _) = next(&mut rx).await;
    assert_eq!((kind, name, app), ev("ADDED", "x", "a"));
    let (kind, name, app, rv) = next(&mut rx).await;
    assert_eq!((kind, name, app), ev("DELETED", "x", "a"));
    assert_eq!(rv, rv_of_delete);
}

#[tokio::test]
async fn each_line_carries_the_stored_object() {
    let dir = tempfile::tempdir().unwrap();
    let api = Api::open(&dir.path().join("db.redb")).unwrap();
    let mut rx = watch(&api, ListOptions::default(), None);
    put(&api, "x", "a");
    let line = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .unwrap()
        .unwrap();
    let v: Value = serde_json::from_slice(&line).unwrap();
    let stored = api
        .store
        .get(&object_key("/configmaps", "ns", "x"))
        .unwrap();
    assert_eq!(v, json!({"type": "ADDED", "object": *stored}));
}
