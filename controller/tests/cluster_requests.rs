//! What the revision reconciler asks of a real cluster, against kube's tower-test mock
//! of an API server: the exact requests — method, path, field manager, body — in the
//! two moments only a cluster produces. There, the Deployment controller and the
//! kubelet turn the Deployment into ready Pods and write its status, and Kubernetes'
//! EndpointSlice controller writes the revision Service's slices; fnmesh's runner does
//! neither. So the reconciler must create the Service and the Deployment and then read
//! readiness from the Deployment's status alone.

#[path = "cluster_requests/mock_api.rs"]
mod mock_api;

use std::sync::Arc;

use crds::{Container, Revision, RevisionSpec};
use kube::Resource as _;
use leader_election::Leadership;
use serde_json::{Value, json};

use mock_api::{Answer, MockApi};

const NS: &str = "default";
const REVISION: &str = "hello-00001";

fn revision() -> Revision {
    let mut rev = Revision::new(
        REVISION,
        RevisionSpec {
            containers: vec![Container {
                image: Some("ghcr.io/knative/helloworld-go:latest".into()),
                ..Container::default()
            }],
            ..RevisionSpec::default()
        },
    );
    rev.metadata.namespace = Some(NS.into());
    rev.metadata.uid = Some("rev-uid-1".into());
    rev.metadata.generation = Some(1);
    rev.metadata.labels = Some(
        [
            (
                "serving.knative.dev/configuration".to_owned(),
                "hello".to_owned(),
            ),
            ("serving.knative.dev/service".to_owned(), "hello".to_owned()),
        ]
        .into(),
    );
    rev
}

/// The revision as the API holds it.
fn revision_json() -> Value {
    let mut json = serde_json::to_value(revision()).unwrap();
    json["apiVersion"] = json!("serving.knative.dev/v1");
    json["kind"] = json!("Revision");
    json
}

async fn reconcile(api: &MockApi, rev: Revision) {
    let ctx = Arc::new(controller::Context::new(
        api.client(),
        controller::RoutingTable::new(),
        Leadership::always(),
    ));
    controller::revision::reconcile(Arc::new(rev), ctx)
        .await
        .expect("reconcile");
}

fn ready_condition(status: &Value) -> (String, String) {
    let ready = status["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "Ready")
        .cloned()
        .unwrap_or_default();
    (
        ready["status"].as_str().unwrap_or_default().to_owned(),
        ready["reason"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn a_new_revision_gets_its_service_and_deployment_applied_then_deploying_status() {
    let stored = revision_json();
    let api = MockApi::start(
        move |request| match (request.method.as_str(), request.kind()) {
            ("GET", _) => Answer::NotFound,
            ("PATCH", "revisions") => Answer::WithStatus(stored.clone()),
            // Server-side apply answers with the object as applied.
            ("PATCH", _) => Answer::Echo,
            _ => Answer::NotFound,
        },
    );
    reconcile(&api, revision()).await;
    let requests = api.requests();
    let summary: Vec<String> = requests.iter().map(mock_api::Seen::summary).collect();
    assert_eq!(
        summary,
        [
            "GET /api/v1/namespaces/default/services/hello-00001",
            "PATCH /api/v1/namespaces/default/services/hello-00001?fieldManager=fnmesh-controller&force=true",
            "GET /apis/apps/v1/namespaces/default/deployments/hello-00001-deployment",
            "PATCH /apis/apps/v1/namespaces/default/deployments/hello-00001-deployment?fieldManager=fnmesh-controller&force=true",
            "PATCH /apis/serving.knative.dev/v1/namespaces/default/revisions/hello-00001/status?fieldManager=fnmesh-controller&force=true",
        ]
    );
    // Every write is a server-side apply.
    for write in requests.iter().filter(|r| r.method == "PATCH") {
        assert_eq!(
            write.content_type,
            "application/apply-patch+yaml",
            "{}",
            write.summary()
        );
    }

    // The Service: Kubernetes' EndpointSlice controller writes its slices from this
    // selector, and the gateway finds the revision's endpoints by its name.
    let service = &requests[1].body;
    assert_eq!(service["kind"], "Service");
    assert_eq!(
        service["spec"]["selector"],
        json!({"serving.knative.dev/revision": REVISION})
    );
    assert_eq!(
        service["metadata"]["ownerReferences"][0]["uid"],
        "rev-uid-1"
    );
    assert_eq!(
        service["metadata"]["ownerReferences"][0]["controller"],
        true
    );
    assert_eq!(
        service["metadata"]["labels"]["serving.knative.dev/service"],
        "hello"
    );
    let port = &service["spec"]["ports"][0];
    assert_eq!(
        (port["name"].as_str(), port["targetPort"].as_i64()),
        (Some("http"), Some(8080))
    );

    // The Deployment: the kubelet runs its pod template; the pods carry the labels the
    // Service selects.
    let deployment = &requests[3].body;
    assert_eq!(deployment["kind"], "Deployment");
    let labels = &deployment["spec"]["template"]["metadata"]["labels"];
    assert_eq!(labels["serving.knative.dev/revision"], REVISION);
    // Knative selects a revision's pods by its UID, which a re-created revision of the
    // same name does not share.
    assert_eq!(
        deployment["spec"]["selector"]["matchLabels"]["serving.knative.dev/revisionUID"],
        "rev-uid-1"
    );
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], "ghcr.io/knative/helloworld-go:latest");
    assert_eq!(
        deployment["metadata"]["ownerReferences"][0]["kind"],
        "Revision"
    );

    // No Deployment status yet: the revision is deploying, not failed.
    let status = &requests[4].body;
    assert_eq!(ready_condition(status).0, "Unknown", "{status}");
}

#[tokio::test]
async fn a_deployment_that_kubernetes_reports_available_makes_the_revision_ready_with_no_other_write()
 {
    // What the cluster wrote since: the Service as applied (unchanged), and the
    // Deployment with the status the Deployment controller derives from ready Pods.
    let rev = revision();
    let owner = rev.controller_owner_ref(&()).unwrap();
    let stored = revision_json();
    let first = MockApi::start(move |request| match request.kind() {
        "revisions" => Answer::WithStatus(stored.clone()),
        _ => Answer::NotFoundOrEcho,
    });
    reconcile(&first, rev.clone()).await;
    let applied = first.requests();
    let service = applied[1].body.clone();
    let mut deployment = applied[3].body.clone();
    deployment["metadata"]["generation"] = json!(1);
    deployment["status"] = json!({
        "observedGeneration": 1,
        "replicas": 1,
        "readyReplicas": 1,
        "availableReplicas": 1,
        "updatedReplicas": 1,
        "conditions": [
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
        ],
    });
    assert_eq!(service["metadata"]["ownerReferences"][0]["uid"], owner.uid);

    let stored = revision_json();
    let api = MockApi::start(
        move |request| match (request.method.as_str(), request.kind()) {
            ("PATCH", "revisions") => Answer::WithStatus(stored.clone()),
            ("GET", "services") => Answer::Json(service.clone()),
            ("GET", "deployments") => Answer::Json(deployment.clone()),
            ("PATCH", _) => Answer::Echo,
            _ => Answer::NotFound,
        },
    );
    reconcile(&api, rev).await;
    let summary: Vec<String> = api.requests().iter().map(mock_api::Seen::summary).collect();
    assert_eq!(
        summary,
        [
            "GET /api/v1/namespaces/default/services/hello-00001",
            "GET /apis/apps/v1/namespaces/default/deployments/hello-00001-deployment",
            "PATCH /apis/serving.knative.dev/v1/namespaces/default/revisions/hello-00001/status?fieldManager=fnmesh-controller&force=true",
        ],
        "an unchanged Service or Deployment must not be written again"
    );
    let status = &api.requests()[2].body;
    assert_eq!(
        ready_condition(status),
        ("True".into(), String::new()),
        "{status}"
    );
}
