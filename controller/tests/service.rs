//! Service → Configuration + Route → Revision → Deployment and status back, against the
//! embedded API server with the Service, Configuration and Revision reconcilers running.
//! Nothing runs replicas: the tests play the runner by writing the Deployment's `/status`.

mod common;
mod service_harness;

use common::eventually;
use crds::{Configuration, Revision, Route, Service};
use k8s_openapi::api::apps::v1::Deployment;
use kube::ResourceExt;
use serde_json::{Value, json};
use service_harness::{condition, env_of, start};

fn hello(env_value: &str, labels: Value) -> Value {
    json!({
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {"name": "hello", "namespace": "default", "labels": labels,
                     "annotations": {"team": "web"}},
        "spec": {"template": {
            "metadata": {"annotations": {"autoscaling.knative.dev/min-scale": "2"}},
            "spec": {"containers": [{
                "command": ["python3", "-m", "http.server"],
                "env": [{"name": "TARGET", "value": env_value}],
            }]},
        }},
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn service_makes_children_and_reports_readiness() {
    let h = start().await;
    h.apply_service(hello("world", json!({"app-group": "demo"})))
        .await;
    let svc: Service = h.get("hello").await.unwrap();
    let svc_uid = svc.uid().unwrap();

    // Configuration and Route: same name, labelled, owned by the Service.
    let cfg: Configuration = eventually("configuration", || h.get("hello")).await;
    assert_eq!(cfg.labels()["serving.knative.dev/service"], "hello");
    assert_eq!(cfg.labels()["app-group"], "demo");
    assert_eq!(cfg.annotations()["team"], "web");
    assert_eq!(cfg.owner_references()[0].uid, svc_uid);
    assert_eq!(cfg.spec.template, svc.spec.template);
    let route: Route = eventually("route", || h.get("hello")).await;
    assert_eq!(route.owner_references()[0].uid, svc_uid);
    let traffic = route.spec.traffic.unwrap();
    assert_eq!(traffic[0].configuration_name(), "hello");
    assert_eq!(traffic[0].percent, Some(100));

    // The first Revision and its Deployment.
    let rev: Revision = eventually("hello-00001", || h.get("hello-00001")).await;
    assert_eq!(rev.labels()["serving.knative.dev/configuration"], "hello");
    assert_eq!(
        rev.labels()["serving.knative.dev/configurationGeneration"],
        "1"
    );
    assert_eq!(rev.labels()["serving.knative.dev/service"], "hello");
    assert_eq!(rev.owner_references()[0].kind, "Configuration");
    let d: Deployment = eventually("deployment", || h.get("hello-00001-deployment")).await;
    let env = env_of(&d);
    assert_eq!(env["TARGET"], "world");
    assert_eq!(env["PORT"], "8080");
    assert_eq!(env["K_SERVICE"], "hello");
    assert_eq!(env["K_CONFIGURATION"], "hello");
    assert_eq!(env["K_REVISION"], "hello-00001");
    assert_eq!(
        d.labels()["serving.knative.dev/revisionUID"],
        rev.uid().unwrap()
    );
    assert_eq!(d.owner_references()[0].name, "hello-00001");
    assert_eq!(d.owner_references()[0].block_owner_deletion, Some(true));
    assert_eq!(
        d.spec.replicas,
        Some(2),
        "min-scale 2 beats initial-scale 1"
    );

    // The runner reports a ready replica: Revision, Configuration, Service follow.
    h.deployment_status(
        "hello-00001-deployment",
        json!({"replicas": 2, "readyReplicas": 1, "availableReplicas": 1,
               "conditions": [{"type": "Available", "status": "True"}]}),
    )
    .await;
    let rev = eventually("hello-00001 ready", || async {
        let r: Revision = h.get("hello-00001").await?;
        let s = r.status.as_ref()?;
        (condition(s.conditions.as_ref(), "Ready")?.status == "True").then_some(r)
    })
    .await;
    let rs = rev.status.unwrap();
    assert_eq!(
        (rs.actual_replicas, rs.desired_replicas),
        (Some(1), Some(2))
    );
    assert_eq!(
        condition(rs.conditions.as_ref(), "Active").unwrap().status,
        "True"
    );
    eventually("configuration ready", || async {
        let c: Configuration = h.get("hello").await?;
        let s = c.status?;
        (s.latest_ready_revision_name.as_deref() == Some("hello-00001")
            && condition(s.conditions.as_ref(), "Ready")?.status == "True")
            .then_some(())
    })
    .await;
    eventually("service ConfigurationsReady", || async {
        let s: Service = h.get("hello").await?;
        let st = s.status?;
        (condition(st.conditions.as_ref(), "ConfigurationsReady")?.status == "True"
            && st.latest_ready_revision_name.as_deref() == Some("hello-00001")
            && st.observed_generation == s.metadata.generation)
            .then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn template_changes_make_revisions_and_failures_surface() {
    let h = start().await;
    h.apply_service(hello("world", json!({}))).await;
    eventually("hello-00001", || h.get::<Revision>("hello-00001")).await;
    h.deployment_status(
        "hello-00001-deployment",
        json!({"replicas": 2, "readyReplicas": 2}),
    )
    .await;

    // A new env value is a new template: hello-00002.
    h.apply_service(hello("moon", json!({}))).await;
    eventually("hello-00002", || h.get::<Revision>("hello-00002")).await;
    let d: Deployment = eventually("deployment 2", || h.get("hello-00002-deployment")).await;
    assert_eq!(env_of(&d)["TARGET"], "moon");

    // A label alone is metadata: it reaches the Configuration but stamps no Revision.
    h.apply_service(hello("moon", json!({"tier": "gold"})))
        .await;
    eventually("label on configuration", || async {
        let c: Configuration = h.get("hello").await?;
        (c.labels().get("tier").map(String::as_str) == Some("gold")).then_some(())
    })
    .await;
    let cfg: Configuration = h.get("hello").await.unwrap();
    assert_eq!(cfg.metadata.generation, Some(2));
    assert_eq!(h.revision_names().await, ["hello-00001", "hello-00002"]);

    // The new revision's container keeps exiting: the runner says so.
    let msg = "container user-container exited with code 3: ValueError: boom";
    h.deployment_status(
        "hello-00002-deployment",
        json!({"replicas": 2, "readyReplicas": 0, "unavailableReplicas": 2,
               "conditions": [{"type": "ReplicaFailure", "status": "True",
                               "reason": "ExitCode3", "message": msg}]}),
    )
    .await;
    let rev = eventually("hello-00002 failed", || async {
        let r: Revision = h.get("hello-00002").await?;
        let s = r.status.as_ref()?;
        (condition(s.conditions.as_ref(), "Ready")?.status == "False").then_some(r)
    })
    .await;
    let conds = rev.status.unwrap().conditions;
    let healthy = condition(conds.as_ref(), "ContainerHealthy").unwrap();
    assert_eq!(healthy.reason.as_deref(), Some("ExitCode3"));
    assert_eq!(healthy.message.as_deref(), Some(msg));

    let cfg_ready = eventually("configuration failed", || async {
        let c: Configuration = h.get("hello").await?;
        let s = c.status?;
        let ready = condition(s.conditions.as_ref(), "Ready")?.clone();
        (ready.status == "False").then_some((ready, s.latest_ready_revision_name))
    })
    .await;
    assert_eq!(cfg_ready.0.reason.as_deref(), Some("RevisionFailed"));
    assert!(cfg_ready.0.message.as_deref().unwrap().contains(msg));
    assert_eq!(
        cfg_ready.1.as_deref(),
        Some("hello-00001"),
        "the old one still serves"
    );

    let svc_ready = eventually("service shows the failure", || async {
        let s: Service = h.get("hello").await?;
        let st = s.status?;
        let ready = condition(st.conditions.as_ref(), "Ready")?.clone();
        (ready.status == "False").then_some((ready, st.latest_created_revision_name))
    })
    .await;
    assert!(svc_ready.0.message.as_deref().unwrap().contains(msg));
    assert_eq!(svc_ready.1.as_deref(), Some("hello-00002"));
}

/// With the Route reconciler running too, the Service becomes Ready with a URL and the
/// Route's resolved traffic.
#[tokio::test(flavor = "multi_thread")]
async fn service_becomes_ready_with_the_route_reconciler() {
    let h = start().await;
    tokio::spawn(controller::route::run(h.context()));
    h.apply_service(hello("world", json!({}))).await;
    h.deployment_status(
        "hello-00001-deployment",
        json!({"replicas": 2, "readyReplicas": 2}),
    )
    .await;
    let st = eventually("service ready", || async {
        let s: Service = h.get("hello").await?;
        let st = s.status?;
        (condition(st.conditions.as_ref(), "Ready")?.status == "True").then_some(st)
    })
    .await;
    assert_eq!(st.url.as_deref(), Some("http://hello.default.example.com"));
    let traffic = st.traffic.unwrap();
    assert_eq!(traffic[0].revision_name(), "hello-00001");
    assert_eq!(traffic[0].percent, Some(100));
}
