//! The Route reconciler against the embedded API server: how each kind of target
//! resolves (or does not) and where cluster-local Routes live.

mod common;
mod route_harness;

use route_harness::{condition, is_ready, start, target};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn a_floating_route_waits_for_its_first_ready_revision() {
    let h = start().await;
    h.create_configuration("hello", None).await;
    h.create_route(
        "hello",
        json!({}),
        json!([{"configurationName": "hello", "percent": 100}]),
    )
    .await;
    let status = h
        .wait_status("hello", |s| {
            condition(s, "AllTrafficAssigned").is_some_and(|c| c.status == "Unknown")
        })
        .await;
    assert_eq!(
        condition(&status, "AllTrafficAssigned")
            .unwrap()
            .message
            .as_deref(),
        Some("Configuration \"hello\" is waiting for a Revision to become ready.")
    );
    assert_eq!(
        condition(&status, "IngressReady").unwrap().status,
        "Unknown"
    );
    assert_eq!(condition(&status, "Ready").unwrap().status, "Unknown");
    assert!(h.published("hello").is_none());

    // The revision controller's part: a ready revision, then the configuration's status.
    h.create_ready_revision("hello-00001", "hello").await;
    h.set_latest_ready("hello", "hello-00001").await;
    h.wait_published("hello", |r| {
        r.targets == [target("hello-00001", 100, None, "example.com")]
    })
    .await;
    let status = h.wait_status("hello", is_ready).await;
    assert_eq!(status.traffic.unwrap()[0].latest_revision, Some(true));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_configuration_is_reported_by_name() {
    let h = start().await;
    h.create_route(
        "hello",
        json!({}),
        json!([{"configurationName": "nope", "percent": 100}]),
    )
    .await;
    let (_, assigned) = h.wait_unassigned("hello").await;
    assert_eq!(assigned.reason.as_deref(), Some("ConfigurationMissing"));
    assert_eq!(
        assigned.message.as_deref(),
        Some("Configuration \"nope\" referenced in traffic not found.")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cluster_local_routes_live_under_svc_cluster_local() {
    let h = start().await;
    h.create_configuration("hello", None).await;
    h.create_ready_revision("hello-00001", "hello").await;
    h.create_route(
        "hello",
        json!({"networking.knative.dev/visibility": "cluster-local"}),
        json!([{"revisionName": "hello-00001", "percent": 100, "tag": "v1"}]),
    )
    .await;
    let published = h
        .wait_published("hello", |r| r.host == "hello.default.svc.cluster.local")
        .await;
    assert_eq!(
        published.targets[0].tag_host.as_deref(),
        Some("v1-hello.default.svc.cluster.local")
    );
    let status = h.wait_status("hello", is_ready).await;
    assert_eq!(
        status.url.as_deref(),
        Some("http://hello.default.svc.cluster.local")
    );
}
