//! One Deployment's actor: applies each new generation to the supervisor and
//! turns every replica status change into a `/status` write and EndpointSlice
//! applies/deletes. Being one task per Deployment, its writes never race each
//! other, and bursts of changes coalesce (both inputs are `watch` channels).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube::{Client, ResourceExt};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::deployment_status::{self, Blocked, Observation};
use crate::endpoint_slices;
use crate::endpoint_slices::service_selection::Services;
use crate::env_fetch;
use crate::pod_template::{self, TemplateError};
use crate::status::ReplicaSetStatus;
use crate::supervisor::{Supervisor, SupervisorError};

/// Field manager of every runner write.
pub(crate) const FIELD_MANAGER: &str = "fnmesh-runner";
const FIRST_RETRY: Duration = Duration::from_millis(200);
const MAX_RETRY: Duration = Duration::from_secs(30);

/// The latest Deployment object; `None` once it is deleted.
pub(crate) type DeploymentFeed = watch::Receiver<Option<Arc<Deployment>>>;

/// What the replicas were last set from.
#[derive(Debug)]
struct Applied {
    deployment: Arc<Deployment>,
    desired: u32,
    container: String,
    blocked: Option<Blocked>,
}

pub(crate) struct DeploymentWorker {
    key: String,
    client: Client,
    supervisor: Supervisor,
    feed: DeploymentFeed,
    /// The Services whose selectors decide which slices the replicas get.
    services: Services,
    applied: Option<Applied>,
    replicas: Option<watch::Receiver<ReplicaSetStatus>>,
    written_status: Option<DeploymentStatus>,
    written_slices: BTreeMap<String, EndpointSlice>,
    /// Set while a transient failure (API error, missing ConfigMap) awaits
    /// a retry; `apply_due` says the retry must re-apply, not just publish.
    retry: Option<(Instant, Duration)>,
    apply_due: bool,
}

// === impl DeploymentWorker ===

impl DeploymentWorker {
    pub(crate) fn new(
        key: String,
        client: Client,
        supervisor: Supervisor,
        feed: DeploymentFeed,
        services: Services,
    ) -> Self {
        Self {
            key,
            client,
            supervisor,
            feed,
            services,
            applied: None,
            replicas: None,
            written_status: None,
            written_slices: BTreeMap::new(),
            retry: None,
            apply_due: false,
        }
    }

    /// Runs until the Deployment is deleted (its replicas are then stopped)
    /// or the feed's sender is dropped.
    pub(crate) async fn run(mut self) {
        loop {
            let Some(deployment) = self.feed.borrow_and_update().clone() else {
                self.teardown().await;
                return;
            };
            let mut failed = false;
            if self.apply_due || self.is_new(&deployment) {
                self.apply_due = false;
                failed |= !self.apply(deployment).await;
            }
            if let Err(e) = self.publish().await {
                tracing::warn!(key = %self.key, error = %e, "writing deployment status or endpoints failed");
                failed = true;
            }
            self.schedule_retry(failed);
            let retry_at = self.retry.map(|(at, _)| at);
            tokio::select! {
                changed = self.feed.changed() => if changed.is_err() { return },
                changed = replicas_changed(self.replicas.as_mut()) => if changed.is_err() {
                    self.replicas = None;
                },
                () = self.services.changed() => {}
                () = sleep_until(retry_at) => self.apply_due = self.needs_reapply(),
            }
        }
    }

    fn is_new(&self, deployment: &Deployment) -> bool {
        self.applied.as_ref().is_none_or(|a| {
            a.deployment.metadata.generation != deployment.metadata.generation
                || a.deployment.metadata.uid != deployment.metadata.uid
        })
    }

    /// Whether the last apply hit a transient problem worth retrying.
    fn needs_reapply(&self) -> bool {
        self.applied.as_ref().is_none_or(|a| {
            a.blocked
                .as_ref()
                .is_some_and(|b| b.reason == "CreateContainerConfigError")
        })
    }

    fn schedule_retry(&mut self, failed: bool) {
        let failed = failed || self.needs_reapply();
        self.retry = failed.then(|| {
            let delay = self
                .retry
                .map_or(FIRST_RETRY, |(_, d)| (d * 2).min(MAX_RETRY));
            (Instant::now() + delay, delay)
        });
    }

    /// Sets the supervisor's replicas from `deployment`; `false` on a
    /// transient failure (the retry applies again).
    async fn apply(&mut self, deployment: Arc<Deployment>) -> bool {
        let desired = deployment
            .spec
            .replicas
            .map_or(1, |n| u32::try_from(n).unwrap_or(0));
        let container = pod_template::first_container(&deployment);
        let container_name = container.map(|c| c.name.clone()).unwrap_or_default();
        let namespace = deployment.namespace().unwrap_or_default();
        let spec = match container {
            None => Err(TemplateError::NoContainer),
            Some(c) => match env_fetch::fetch(&self.client, &namespace, c).await {
                Ok(sources) => pod_template::replica_spec(&deployment, &sources),
                Err(e) => {
                    tracing::warn!(key = %self.key, error = %e, "reading env sources failed");
                    return false;
                }
            },
        };
        let blocked = match spec {
            Ok(spec) => match self.supervisor.set_replicas(&self.key, spec, desired) {
                Ok(replicas) => {
                    self.replicas = Some(replicas);
                    None
                }
                Err(SupervisorError::ShutDown) => return true,
                Err(e) => Some(Blocked {
                    reason: "InvalidSpec",
                    message: e.to_string(),
                }),
            },
            Err(e) => Some(Blocked {
                reason: e.reason(),
                message: e.to_string(),
            }),
        };
        if let Some(blocked) = &blocked {
            tracing::info!(key = %self.key, reason = blocked.reason, "deployment cannot run: {}", blocked.message);
            self.replicas = None;
            self.supervisor.remove(&self.key).await;
        }
        if self.written_status.is_none() {
            // Keeps condition timestamps across runner restarts.
            self.written_status.clone_from(&deployment.status);
        }
        self.applied = Some(Applied {
            deployment,
            desired,
            container: container_name,
            blocked,
        });
        true
    }

    /// Writes status and slices that differ from what was last written.
    async fn publish(&mut self) -> Result<(), kube::Error> {
        let Some(applied) = &self.applied else {
            return Ok(());
        };
        let rs = self
            .replicas
            .as_ref()
            .map(|r| r.borrow().clone())
            .unwrap_or_default();
        let d = &applied.deployment;
        let namespace = d.namespace().unwrap_or_default();
        let name = d.name_any();

        let slices: Api<EndpointSlice> = Api::namespaced(self.client.clone(), &namespace);
        let services = self
            .services
            .selecting(&namespace, &endpoint_slices::pod_labels(d));
        let desired = endpoint_slices::desired_slices(d, &services, &rs.ready_endpoints);
        let desired: BTreeMap<String, EndpointSlice> =
            desired.into_iter().map(|s| (s.name_any(), s)).collect();
        let applies = desired
            .iter()
            .filter(|(n, s)| self.written_slices.get(*n) != Some(s))
            .map(|(n, s)| apply_slice(&slices, n, s));
        let deletes = self
            .written_slices
            .keys()
            .filter(|n| !desired.contains_key(*n))
            .map(|n| delete_slice(&slices, n));

        let observation = Observation {
            name: &name,
            generation: d.metadata.generation,
            desired: applied.desired,
            max_unavailable: deployment_status::max_unavailable(d, applied.desired),
            container: &applied.container,
            replicas: &rs,
            blocked: applied.blocked.as_ref(),
        };
        let status = deployment_status::deployment_status(
            &observation,
            self.written_status.as_ref(),
            Timestamp::now(),
        );
        let status_write = async {
            if self.written_status.as_ref() == Some(&status) {
                return Ok(false);
            }
            let deployments: Api<Deployment> = Api::namespaced(self.client.clone(), &namespace);
            let patch = Patch::Merge(serde_json::json!({ "status": &status }));
            deployments
                .patch_status(&name, &PatchParams::default(), &patch)
                .await
                .map(|_| true)
        };
        // Endpoints first: a request held for this revision's first replica waits for
        // the slice, not for the status; both would queue for the same API commit.
        let (applied_slices, deleted) = futures::join!(
            futures::future::join_all(applies),
            futures::future::join_all(deletes),
        );
        let status_written = status_write.await;
        let mut result = Ok(());
        for outcome in applied_slices.into_iter().chain(deleted) {
            match outcome {
                (n, Ok(())) if desired.contains_key(&n) => {
                    self.written_slices.insert(n.clone(), desired[&n].clone());
                }
                (n, Ok(())) => {
                    self.written_slices.remove(&n);
                }
                (_, Err(e)) => result = Err(e),
            }
        }
        match status_written {
            Ok(true) => self.written_status = Some(status),
            Ok(false) => {}
            Err(e) => result = Err(e),
        }
        result
    }

    /// The Deployment is gone: its slices go (GC would also do it), then its
    /// processes stop gracefully.
    async fn teardown(&mut self) {
        if let Some(applied) = &self.applied {
            let namespace = applied.deployment.namespace().unwrap_or_default();
            let slices: Api<EndpointSlice> = Api::namespaced(self.client.clone(), &namespace);
            for name in self.written_slices.keys() {
                let _ = delete_slice(&slices, name).await;
            }
        }
        self.supervisor.remove(&self.key).await;
        tracing::info!(key = %self.key, "deployment deleted; replicas stopped");
    }
}

async fn apply_slice(
    api: &Api<EndpointSlice>,
    name: &str,
    slice: &EndpointSlice,
) -> (String, Result<(), kube::Error>) {
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let result = api
        .patch(name, &params, &Patch::Apply(slice))
        .await
        .map(drop);
    (name.to_owned(), result)
}

/// Deletes a slice; one that is already gone counts as deleted.
pub(crate) async fn delete_slice(
    api: &Api<EndpointSlice>,
    name: &str,
) -> (String, Result<(), kube::Error>) {
    let result = match api.delete(name, &DeleteParams::background()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(e) => Err(e),
    };
    (name.to_owned(), result)
}

async fn replicas_changed(
    replicas: Option<&mut watch::Receiver<ReplicaSetStatus>>,
) -> Result<(), watch::error::RecvError> {
    match replicas {
        Some(r) => r.changed().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
