//! Shared by the `route*` integration tests: the Route reconciler on the embedded API
//! server, and helpers that play the other reconcilers' part by writing Configuration
//! and Revision statuses through `/status`. Needs `mod common;` beside it.

// Each test binary uses its own subset.
#![allow(dead_code)]

use controller::route;
use controller::routing::{ObjectKey, ResolvedRoute, ResolvedTarget};
use crds::{Configuration, Revision, Route, RouteStatus};
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::common::{Cluster, eventually};

/// The cluster itself, with the Route helpers below added to it: a test binary includes
/// one harness, so the helpers of two never meet.
pub(crate) type Harness = Cluster;

pub(crate) async fn start() -> Harness {
    let cluster = Cluster::start().await;
    tokio::spawn(route::run(cluster.context()));
    cluster
}

impl Harness {
    pub(crate) async fn create_configuration(&self, name: &str, latest_ready: Option<&str>) {
        let cfg: Configuration = serde_json::from_value(json!({
            "apiVersion": "serving.knative.dev/v1",
            "kind": "Configuration",
            "metadata": {"name": name},
            "spec": {"template": {"spec": {"containers": [{"image": "example/hello"}]}}},
        }))
        .unwrap();
        self.api::<Configuration>()
            .create(&PostParams::default(), &cfg)
            .await
            .unwrap();
        if let Some(rev) = latest_ready {
            self.set_latest_ready(name, rev).await;
        }
    }

    pub(crate) async fn set_latest_ready(&self, config: &str, rev: &str) {
        let status = json!({"status": {
            "latestCreatedRevisionName": rev,
            "latestReadyRevisionName": rev,
            "conditions": [{"type": "Ready", "status": "True"}],
        }});
        self.api::<Configuration>()
            .patch_status(config, &PatchParams::default(), &Patch::Merge(&status))
            .await
            .unwrap();
    }

    /// A ready Revision of `config` (which must exist: admission wants the owner).
    pub(crate) async fn create_ready_revision(&self, name: &str, config: &str) {
        let owner = self.api::<Configuration>().get(config).await.unwrap();
        let rev: Revision = serde_json::from_value(json!({
            "apiVersion": "serving.knative.dev/v1",
            "kind": "Revision",
            "metadata": {
                "name": name,
                "labels": {"serving.knative.dev/configuration": config},
                "ownerReferences": [{
                    "apiVersion": "serving.knative.dev/v1",
                    "kind": "Configuration",
                    "name": config,
                    "uid": owner.metadata.uid,
                    "controller": true,
                    "blockOwnerDeletion": true,
                }],
            },
            "spec": {"containers": [{"image": "example/hello"}]},
        }))
        .unwrap();
        let api = self.api::<Revision>();
        api.create(&PostParams::default(), &rev).await.unwrap();
        let status = json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}});
        api.patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
            .await
            .unwrap();
    }

    pub(crate) async fn create_route(&self, name: &str, labels: Value, traffic: Value) {
        let route: Route = serde_json::from_value(json!({
            "apiVersion": "serving.knative.dev/v1",
            "kind": "Route",
            "metadata": {"name": name, "labels": labels},
            "spec": {"traffic": traffic},
        }))
        .unwrap();
        self.api::<Route>()
            .create(&PostParams::default(), &route)
            .await
            .unwrap();
    }

    pub(crate) async fn set_traffic(&self, name: &str, traffic: Value) {
        let patch = json!({"spec": {"traffic": traffic}});
        self.api::<Route>()
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
    }

    pub(crate) fn published(&self, name: &str) -> Option<ResolvedRoute> {
        self.routing()
            .snapshot()
            .routes
            .get(&ObjectKey::new("default", name))
            .cloned()
    }

    /// Waits for the routing table entry of `name` to satisfy `ok`.
    pub(crate) async fn wait_published(
        &self,
        name: &str,
        ok: impl Fn(&ResolvedRoute) -> bool,
    ) -> ResolvedRoute {
        eventually(&format!("routing for {name}"), || {
            let found = self.published(name).filter(|r| ok(r));
            async move { found }
        })
        .await
    }

    /// Waits for the Route's status to satisfy `ok` for the current generation.
    pub(crate) async fn wait_status(
        &self,
        name: &str,
        ok: impl Fn(&RouteStatus) -> bool,
    ) -> RouteStatus {
        let api = self.api::<Route>();
        eventually(&format!("status of {name}"), || {
            let api = api.clone();
            let ok = &ok;
            async move {
                let route = api.get(name).await.ok()?;
                let status = route.status?;
                (status.observed_generation == route.metadata.generation && ok(&status))
                    .then_some(status)
            }
        })
        .await
    }

    /// Waits for `AllTrafficAssigned=False` on the Route; returns the status and that
    /// condition.
    pub(crate) async fn wait_unassigned(&self, name: &str) -> (RouteStatus, crds::Condition) {
        let status = self
            .wait_status(name, |s| {
                condition(s, "AllTrafficAssigned").is_some_and(|c| c.status == "False")
            })
            .await;
        let assigned = condition(&status, "AllTrafficAssigned").unwrap().clone();
        (status, assigned)
    }
}

pub(crate) fn condition<'a>(status: &'a RouteStatus, type_: &str) -> Option<&'a crds::Condition> {
    status
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_)
}

pub(crate) fn is_ready(status: &RouteStatus) -> bool {
    condition(status, "Ready").is_some_and(crds::Condition::is_true)
}

pub(crate) fn target(
    revision: &str,
    percent: u32,
    tag: Option<&str>,
    domain: &str,
) -> ResolvedTarget {
    ResolvedTarget {
        revision: revision.into(),
        percent,
        tag: tag.map(Into::into),
        tag_host: tag.map(|t| format!("{t}-hello.default.{domain}")),
    }
}
