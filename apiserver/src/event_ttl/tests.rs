//! The TTL on an injected clock: Events are written as a client writes them (through
//! the API's own create and update), then swept with `now` chosen by the test.

use serde_json::json;

use super::*;
use crate::admission::FieldValidation;
use crate::path::ResourcePath;
use crate::store::EventType;
use crate::write::WriteOptions;

const HOUR: Duration = DEFAULT_EVENT_TTL;

fn client() -> WriteOptions {
    WriteOptions {
        dry_run: false,
        field_manager: "fnmesh-controller".into(),
        field_validation: FieldValidation::parse(None).expect("default validation"),
        force: false,
    }
}

fn open() -> (Api, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let api = Api::open(&dir.path().join("fnmesh.redb")).expect("open");
    (api, dir)
}

fn events(api: &Api) -> ResourcePath {
    ResourcePath {
        rt: api.table.find("", "v1", "events").cloned().expect("events"),
        namespace: Some("default".into()),
        name: None,
        subresource: None,
    }
}

fn event(name: &str, last: Option<Timestamp>) -> Value {
    let mut event = json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": name, "namespace": "default"},
        "involvedObject": {"kind": "Service", "namespace": "default", "name": "hello"},
        "reason": "Created", "message": "created", "type": "Normal", "count": 1,
    });
    if let Some(last) = last {
        event["lastTimestamp"] = json!(last.strftime("%Y-%m-%dT%H:%M:%SZ").to_string());
    }
    event
}

async fn create(api: &Api, body: Value) -> Value {
    let written = api.create(&events(api), body, &client()).expect("create");
    api.store.durable(|| ()).await.expect("durable");
    (*written.object).clone()
}

fn names(api: &Api) -> Vec<String> {
    let (items, _) = api.store.list(EVENTS);
    items
        .iter()
        .map(|e| {
            e["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

fn plus(t: Timestamp, d: Duration) -> Timestamp {
    t.checked_add(jiff::SignedDuration::try_from(d).expect("duration"))
        .expect("in range")
}

#[tokio::test]
async fn an_event_is_deleted_a_ttl_after_its_last_write_and_watchers_see_it_go() {
    let (api, _dir) = open();
    let written = Timestamp::now();
    create(&api, event("old", None)).await;
    // Updated later by its recorder (a repeat counted), so its TTL starts again then.
    let mut repeated = create(&api, event("repeated", None)).await;
    let again = plus(written, Duration::from_secs(1800));
    repeated["count"] = json!(2);
    repeated["lastTimestamp"] = json!(again.strftime("%Y-%m-%dT%H:%M:%SZ").to_string());
    let rp = ResourcePath {
        name: Some("repeated".into()),
        ..events(&api)
    };
    api.update(&rp, repeated, &client()).expect("update");
    api.store.durable(|| ()).await.expect("durable");
    let from = api.store.current_rv();
    let mut watch = api.store.subscribe(Some(from), "").expect("subscribe");

    // Just before an hour nothing goes; a sweep at the hour takes the old one only.
    let before = plus(written, HOUR - Duration::from_secs(5));
    assert_eq!(api.expire_events(before, HOUR).await.expect("sweep"), 0);
    assert_eq!(names(&api), ["old", "repeated"]);
    let after = plus(written, HOUR + Duration::from_secs(5));
    assert_eq!(api.expire_events(after, HOUR).await.expect("sweep"), 1);
    assert_eq!(names(&api), ["repeated"]);
    let deleted = watch.live.recv().await.expect("a watch event");
    assert_eq!(deleted.kind, EventType::Deleted);
    assert_eq!(deleted.object.object()["metadata"]["name"], "old");

    // An hour after its last write, the repeated one goes too; the sweep is idempotent.
    let later = plus(again, HOUR + Duration::from_secs(5));
    assert_eq!(api.expire_events(later, HOUR).await.expect("sweep"), 1);
    assert_eq!(api.expire_events(later, HOUR).await.expect("sweep"), 0);
    assert!(names(&api).is_empty());
}

#[tokio::test]
async fn the_ttl_is_configured_and_only_events_expire() {
    let (api, _dir) = open();
    let written = Timestamp::now();
    create(&api, event("e", None)).await;
    let configmaps = ResourcePath {
        rt: api
            .table
            .find("", "v1", "configmaps")
            .cloned()
            .expect("configmaps"),
        ..events(&api)
    };
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": "kept", "namespace": "default"}});
    api.create(&configmaps, cm, &client()).expect("create");
    api.store.durable(|| ()).await.expect("durable");

    let ttl = Duration::from_secs(120);
    let now = plus(written, Duration::from_secs(100));
    assert_eq!(api.expire_events(now, ttl).await.expect("sweep"), 0);
    let now = plus(written, Duration::from_secs(125));
    assert_eq!(api.expire_events(now, ttl).await.expect("sweep"), 1);
    let (left, _) = api.store.list("/configmaps/");
    assert_eq!(left.len(), 1, "a ConfigMap was swept with the Events");
}

#[test]
fn the_last_write_is_the_latest_time_the_event_carries() {
    let t = |s: &str| s.parse::<Timestamp>().expect("timestamp");
    let e = json!({
        "metadata": {"creationTimestamp": "2026-12-03T10:00:00Z",
                     "managedFields": [{"time": "2026-12-03T10:20:00Z"}]},
        "lastTimestamp": "2026-12-03T10:10:00Z",
        "eventTime": "2026-12-03T10:05:00.123456Z",
        "series": {"lastObservedTime": "2026-12-03T10:30:00.000001Z"},
    });
    assert_eq!(last_written(&e), Some(t("2026-12-03T10:30:00.000001Z")));
    assert!(!expired(&e, t("2026-12-03T11:30:00Z"), HOUR));
    assert!(expired(&e, t("2026-12-03T11:30:01Z"), HOUR));
    // Nothing to go by (no server wrote it): it does not stay forever.
    assert!(expired(
        &json!({"metadata": {}}),
        t("2026-12-03T10:00:00Z"),
        HOUR
    ));
}
