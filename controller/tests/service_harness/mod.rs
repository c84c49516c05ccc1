//! Shared by the serving reconciler tests: the Service, Configuration and Revision
//! reconcilers on the embedded API server. Nothing runs replicas: tests play the runner
//! by writing a Deployment's `/status`. Needs `mod common;` beside it.
#![allow(dead_code)]

use controller::{configuration, revision, service};
use crds::{Condition, Revision, Service};
use k8s_openapi::api::apps::v1::Deployment;
use kube::ResourceExt;
use kube::api::{ListParams, Patch, PatchParams};
use serde_json::{Value, json};

use crate::common::{Cluster, eventually};

/// The cluster itself, with the serving helpers below added to it: a test binary includes
/// one harness, so the helpers of two never meet.
pub(crate) type Harness = Cluster;

pub(crate) async fn start() -> Harness {
    let cluster = Cluster::start().await;
    tokio::spawn(service::run(cluster.context()));
    tokio::spawn(configuration::run(cluster.context()));
    tokio::spawn(revision::run(cluster.context()));
    cluster
}

impl Harness {
    pub(crate) async fn apply_service(&self, manifest: Value) {
        self.api::<Service>()
            .patch(
                manifest["metadata"]["name"].as_str().unwrap(),
                &PatchParams::apply("test").force(),
                &Patch::Apply(&manifest),
            )
            .await
            .expect("apply service");
    }

    pub(crate) async fn get<K>(&self, name: &str) -> Option<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
    {
        self.api::<K>().get_opt(name).await.unwrap()
    }

    /// Plays the runner: writes a Deployment status.
    pub(crate) async fn deployment_status(&self, name: &str, status: Value) {
        let d = eventually(&format!("deployment {name}"), || {
            self.get::<Deployment>(name)
        })
        .await;
        let body = json!({"status": status_with_generation(status, d.metadata.generation)});
        self.api::<Deployment>()
            .patch_status(name, &PatchParams::default(), &Patch::Merge(&body))
            .await
            .expect("patch deployment status");
    }

    pub(crate) async fn revision_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .api::<Revision>()
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .iter()
            .map(ResourceExt::name_any)
            .collect();
        names.sort();
        names
    }
}

fn status_with_generation(mut status: Value, generation: Option<i64>) -> Value {
    status["observedGeneration"] = json!(generation.unwrap_or(1));
    status
}

pub(crate) fn condition<'a>(conds: Option<&'a Vec<Condition>>, t: &str) -> Option<&'a Condition> {
    conds?.iter().find(|c| c.type_ == t)
}

pub(crate) fn env_of(d: &Deployment) -> std::collections::BTreeMap<String, String> {
    d.spec.template.spec.as_ref().unwrap().containers[0]
        .env
        .iter()
        .flatten()
        .map(|e| (e.name.clone(), e.value.clone().unwrap_or_default()))
        .collect()
}
