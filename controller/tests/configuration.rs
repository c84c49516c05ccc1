//! A Configuration on its own (no Service) through Revision and Deployment, a container
//! the runner cannot start, and a control loop that settles instead of spinning.

mod common;
mod service_harness;

use std::time::Duration;

use common::eventually;
use crds::{Configuration, Revision};
use k8s_openapi::api::apps::v1::Deployment;
use kube::ResourceExt;
use kube::api::{Patch, PatchParams};
use serde_json::json;
use service_harness::{Harness, condition, env_of, start};

async fn apply_configuration(h: &Harness, command: serde_json::Value) {
    let manifest = json!({
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Configuration",
        "metadata": {"name": "solo", "namespace": "default"},
        "spec": {"template": {"spec": {"containers": [{
            "image": "example.com/solo",
            "command": command,
            "ports": [{"containerPort": 9000}],
        }]}}},
    });
    h.api::<Configuration>()
        .patch(
            "solo",
            &PatchParams::apply("test").force(),
            &Patch::Apply(&manifest),
        )
        .await
        .expect("apply configuration");
}

async fn ready_status(h: &Harness, name: &str) -> Option<(String, Option<String>)> {
    let r: Revision = h.get(name).await?;
    let c = condition(r.status.as_ref()?.conditions.as_ref(), "Ready")?;
    Some((c.status.clone(), c.reason.clone()))
}

#[tokio::test(flavor = "multi_thread")]
async fn standalone_configuration_recovers_from_an_unrunnable_container() {
    let h = start().await;
    apply_configuration(&h, json!(null)).await;

    let rev: Revision = eventually("solo-00001", || h.get("solo-00001")).await;
    assert!(!rev.labels().contains_key("serving.knative.dev/service"));
    let d: Deployment = eventually("deployment", || h.get("solo-00001-deployment")).await;
    let env = env_of(&d);
    assert_eq!(env["PORT"], "9000");
    assert_eq!(env["K_REVISION"], "solo-00001");
    assert!(!env.contains_key("K_SERVICE"), "no Service, no K_SERVICE");
    assert_eq!(d.spec.replicas, Some(1));

    // The runner cannot start a container without a command.
    let msg = "container user-container has no command: fnmesh runs containers as local processes";
    h.deployment_status(
        "solo-00001-deployment",
        json!({"replicas": 1, "readyReplicas": 0,
               "conditions": [{"type": "ReplicaFailure", "status": "True",
                               "reason": "ContainerNotRunnable", "message": msg}]}),
    )
    .await;
    eventually("revision not runnable", || async {
        let (status, reason) = ready_status(&h, "solo-00001").await?;
        (status == "False" && reason.as_deref() == Some("ContainerNotRunnable")).then_some(())
    })
    .await;
    let cfg_msg = eventually("configuration failed", || async {
        let c: Configuration = h.get("solo").await?;
        let ready = condition(c.status?.conditions.as_ref(), "Ready")?.clone();
        (ready.status == "False").then_some(ready.message)
    })
    .await;
    assert!(cfg_msg.unwrap().contains(msg));

    // Fixed: a new template, a new Revision, which comes up.
    apply_configuration(&h, json!(["python3", "-m", "http.server"])).await;
    eventually("solo-00002", || h.get::<Revision>("solo-00002")).await;
    h.deployment_status(
        "solo-00002-deployment",
        json!({"replicas": 1, "readyReplicas": 1}),
    )
    .await;
    let settled: Configuration = eventually("configuration ready", || async {
        let c: Configuration = h.get("solo").await?;
        let s = c.status.as_ref()?;
        (s.latest_ready_revision_name.as_deref() == Some("solo-00002")
            && s.latest_created_revision_name.as_deref() == Some("solo-00002")
            && condition(s.conditions.as_ref(), "Ready")?.status == "True")
            .then_some(c)
    })
    .await;

    // Nothing changes any more: reconciling a settled object writes nothing. (A short
    // wait is the only way to observe "no further writes".)
    let rev: Revision = h.get("solo-00002").await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (cfg_now, rev_now): (Configuration, Revision) = (
        h.get("solo").await.unwrap(),
        h.get("solo-00002").await.unwrap(),
    );
    assert_eq!(cfg_now.resource_version(), settled.resource_version());
    assert_eq!(rev_now.resource_version(), rev.resource_version());
}

#[tokio::test(flavor = "multi_thread")]
async fn user_named_revisions_are_used_and_guarded() {
    let h = start().await;
    let manifest = |name: &str, target: &str| {
        json!({
            "apiVersion": "serving.knative.dev/v1",
            "kind": "Configuration",
            "metadata": {"name": "named", "namespace": "default"},
            "spec": {"template": {
                "metadata": {"name": name},
                "spec": {"containers": [{"command": ["app"], "env": [{"name": "T", "value": target}]}]},
            }},
        })
    };
    let api = h.api::<Configuration>();
    let pp = PatchParams::apply("test").force();
    api.patch("named", &pp, &Patch::Apply(&manifest("named-blue", "a")))
        .await
        .unwrap();
    let rev: Revision = eventually("named-blue", || h.get("named-blue")).await;
    assert_eq!(
        rev.labels()["serving.knative.dev/configurationGeneration"],
        "1"
    );
    eventually("latest created", || async {
        let c: Configuration = h.get("named").await?;
        (c.status?.latest_created_revision_name.as_deref() == Some("named-blue")).then_some(())
    })
    .await;
}
