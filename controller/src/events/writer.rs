//! The task that turns records into core/v1 Events: a create for a new one, a merge
//! patch of `count` and `lastTimestamp` for a repeat (a create again if it is gone).

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Event, EventSource};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, Time};
use kube::api::{Api, ObjectMeta, Patch, PatchParams, PostParams};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::Record;
use super::correlator::{Correlator, Write};

/// Writes every record of `records` until all senders are gone.
pub(super) async fn run(
    client: kube::Client,
    component: &'static str,
    mut records: mpsc::Receiver<Record>,
) {
    let mut correlator = Correlator::default();
    while let Some(record) = records.recv().await {
        let Some(write) = correlator.observe(&record, Instant::now(), Timestamp::now()) else {
            tracing::debug!(reason = %record.reason, "event dropped: too many for its object");
            continue;
        };
        // Events live in the namespace of what they are about (cluster-scoped: default).
        let namespace = record
            .regarding
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_owned());
        let api: Api<Event> = Api::namespaced(client.clone(), &namespace);
        let result = if write.create {
            create(&api, &namespace, component, &record, &write).await
        } else {
            match update(&api, &write).await {
                Err(kube::Error::Api(status)) if status.code == 404 => {
                    correlator.forget(&write.name);
                    let again = correlator.observe(&record, Instant::now(), Timestamp::now());
                    match again {
                        Some(write) => create(&api, &namespace, component, &record, &write).await,
                        None => Ok(()),
                    }
                }
                other => other,
            }
        };
        if let Err(error) = result {
            tracing::debug!(%error, reason = %record.reason, "event not written");
        }
    }
}

async fn create(
    api: &Api<Event>,
    namespace: &str,
    component: &str,
    record: &Record,
    write: &Write,
) -> Result<(), kube::Error> {
    let event = Event {
        metadata: ObjectMeta {
            name: Some(write.name.clone()),
            namespace: Some(namespace.to_owned()),
            ..ObjectMeta::default()
        },
        involved_object: record.regarding.clone(),
        type_: Some(record.type_.as_str().to_owned()),
        reason: Some(record.reason.clone()),
        message: Some(record.message.clone()),
        count: Some(write.count),
        first_timestamp: Some(Time(write.first)),
        last_timestamp: Some(Time(write.last)),
        source: Some(EventSource {
            component: Some(component.to_owned()),
            host: None,
        }),
        reporting_component: Some(component.to_owned()),
        event_time: None::<MicroTime>,
        ..Event::default()
    };
    api.create(&PostParams::default(), &event).await.map(drop)
}

async fn update(api: &Api<Event>, write: &Write) -> Result<(), kube::Error> {
    let patch = serde_json::json!({
        "count": write.count,
        "lastTimestamp": Time(write.last),
    });
    api.patch(&write.name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map(drop)
}
