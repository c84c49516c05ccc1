//! The runner's Kubernetes side: watches Deployments in all namespaces and
//! keeps one [`DeploymentWorker`] per Deployment, which runs its replicas
//! through the [`Supervisor`] and publishes status and EndpointSlices, and
//! beside it a [`PodWorker`](crate::pod_worker::PodWorker) publishing a Pod per
//! replica ([`PodPublisher`]).

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, ResourceExt};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::deployment_worker::DeploymentWorker;
use crate::endpoint_slices::service_selection::Services;
use crate::pod_publisher::PodPublisher;
use crate::stale_slices;
use crate::supervisor::Supervisor;

const CLEANUP_RETRY: Duration = Duration::from_secs(1);
const UNPUBLISH_TIMEOUT: Duration = Duration::from_secs(2);

/// Runs Deployments as local processes until `shutdown` resolves, then stops
/// every replica gracefully and returns.
///
/// On start it deletes the EndpointSlices of replicas that no longer exist
/// (left by a runner that was killed), then, once it knows the Services (whose
/// selectors decide which slices a replica gets), converges every Deployment. On
/// shutdown it deletes its EndpointSlices before stopping the replicas. Its
/// Node, Pods and log endpoint: see `pod_publisher`.
pub async fn run(client: Client, supervisor: Supervisor, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    let pods = PodPublisher::start(client.clone(), supervisor.clone()).await;
    let (services, service_watch) = Services::watch(client.clone());
    let _service_watch = AbortOnDrop(tokio::spawn(service_watch));
    let cleanup = async {
        loop {
            match stale_slices::delete_stale(&client, &supervisor).await {
                Ok(n) => {
                    tracing::debug!(deleted = n, "stale endpoint slices cleaned up");
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cleaning up stale endpoint slices failed; retrying");
                }
            }
            tokio::time::sleep(CLEANUP_RETRY).await;
        }
    };
    tokio::select! {
        () = &mut shutdown => {
            supervisor.shutdown().await;
            return;
        }
        () = async { cleanup.await; services.ready().await } => {}
    }
    let pods = Arc::new(pods);
    let deployments: Api<Deployment> = Api::all(client.clone());
    let mut events = watcher(deployments, watcher::Config::default())
        .default_backoff()
        .boxed();
    let mut workers = Workers::new(client.clone(), supervisor.clone(), services, pods.clone());
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            event = events.next() => match event {
                Some(Ok(event)) => workers.on_event(event),
                Some(Err(e)) => tracing::warn!(error = %e, "deployment watch failed; retrying"),
                None => break,
            },
        }
    }
    drop(workers);
    // Bounded: in `fnmesh up` the API server may be going away too, and the
    // next start cleans up whatever is left.
    let unpublish = tokio::time::timeout(UNPUBLISH_TIMEOUT, stale_slices::delete_all(&client));
    match unpublish.await {
        Ok(Ok(n)) => tracing::debug!(deleted = n, "endpoint slices removed for shutdown"),
        Ok(Err(e)) => tracing::warn!(error = %e, "removing endpoint slices on shutdown failed"),
        Err(_) => tracing::warn!("removing endpoint slices on shutdown timed out"),
    }
    supervisor.shutdown().await;
    if let Ok(pods) = Arc::try_unwrap(pods) {
        pods.finish().await;
    }
}

/// Aborts its task when dropped, so dropping [`run`] stops every worker.
#[derive(Debug)]
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[derive(Debug)]
struct WorkerHandle {
    feed: watch::Sender<Option<Arc<Deployment>>>,
    task: AbortOnDrop,
}

/// The workers by Deployment key, and those still stopping a deleted
/// Deployment's replicas (a re-created one waits for them).
struct Workers {
    client: Client,
    supervisor: Supervisor,
    services: Services,
    pods: Arc<PodPublisher>,
    active: HashMap<String, WorkerHandle>,
    retiring: HashMap<String, AbortOnDrop>,
    /// Keys listed since the watch (re)started, to find deletions missed
    /// while it was down.
    relisted: Option<HashSet<String>>,
}

impl Workers {
    fn new(
        client: Client,
        supervisor: Supervisor,
        services: Services,
        pods: Arc<PodPublisher>,
    ) -> Self {
        Self {
            client,
            supervisor,
            services,
            pods,
            active: HashMap::new(),
            retiring: HashMap::new(),
            relisted: None,
        }
    }

    fn on_event(&mut self, event: watcher::Event<Deployment>) {
        match event {
            watcher::Event::Init => self.relisted = Some(HashSet::new()),
            watcher::Event::InitApply(d) => {
                if let Some(seen) = &mut self.relisted {
                    seen.insert(key(&d));
                }
                self.upsert(d);
            }
            watcher::Event::InitDone => {
                let seen = self.relisted.take().unwrap_or_default();
                let gone: Vec<String> = self
                    .active
                    .keys()
                    .filter(|k| !seen.contains(*k))
                    .cloned()
                    .collect();
                for key in gone {
                    self.delete(key);
                }
            }
            watcher::Event::Apply(d) => self.upsert(d),
            watcher::Event::Delete(d) => self.delete(key(&d)),
        }
    }

    fn upsert(&mut self, deployment: Deployment) {
        let key = key(&deployment);
        let deployment = Some(Arc::new(deployment));
        if let Some(worker) = self.active.get(&key) {
            worker.feed.send_replace(deployment);
            return;
        }
        let (feed, received) = watch::channel(deployment);
        let pod_worker = self.pods.worker(key.clone(), received.clone());
        let worker = DeploymentWorker::new(
            key.clone(),
            self.client.clone(),
            self.supervisor.clone(),
            received,
            self.services.clone(),
        );
        let previous = self.retiring.remove(&key);
        let task = tokio::spawn(async move {
            if let Some(mut previous) = previous {
                let _ = (&mut previous.0).await;
            }
            futures::join!(worker.run(), pod_worker.run());
        });
        self.active.insert(
            key,
            WorkerHandle {
                feed,
                task: AbortOnDrop(task),
            },
        );
    }

    fn delete(&mut self, key: String) {
        self.retiring.retain(|_, task| !task.0.is_finished());
        if let Some(worker) = self.active.remove(&key) {
            worker.feed.send_replace(None);
            self.retiring.insert(key, worker.task);
        }
    }
}

fn key(deployment: &Deployment) -> String {
    format!(
        "{}/{}",
        deployment.namespace().unwrap_or_default(),
        deployment.name_any()
    )
}
