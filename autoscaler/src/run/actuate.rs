//! Writes decisions to the API: the scale through the Deployment's `/scale`
//! subresource (as Knative's PodAutoscaler does), the serving mode as an annotation the
//! controller turns into the revision's xDS endpoints (replicas or activator). Only
//! changes are written, each as its own task so the decision loop never waits on the
//! API; a failed write is simply made again on the next tick, which sees the old value.

use controller::labels::{SERVING_MODE_ANNOTATION, SERVING_MODE_PROXY, SERVING_MODE_SERVE};
use controller::revision::deployment::deployment_name;
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, Patch, PatchParams};

use super::cluster::RevisionKey;
use super::revision_state::Replicas;
use crate::scaler::Outcome;

/// The field manager of the autoscaler's writes.
pub(crate) const FIELD_MANAGER: &str = "fnmesh-autoscaler";

pub(crate) struct Actuator {
    client: kube::Client,
}

impl Actuator {
    pub(crate) fn new(client: kube::Client) -> Self {
        Self { client }
    }

    /// Writes what `outcome` changes relative to what the caches show.
    pub(crate) fn apply(
        &self,
        key: &RevisionKey,
        outcome: Outcome,
        replicas: Replicas,
        proxy_now: Option<bool>,
    ) {
        let scale = outcome.scale.filter(|&s| s != replicas.requested);
        let mode = (proxy_now != Some(outcome.proxy)).then_some(outcome.proxy);
        if scale.is_none() && mode.is_none() {
            return;
        }
        let api: Api<Deployment> = Api::namespaced(self.client.clone(), &key.namespace);
        let name = deployment_name(&key.name);
        let revision = key.to_string();
        tokio::spawn(async move {
            // Merge patches under our own field manager: server-side apply would claim
            // (and on the controller's next apply, contest) the whole object.
            let params = PatchParams {
                field_manager: Some(FIELD_MANAGER.to_owned()),
                ..PatchParams::default()
            };
            // The mode first: a revision going to zero must have the activator in its
            // path before its last replica goes.
            if let Some(proxy) = mode {
                let value = if proxy {
                    SERVING_MODE_PROXY
                } else {
                    SERVING_MODE_SERVE
                };
                let patch = serde_json::json!({"metadata": {"annotations": {SERVING_MODE_ANNOTATION: value}}});
                match api.patch(&name, &params, &Patch::Merge(&patch)).await {
                    Ok(_) => tracing::info!(%revision, mode = value, "serving mode"),
                    Err(error) => {
                        tracing::warn!(%revision, %error, "could not write the serving mode");
                    }
                }
            }
            if let Some(replicas) = scale {
                let patch = serde_json::json!({"spec": {"replicas": replicas}});
                match api.patch_scale(&name, &params, &Patch::Merge(&patch)).await {
                    Ok(_) => tracing::info!(%revision, replicas, "scaled"),
                    Err(error) => tracing::warn!(%revision, %error, "could not scale"),
                }
            }
        });
    }
}
