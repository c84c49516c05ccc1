//! The Route reconciler against the embedded API server: splits, missing targets,
//! the domain ConfigMap and deletion, on one Route's life.

mod common;
mod route_harness;

use std::time::Duration;

use common::eventually;
use crds::Route;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, PostParams};
use route_harness::{condition, is_ready, start, target};
use serde_json::{Value, json};

fn split(latest: i64, pinned: i64) -> Value {
    json!([
        {"configurationName": "hello", "latestRevision": true, "percent": latest, "tag": "current"},
        {"revisionName": "hello-00001", "percent": pinned, "tag": "prev"},
    ])
}

#[tokio::test(flavor = "multi_thread")]
async fn a_route_follows_splits_missing_targets_domains_and_deletion() {
    let h = start().await;
    h.create_configuration("hello", None).await;
    h.create_ready_revision("hello-00001", "hello").await;
    h.create_ready_revision("hello-00002", "hello").await;
    h.set_latest_ready("hello", "hello-00002").await;
    h.create_route("hello", json!({}), split(80, 20)).await;

    let expected = vec![
        target("hello-00002", 80, Some("current"), "example.com"),
        target("hello-00001", 20, Some("prev"), "example.com"),
    ];
    let published = h.wait_published("hello", |r| r.targets == expected).await;
    assert_eq!(published.host, "hello.default.example.com");

    let status = h.wait_status("hello", is_ready).await;
    assert_eq!(
        status.url.as_deref(),
        Some("http://hello.default.example.com")
    );
    assert_eq!(
        status.address.as_ref().and_then(|a| a.url.as_deref()),
        Some("http://hello.default.svc.cluster.local")
    );
    let traffic = status.traffic.clone().unwrap();
    assert_eq!(traffic.len(), 2);
    assert_eq!(traffic[0].revision_name.as_deref(), Some("hello-00002"));
    assert_eq!(traffic[0].latest_revision, Some(true));
    assert_eq!(traffic[0].percent, Some(80));
    assert_eq!(
        traffic[0].url.as_deref(),
        Some("http://current-hello.default.example.com")
    );
    assert_eq!(traffic[1].revision_name.as_deref(), Some("hello-00001"));
    assert_eq!(traffic[1].latest_revision, Some(false));
    assert_eq!(
        traffic[1].url.as_deref(),
        Some("http://prev-hello.default.example.com")
    );
    for type_ in [
        "AllTrafficAssigned",
        "IngressReady",
        "CertificateProvisioned",
    ] {
        assert!(condition(&status, type_).unwrap().is_true(), "{type_}");
    }

    // A new split reaches the routing table, woken by the table itself (no polling).
    let mut changes = h.routing().subscribe();
    let started = tokio::time::Instant::now();
    h.set_traffic("hello", split(50, 50)).await;
    let written = started.elapsed();
    while h.published("hello").unwrap().targets[0].percent != 50 {
        tokio::time::timeout(Duration::from_secs(20), changes.changed())
            .await
            .expect("routing change in time")
            .unwrap();
    }
    eprintln!(
        "split change: API write {written:?}, in the routing table after {:?}",
        started.elapsed()
    );

    // A missing revision: AllTrafficAssigned False, and the 50/50 split keeps serving.
    h.set_traffic(
        "hello",
        json!([{"revisionName": "hello-00009", "percent": 100}]),
    )
    .await;
    let (status, assigned) = h.wait_unassigned("hello").await;
    assert_eq!(assigned.reason.as_deref(), Some("RevisionMissing"));
    assert_eq!(
        assigned.message.as_deref(),
        Some("Revision \"hello-00009\" referenced in traffic not found.")
    );
    assert_eq!(condition(&status, "Ready").unwrap().status, "False");
    assert_eq!(h.published("hello").unwrap().targets[0].percent, 50);

    // The revision appears and is ready: the route resolves without a spec change.
    h.create_ready_revision("hello-00009", "hello").await;
    h.wait_published("hello", |r| {
        r.targets == [target("hello-00009", 100, None, "example.com")]
    })
    .await;
    h.wait_status("hello", is_ready).await;

    // A new default domain moves every host.
    let cm: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "config-domain", "namespace": "knative-serving"},
        "data": {"fnmesh.test": ""},
    }))
    .unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(h.client.clone(), "knative-serving");
    cms.create(&PostParams::default(), &cm).await.unwrap();
    h.set_traffic("hello", split(80, 20)).await;
    h.wait_published("hello", |r| {
        r.host == "hello.default.fnmesh.test"
            && r.targets[0].tag_host.as_deref() == Some("current-hello.default.fnmesh.test")
    })
    .await;
    let status = h
        .wait_status("hello", |s| {
            s.url.as_deref() == Some("http://hello.default.fnmesh.test") && is_ready(s)
        })
        .await;
    assert_eq!(
        status.traffic.unwrap()[1].url.as_deref(),
        Some("http://prev-hello.default.fnmesh.test")
    );

    // Deleting the ConfigMap restores example.com.
    cms.delete("config-domain", &DeleteParams::default())
        .await
        .unwrap();
    h.wait_published("hello", |r| r.host == "hello.default.example.com")
        .await;

    // Deleting the Route removes it from the routing table.
    h.api::<Route>()
        .delete("hello", &DeleteParams::default())
        .await
        .unwrap();
    eventually("route removal", || {
        let gone = h.published("hello").is_none();
        async move { gone.then_some(()) }
    })
    .await;
}
