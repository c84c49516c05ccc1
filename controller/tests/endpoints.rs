//! The endpoints watcher against the embedded API server: Revisions and the runner's
//! per-replica EndpointSlices in, `RevisionBackend`s in the RoutingTable out.

mod common;

use std::net::SocketAddr;

use common::{Cluster, eventually};
use controller::endpoints;
use controller::routing::{ObjectKey, Protocol, RevisionBackend, RoutingTable};
use crds::Revision;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;

fn slice(name: &str, revision: &str, port: u16, ready: bool) -> EndpointSlice {
    serde_json::from_value(json!({
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": name,
            "namespace": "default",
            "labels": {
                "serving.knative.dev/revision": revision,
                "kubernetes.io/service-name": revision,
                "endpointslice.kubernetes.io/managed-by": "runner.fnmesh.dev",
            },
        },
        "addressType": "IPv4",
        "endpoints": [{
            "addresses": ["127.0.0.1"],
            "conditions": { "ready": ready, "serving": ready, "terminating": false },
        }],
        "ports": [{ "name": "h2c", "port": port, "protocol": "TCP" }],
    }))
    .unwrap()
}

fn backend_of(routing: &RoutingTable) -> Option<RevisionBackend> {
    routing
        .snapshot()
        .backends
        .get(&ObjectKey::new("default", "hello-00001"))
        .cloned()
}

fn addrs(ports: &[u16]) -> Vec<SocketAddr> {
    ports
        .iter()
        .map(|p| SocketAddr::from(([127, 0, 0, 1], *p)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revisions_and_slices_become_backends() {
    let cluster = Cluster::start().await;
    tokio::spawn(endpoints::run(cluster.context()));
    let routing = cluster.routing();

    let revisions: Api<Revision> = cluster.api();
    let revision: Revision = serde_json::from_value(json!({
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Revision",
        "metadata": { "name": "hello-00001", "namespace": "default" },
        "spec": {
            "timeoutSeconds": 42,
            "containers": [{
                "image": "example.com/hello",
                "command": ["hello"],
                "ports": [{ "name": "h2c", "containerPort": 8080 }],
            }],
        },
    }))
    .unwrap();
    revisions
        .create(&PostParams::default(), &revision)
        .await
        .unwrap();
    eventually("an empty backend for the new revision", || async {
        backend_of(routing).filter(|b| {
            b.endpoints.is_empty() && b.protocol == Protocol::H2c && b.timeout_seconds == 42
        })
    })
    .await;

    let slices: Api<EndpointSlice> = cluster.api();
    for (name, port, ready) in [
        ("r-30001", 30001, true),
        ("r-30002", 30002, false),
        ("r-30003", 30003, true),
    ] {
        slices
            .create(
                &PostParams::default(),
                &slice(name, "hello-00001", port, ready),
            )
            .await
            .unwrap();
    }
    // Another revision's slice must not leak in.
    slices
        .create(
            &PostParams::default(),
            &slice("other", "other-00001", 30009, true),
        )
        .await
        .unwrap();
    eventually("the ready replicas", || async {
        backend_of(routing).filter(|b| b.endpoints == addrs(&[30001, 30003]))
    })
    .await;

    let ready =
        json!({ "endpoints": [{ "addresses": ["127.0.0.1"], "conditions": { "ready": true } }] });
    slices
        .patch("r-30002", &PatchParams::default(), &Patch::Merge(&ready))
        .await
        .unwrap();
    slices
        .delete("r-30001", &DeleteParams::default())
        .await
        .unwrap();
    eventually("the readiness change and the removed replica", || async {
        backend_of(routing).filter(|b| b.endpoints == addrs(&[30002, 30003]))
    })
    .await;

    revisions
        .delete("hello-00001", &DeleteParams::default())
        .await
        .unwrap();
    eventually("the revision's removal", || async {
        backend_of(routing).is_none().then_some(())
    })
    .await;
    assert!(
        routing.snapshot().backends.is_empty(),
        "a slice without a revision publishes nothing"
    );
}
