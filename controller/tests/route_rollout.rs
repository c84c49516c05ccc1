//! Gradual rollout against the embedded API server: `config-network`'s default
//! `rollout-duration`, and the Route annotation that overrides it.

mod common;
mod route_harness;

use common::eventually;
use crds::Route;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams, PostParams};
use route_harness::{start, target};
use serde_json::json;

fn latest() -> serde_json::Value {
    json!([{"configurationName": "hello", "percent": 100}])
}

#[tokio::test(flavor = "multi_thread")]
async fn the_network_default_rolls_out_and_the_annotation_overrides_it() {
    let h = start().await;
    let cm: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "config-network", "namespace": "knative-serving"},
        "data": {"rollout-duration": "3"},
    }))
    .unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(h.client.clone(), "knative-serving");
    cms.create(&PostParams::default(), &cm).await.unwrap();
    h.create_configuration("hello", None).await;
    h.create_ready_revision("hello-00001", "hello").await;
    h.set_latest_ready("hello", "hello-00001").await;
    h.create_route("hello", json!({}), latest()).await;
    h.wait_published("hello", |r| {
        r.targets == [target("hello-00001", 100, None, "example.com")]
    })
    .await;

    // A new latest revision starts at 1% and ends with everything.
    h.create_ready_revision("hello-00002", "hello").await;
    h.set_latest_ready("hello", "hello-00002").await;
    h.wait_published("hello", |r| {
        r.targets
            == [
                target("hello-00001", 99, None, "example.com"),
                target("hello-00002", 1, None, "example.com"),
            ]
    })
    .await;
    h.wait_published("hello", |r| {
        r.targets == [target("hello-00002", 100, None, "example.com")]
    })
    .await;

    // `rollout-duration: 0s` on the Route turns it off for that Route: the next
    // revision takes everything at once (a rollout would hold 1% for a second, which
    // polling every 10 ms would see first).
    let patch =
        json!({"metadata": {"annotations": {"serving.knative.dev/rollout-duration": "0s"}}});
    h.api::<Route>()
        .patch("hello", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    // The reconciler has seen it once it drops the rollout state.
    eventually("the rollout state removed", || {
        let routes = h.api::<Route>();
        async move {
            let route = routes.get("hello").await.ok()?;
            let annotations = route.metadata.annotations.unwrap_or_default();
            (!annotations.contains_key("serving.knative.dev/rollout")).then_some(())
        }
    })
    .await;
    h.create_ready_revision("hello-00003", "hello").await;
    h.set_latest_ready("hello", "hello-00003").await;
    let published = h
        .wait_published("hello", |r| {
            r.targets.iter().any(|t| t.revision == "hello-00003")
        })
        .await;
    assert_eq!(
        published.targets,
        [target("hello-00003", 100, None, "example.com")],
        "no partial split"
    );
}
