//! One Deployment's Pods: a task beside its [`DeploymentWorker`] that publishes a Pod
//! per replica and keeps its status in step with the replica's state. A replica's Pod
//! is created when it starts, its status written only when something it shows
//! changed (probes that keep passing write nothing; changes within [`SETTLE`]
//! coalesce), and it is deleted once the replica's process is gone. Pod writes come
//! after, and never hold up, the EndpointSlice writes that routing waits for.
//!
//! [`DeploymentWorker`]: crate::deployment_worker::DeploymentWorker

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Pod, PodStatus};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use tokio::sync::watch;

use crate::deployment_worker::DeploymentFeed;
use crate::pod_manifest;
use crate::pod_registry::{PodEntry, PodRegistry};
use crate::pod_status::{self, ContainerInfo};
use crate::replica::ReplicaId;
use crate::replica_set::ReplicaStates;
use crate::replica_state::ReplicaState;
use crate::supervisor::Supervisor;

/// How long changes gather before the Pods are written.
const SETTLE: Duration = Duration::from_millis(100);
const RETRY: Duration = Duration::from_secs(1);

/// The Deployment a spec generation was first seen with, and its template hash.
#[derive(Debug)]
struct Template {
    deployment: Arc<Deployment>,
    hash: String,
}

/// A replica's Pod as last written.
#[derive(Debug)]
struct Published {
    name: String,
    created: bool,
    status: Option<PodStatus>,
    /// Deleted by someone else: not ours to write any more.
    gone: bool,
}

pub(crate) struct PodWorker {
    key: String,
    namespace: String,
    client: Client,
    node: Arc<str>,
    registry: PodRegistry,
    feed: DeploymentFeed,
    states: watch::Receiver<ReplicaStates>,
    templates: HashMap<u64, Template>,
    pods: BTreeMap<ReplicaId, Published>,
}

// === impl PodWorker ===

impl PodWorker {
    pub(crate) fn new(
        key: String,
        client: Client,
        supervisor: &Supervisor,
        node: Arc<str>,
        registry: PodRegistry,
        feed: DeploymentFeed,
    ) -> Self {
        let namespace = key.split_once('/').map_or("", |(ns, _)| ns).to_owned();
        let states = supervisor.replica_states(&key);
        Self {
            key,
            namespace,
            client,
            node,
            registry,
            feed,
            states,
            templates: HashMap::new(),
            pods: BTreeMap::new(),
        }
    }

    /// Runs until the Deployment is deleted and its replicas are gone, or the feed's
    /// sender is dropped (the runner stops; its Pods are cleaned up as a whole).
    pub(crate) async fn run(mut self) {
        loop {
            let deployment = self.feed.borrow_and_update().clone();
            let states = self.states.borrow_and_update().clone();
            if deployment.is_none() && self.pods.is_empty() && states.is_empty() {
                return;
            }
            let complete = self.sync(deployment.as_ref(), &states).await;
            let retry = async {
                if complete {
                    std::future::pending::<()>().await;
                }
                tokio::time::sleep(RETRY).await;
            };
            tokio::select! {
                changed = self.feed.changed() => if changed.is_err() { return },
                changed = self.states.changed() => if changed.is_err() { return },
                () = retry => {}
            }
            tokio::time::sleep(SETTLE).await;
        }
    }

    /// Brings the Pods in line with `states`; `false` if a write failed.
    async fn sync(
        &mut self,
        deployment: Option<&Arc<Deployment>>,
        states: &[ReplicaState],
    ) -> bool {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), &self.namespace);
        let mut complete = true;
        let gone: Vec<ReplicaId> = self
            .pods
            .keys()
            .filter(|id| !states.iter().any(|s| s.id == **id))
            .copied()
            .collect();
        for id in gone {
            let Some(published) = self.pods.get(&id) else {
                continue;
            };
            self.registry.remove(&self.namespace, &published.name);
            if published.created && !published.gone && !delete(&pods, &published.name).await {
                complete = false;
                continue;
            }
            self.pods.remove(&id);
        }
        for state in states {
            if let Some(deployment) = deployment {
                self.adopt(deployment, state);
            }
            complete &= self.publish(&pods, state).await;
        }
        self.templates
            .retain(|generation, _| states.iter().any(|s| s.generation == *generation));
        complete
    }

    /// Starts tracking a replica's Pod the first time the replica is seen (unless it
    /// is already stopping: such a replica never gets one).
    fn adopt(&mut self, deployment: &Arc<Deployment>, state: &ReplicaState) {
        if self.pods.contains_key(&state.id) || state.stopping {
            return;
        }
        let template = self
            .templates
            .entry(state.generation)
            .or_insert_with(|| Template {
                hash: pod_manifest::template_hash(deployment),
                deployment: deployment.clone(),
            });
        let d = &template.deployment;
        let name = pod_manifest::pod_name(&d.name_any(), &template.hash, &state.name);
        self.registry.insert(
            &self.namespace,
            &name,
            PodEntry {
                owner: self.key.clone(),
                owner_uid: d.metadata.uid.clone().unwrap_or_default(),
                replica: state.id,
                container: container_info(d).name.to_owned(),
                log: state.log.0.clone(),
                created: false,
            },
        );
        self.pods.insert(
            state.id,
            Published {
                name,
                created: false,
                status: None,
                gone: false,
            },
        );
    }

    /// Creates the replica's Pod if need be and writes its status if it changed.
    async fn publish(&mut self, pods: &Api<Pod>, state: &ReplicaState) -> bool {
        let Some(published) = self.pods.get_mut(&state.id) else {
            return true;
        };
        let Some(template) = self.templates.get(&state.generation) else {
            return true;
        };
        if published.gone || !self.registry.contains(&self.namespace, &published.name) {
            published.gone = true;
            return true;
        }
        let d = &template.deployment;
        if !published.created {
            let pod = pod_manifest::pod(d, &published.name, &template.hash, state.port, &self.node);
            match pods.create(&PostParams::default(), &pod).await {
                Ok(_) => {}
                Err(kube::Error::Api(e)) if e.code == 409 => {}
                Err(e) => {
                    tracing::warn!(key = %self.key, pod = %published.name, error = %e, "creating pod failed");
                    return false;
                }
            }
            published.created = true;
            self.registry.mark_created(&self.namespace, &published.name);
        }
        let status = pod_status::pod_status(state, container_info(d), &published.name);
        if published.status.as_ref() == Some(&status) {
            return true;
        }
        let patch = Patch::Merge(serde_json::json!({ "status": &status }));
        match pods
            .patch_status(&published.name, &PatchParams::default(), &patch)
            .await
        {
            Ok(_) => {
                published.status = Some(status);
                true
            }
            Err(kube::Error::Api(e)) if e.code == 404 => {
                // Deleted under us; the deletion watch replaces the replica.
                published.gone = true;
                true
            }
            Err(e) => {
                tracing::warn!(key = %self.key, pod = %published.name, error = %e, "writing pod status failed");
                false
            }
        }
    }
}

/// The container the replica runs: the template's first.
fn container_info(deployment: &Deployment) -> ContainerInfo<'_> {
    let container = deployment
        .spec
        .template
        .spec
        .as_ref()
        .and_then(|s| s.containers.first());
    ContainerInfo {
        name: container.map_or("", |c| c.name.as_str()),
        image: container
            .and_then(|c| c.image.as_deref())
            .unwrap_or_default(),
    }
}

/// Deletes a Pod; one already gone counts as deleted.
pub(crate) async fn delete(pods: &Api<Pod>, name: &str) -> bool {
    match pods.delete(name, &DeleteParams::background()).await {
        Ok(_) => true,
        Err(kube::Error::Api(e)) if e.code == 404 => true,
        Err(e) => {
            tracing::warn!(pod = name, error = %e, "deleting pod failed");
            false
        }
    }
}
