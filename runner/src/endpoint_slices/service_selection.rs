//! The Services a replica belongs to, as Kubernetes' EndpointSlice controller decides
//! it: a Service with a non-empty selector selects the pods of its namespace whose
//! labels include every selector pair (a Service without one is left to whoever
//! manages its endpoints). A watch cache of every Service plus a change signal, so
//! each Deployment's worker republishes its slices when a Service comes, changes or
//! goes. Generic: nothing here knows what a revision is.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Service;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, ResourceExt};
use tokio::sync::watch;

/// The Services of every namespace, read by the Deployment workers.
#[derive(Clone)]
pub(crate) struct Services {
    store: Store<Service>,
    changes: watch::Receiver<()>,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services").finish_non_exhaustive()
    }
}

// === impl Services ===

impl Services {
    /// The handle and the watch that fills it, which runs until dropped.
    pub(crate) fn watch(client: Client) -> (Self, impl Future<Output = ()> + Send) {
        let (store, writer) = reflector::store::<Service>();
        let (notify, changes) = watch::channel(());
        let task = async move {
            let events = watcher(Api::<Service>::all(client), watcher::Config::default())
                .default_backoff()
                .modify(|o| o.metadata.managed_fields = None) // what a cache holds: nobody reads managedFields
                .reflect(writer);
            let mut events = std::pin::pin!(events);
            while let Some(event) = events.next().await {
                match event {
                    // The cache swaps in a relist only at `InitDone`.
                    Ok(watcher::Event::Init | watcher::Event::InitApply(_)) => {}
                    Ok(_) => notify.send_replace(()),
                    Err(error) => tracing::warn!(%error, "service watch failed; retrying"),
                }
            }
        };
        (Self { store, changes }, task)
    }

    /// Resolves once the first list is in the cache.
    pub(crate) async fn ready(&self) {
        // Only fails if the watch was dropped, which ends the runner anyway.
        let _ = self.store.wait_until_ready().await;
    }

    /// Resolves at the next change of any Service.
    pub(crate) async fn changed(&mut self) {
        if self.changes.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// The Services of `namespace` selecting pods labelled `labels`, by name.
    pub(crate) fn selecting(
        &self,
        namespace: &str,
        labels: &BTreeMap<String, String>,
    ) -> Vec<Arc<Service>> {
        let mut found: Vec<Arc<Service>> = self
            .store
            .state()
            .into_iter()
            .filter(|s| s.namespace().as_deref() == Some(namespace) && selects(s, labels))
            .collect();
        found.sort_by_key(|s| s.name_any());
        found
    }
}

/// Whether `service` selects a pod labelled `labels`.
pub(crate) fn selects(service: &Service, labels: &BTreeMap<String, String>) -> bool {
    let selector = service.spec.as_ref().and_then(|s| s.selector.as_ref());
    selector.is_some_and(|selector| {
        !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(selector: Option<serde_json::Value>) -> Service {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "s", "namespace": "ns"},
            "spec": {"selector": selector},
        }))
        .unwrap()
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_selector_selects_pods_carrying_all_its_labels() {
        let s = service(Some(serde_json::json!({"app": "a", "tier": "web"})));
        assert!(selects(
            &s,
            &labels(&[("app", "a"), ("tier", "web"), ("x", "y")])
        ));
        assert!(
            !selects(&s, &labels(&[("app", "a")])),
            "every pair must match"
        );
        assert!(!selects(&s, &labels(&[("app", "a"), ("tier", "db")])));
    }

    #[test]
    fn a_service_without_a_selector_selects_nothing() {
        let pod = labels(&[("app", "a")]);
        assert!(!selects(&service(None), &pod));
        assert!(!selects(&service(Some(serde_json::json!({}))), &pod));
    }
}
