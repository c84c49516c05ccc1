//! Writes decisions to the API: the scale through the Deployment's `/scale`
//! subresource (as Knative's PodAutoscaler does), the serving mode as an annotation the
//! controller turns into the revision's xDS endpoints (replicas or activator). Only
//! changes are written, each as its own task so the decision loop never waits on the
//! API. A write not yet visible in the watch caches is remembered, so the decisions
//! that follow it at once (one per cold request) do not repeat it; a failed write is
//! forgotten and made again by the next decision.

use std::collections::HashMap;
use std::sync::Arc;

use controller::labels::{SERVING_MODE_ANNOTATION, SERVING_MODE_PROXY, SERVING_MODE_SERVE};
use controller::revision::deployment::deployment_name;
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, Patch, PatchParams};
use parking_lot::Mutex;

use super::cluster::RevisionKey;
use super::revision_state::Replicas;
use crate::scaler::Outcome;

/// The field manager of the autoscaler's writes.
pub(crate) const FIELD_MANAGER: &str = "fnmesh-autoscaler";

pub(crate) struct Actuator {
    client: kube::Client,
    /// Per revision, what was written and is not yet in the caches.
    in_flight: Arc<Mutex<HashMap<RevisionKey, Written>>>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Written {
    scale: Option<u32>,
    proxy: Option<bool>,
}

impl Actuator {
    pub(crate) fn new(client: kube::Client) -> Self {
        Self {
            client,
            in_flight: Arc::default(),
        }
    }

    /// A revision that is gone.
    pub(crate) fn forget(&self, key: &RevisionKey) {
        self.in_flight.lock().remove(key);
    }

    /// Writes what `outcome` changes relative to what the caches show.
    pub(crate) fn apply(
        &self,
        key: &RevisionKey,
        outcome: Outcome,
        replicas: Replicas,
        proxy_now: Option<bool>,
    ) {
        let (scale, mode) = {
            let mut in_flight = self.in_flight.lock();
            let written = in_flight.entry(key.clone()).or_default();
            // What the caches show has landed.
            if written.scale == Some(replicas.requested) {
                written.scale = None;
            }
            if written.proxy.is_some() && written.proxy == proxy_now {
                written.proxy = None;
            }
            let scale = outcome
                .scale
                .filter(|&s| s != replicas.requested && written.scale != Some(s));
            let mode =
                Some(outcome.proxy).filter(|&p| proxy_now != Some(p) && written.proxy != Some(p));
            written.scale = scale.or(written.scale);
            written.proxy = mode.or(written.proxy);
            (scale, mode)
        };
        if scale.is_none() && mode.is_none() {
            return;
        }
        let in_flight = Arc::clone(&self.in_flight);
        let forget = {
            let key = key.clone();
            move |what: fn(&mut Written)| {
                if let Some(written) = in_flight.lock().get_mut(&key) {
                    what(written);
                }
            }
        };
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
                        forget(|w| w.proxy = None);
                    }
                }
            }
            if let Some(replicas) = scale {
                let patch = serde_json::json!({"spec": {"replicas": replicas}});
                match api.patch_scale(&name, &params, &Patch::Merge(&patch)).await {
                    Ok(_) => tracing::info!(%revision, replicas, "scaled"),
                    Err(error) => {
                        tracing::warn!(%revision, %error, "could not scale");
                        forget(|w| w.scale = None);
                    }
                }
            }
        });
    }
}
