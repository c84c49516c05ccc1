//! The runner's kubelet face, so Kubernetes habits work unchanged: a Node for this
//! host, a Pod per replica (a [`PodWorker`] per Deployment), the log endpoint the API
//! server proxies `kubectl logs` to, and `kubectl delete pod` replacing the replica.
//! [`run`](crate::run) starts it (the Node is registered and the Pods a runner that
//! died left are deleted in the background, so Deployments never wait for it) and
//! [`finish`](PodPublisher::finish)es it after the replicas stopped.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use kube::Client;
use tokio::task::JoinHandle;

use crate::deployment_worker::DeploymentFeed;
use crate::log_server;
use crate::node;
use crate::pod_deletions;
use crate::pod_registry::PodRegistry;
use crate::pod_worker::PodWorker;
use crate::stale_pods;
use crate::supervisor::Supervisor;

const PREPARE_RETRY: Duration = Duration::from_secs(1);
/// Bounded: in `fnmesh up` the API server may be going away too, and the next start
/// cleans up whatever is left.
const FINISH_TIMEOUT: Duration = Duration::from_secs(2);

pub(crate) struct PodPublisher {
    client: Client,
    supervisor: Supervisor,
    node: Arc<str>,
    registry: PodRegistry,
    tasks: Vec<JoinHandle<()>>,
}

// === impl PodPublisher ===

impl PodPublisher {
    /// Binds the log endpoint on an ephemeral loopback port and starts serving it.
    pub(crate) async fn start(client: Client, supervisor: Supervisor) -> Self {
        let registry = PodRegistry::default();
        let mut tasks = Vec::new();
        let kubelet_port = match log_server::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await
        {
            Ok(listener) => {
                let port = listener.local_addr().map_or(0, |a| a.port());
                tasks.push(tokio::spawn(log_server::serve(listener, registry.clone())));
                port
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for container log requests; kubectl logs will fail");
                0
            }
        };
        let node: Arc<str> = node::node_name().into();
        tasks.push(tokio::spawn(prepare(
            client.clone(),
            supervisor.clone(),
            node.clone(),
            registry.clone(),
            kubelet_port,
        )));
        Self {
            client,
            supervisor,
            node,
            registry,
            tasks,
        }
    }

    /// The Pod writer of Deployment `key`.
    pub(crate) fn worker(&self, key: String, feed: DeploymentFeed) -> PodWorker {
        PodWorker::new(
            key,
            self.client.clone(),
            &self.supervisor,
            self.node.clone(),
            self.registry.clone(),
            feed,
        )
    }

    /// After the replicas stopped: their Pods go and the Node reads as stopped.
    pub(crate) async fn finish(self) {
        for task in &self.tasks {
            task.abort();
        }
        let cleanup = async {
            let deleted =
                stale_pods::delete_unregistered(&self.client, &self.node, &PodRegistry::default())
                    .await;
            if let Err(e) = deleted {
                tracing::warn!(error = %e, "removing pods on shutdown failed");
            }
            if let Err(e) = node::mark_stopped(&self.client, &self.node).await {
                tracing::warn!(error = %e, "marking the node stopped failed");
            }
        };
        if tokio::time::timeout(FINISH_TIMEOUT, cleanup).await.is_err() {
            tracing::warn!("removing pods on shutdown timed out");
        }
    }
}

/// Registers the Node and deletes the Pods a runner that died left on it (the
/// registry holds only this runner's), retrying until both are done; then watches
/// for deleted Pods.
async fn prepare(
    client: Client,
    supervisor: Supervisor,
    node: Arc<str>,
    registry: PodRegistry,
    kubelet_port: u16,
) {
    loop {
        let registered = node::register(&client, &node, kubelet_port).await;
        let cleaned = stale_pods::delete_unregistered(&client, &node, &registry).await;
        match (registered, cleaned) {
            (Ok(()), Ok(n)) => {
                tracing::debug!(%node, deleted = n, port = kubelet_port, "node registered, stale pods cleaned up");
                break;
            }
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(error = %e, "registering the node or cleaning up stale pods failed; retrying");
            }
        }
        tokio::time::sleep(PREPARE_RETRY).await;
    }
    pod_deletions::watch(client, supervisor, registry, node.to_string()).await;
}

impl Drop for PodPublisher {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}
