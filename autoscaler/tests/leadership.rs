//! The autoscaler as a follower and then as leader, against the embedded API server:
//! a follower decides (its gauges move) but never scales; once it leads it writes what
//! it decided at once. The revision has `min-scale: 2`, so a decision needs no reports.

use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, DeleteParams, PostParams, WatchEvent, WatchParams};
use leader_election::{ElectionConfig, LeaderElector};
use serde_json::json;
use tokio::net::TcpListener;

const REVISION: &str = "hello-00001";
const DEPLOYMENT: &str = "hello-00001-deployment";
const LEASE: &str = "fnmesh-autoscaler";

async fn create<K>(client: &kube::Client, namespace: &str, object: serde_json::Value) -> K
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::Serialize
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let object: K = serde_json::from_value(object).unwrap();
    Api::namespaced(client.clone(), namespace)
        .create(&PostParams::default(), &object)
        .await
        .unwrap()
}

fn requested_gauge(registry: &prometheus::Registry) -> Option<i64> {
    registry
        .gather()
        .iter()
        .find(|f| f.name() == "fnmesh_autoscaler_requested_pods")?
        .get_metric()
        .iter()
        .find(|m| m.get_label().iter().any(|l| l.value() == REVISION))
        .map(|m| m.get_gauge().get_value() as i64)
}

async fn replicas(deployments: &Api<Deployment>) -> Option<i32> {
    let deployment = deployments.get(DEPLOYMENT).await.ok()?;
    deployment.spec.replicas
}

#[tokio::test(flavor = "multi_thread")]
async fn a_follower_decides_without_scaling_and_scales_once_it_leads() {
    let dir = tempfile::tempdir().unwrap();
    let addr = apiserver::ApiServer::start_ephemeral(dir.path())
        .await
        .unwrap();
    let config = kube::Config::new(format!("http://{addr}").parse().unwrap());
    let client = kube::Client::try_from(config).unwrap();

    // Another replica leads, with a lease that will not run out during the test.
    let other: Lease = create(
        &client,
        "knative-serving",
        json!({"metadata": {"name": LEASE},
               "spec": {"holderIdentity": "autoscaler-other", "leaseDurationSeconds": 3600}}),
    )
    .await;
    let _: crds::Revision = create(
        &client,
        "default",
        json!({"apiVersion": "serving.knative.dev/v1", "kind": "Revision",
               "metadata": {"name": REVISION,
                            "labels": {"serving.knative.dev/routingState": "active"},
                            "annotations": {"autoscaling.knative.dev/min-scale": "2"}},
               "spec": {"containers": [{"image": "example.com/hello"}]}}),
    )
    .await;
    let labels = json!({"serving.knative.dev/revision": REVISION});
    let deployment: Deployment = create(
        &client,
        "default",
        json!({"metadata": {"name": DEPLOYMENT, "labels": labels},
               "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                        "template": {"metadata": {"labels": labels},
                                     "spec": {"containers": [{"name": "user-container",
                                                              "image": "example.com/hello"}]}}}}),
    )
    .await;

    let elector = LeaderElector::spawn(
        client.clone(),
        ElectionConfig::new("knative-serving", LEASE, "autoscaler-test"),
    )
    .unwrap();
    let registry = prometheus::Registry::new();
    let stats = TcpListener::bind("127.0.0.1:0").await.unwrap();
    tokio::spawn(autoscaler::run(
        client.clone(),
        stats,
        registry.clone(),
        elector.leadership(),
        std::future::pending(),
    ));

    // It decides (the gauges are set at every decision) ...
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut changed = elector.leadership();
    while requested_gauge(&registry) != Some(1) {
        assert!(tokio::time::Instant::now() < deadline, "no decision");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!changed.is_leader());
    // ... but writes nothing: not over the next few decision intervals either.
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let version = deployment.metadata.resource_version.clone().unwrap();
    let mut events = deployments
        .watch(
            &WatchParams::default().fields(&format!("metadata.name={DEPLOYMENT}")),
            &version,
        )
        .await
        .unwrap()
        .boxed();
    let written = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(event) = events.next().await {
            if let Ok(WatchEvent::Modified(d)) = event {
                return d.spec.replicas;
            }
        }
        None
    })
    .await;
    assert!(
        written.is_err(),
        "a follower wrote the Deployment (replicas then: {written:?})"
    );
    assert_eq!(replicas(&deployments).await, Some(1));

    // The other replica goes away; this one leads and scales at once.
    Api::<Lease>::namespaced(client.clone(), "knative-serving")
        .delete(&other.metadata.name.unwrap(), &DeleteParams::default())
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), changed.led())
        .await
        .expect("this replica leads");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while replicas(&deployments).await != Some(2) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the new leader did not scale"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
