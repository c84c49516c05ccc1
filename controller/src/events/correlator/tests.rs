use std::time::Duration;

use super::*;
use crate::events::EventType;

fn record(name: &str, message: &str) -> Record {
    Record {
        regarding: ObjectReference {
            api_version: Some("serving.knative.dev/v1".into()),
            kind: Some("Revision".into()),
            namespace: Some("default".into()),
            name: Some(name.into()),
            uid: Some(format!("{name}-uid")),
            resource_version: Some("1".into()),
            field_path: None,
        },
        type_: EventType::Warning,
        reason: "RevisionFailed".into(),
        message: message.into(),
    }
}

fn wall(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + seconds).unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_repeat_counts_on_the_first_event() {
    let mut c = Correlator::default();
    let first = c
        .observe(&record("r", "boom"), Instant::now(), wall(0))
        .unwrap();
    assert!(first.create);
    assert_eq!(first.count, 1);
    assert!(first.name.starts_with("r."), "{}", first.name);

    tokio::time::advance(Duration::from_secs(5)).await;
    let mut moved = record("r", "boom");
    moved.regarding.resource_version = Some("2".into());
    let again = c.observe(&moved, Instant::now(), wall(5)).unwrap();
    assert_eq!(
        (
            again.create,
            again.name.as_str(),
            again.count,
            again.first,
            again.last
        ),
        (false, first.name.as_str(), 2, wall(0), wall(5)),
        "same object, reason and message: one Event, counted"
    );
    let other = c
        .observe(&record("r", "other"), Instant::now(), wall(6))
        .unwrap();
    assert!(other.create, "another message is another Event");
    assert_ne!(other.name, first.name);
}

#[tokio::test(start_paused = true)]
async fn an_object_gets_a_burst_then_one_write_per_five_minutes() {
    let mut c = Correlator::default();
    for i in 0..25 {
        let message = format!("m{i}");
        assert!(
            c.observe(&record("r", &message), Instant::now(), wall(0))
                .is_some()
        );
    }
    assert_eq!(
        c.observe(&record("r", "boom"), Instant::now(), wall(0)),
        None
    );
    assert!(
        c.observe(&record("s", "boom"), Instant::now(), wall(0))
            .is_some(),
        "each object has its own budget"
    );
    tokio::time::advance(Duration::from_secs(299)).await;
    assert_eq!(
        c.observe(&record("r", "boom"), Instant::now(), wall(299)),
        None
    );
    tokio::time::advance(Duration::from_secs(1)).await;
    assert!(
        c.observe(&record("r", "boom"), Instant::now(), wall(300))
            .is_some()
    );
    assert_eq!(
        c.observe(&record("r", "boom"), Instant::now(), wall(300)),
        None
    );
}

#[tokio::test(start_paused = true)]
async fn a_forgotten_event_starts_over() {
    let mut c = Correlator::default();
    let first = c
        .observe(&record("r", "boom"), Instant::now(), wall(0))
        .unwrap();
    c.forget(&first.name);
    let again = c
        .observe(&record("r", "boom"), Instant::now(), wall(1))
        .unwrap();
    assert!(again.create);
    assert_eq!(again.count, 1);
}
