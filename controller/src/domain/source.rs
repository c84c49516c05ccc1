//! The live domain configuration, fed by watch events on the `config-domain`
//! ConfigMap. Like Knative's config store, an invalid edit is logged and the last
//! valid configuration stays in force; a missing ConfigMap means the defaults.

use std::sync::Arc;

use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client};
use parking_lot::Mutex;

use super::{CONFIG_MAP_NAME, CONFIG_MAP_NAMESPACE, DomainConfig};

/// Shared, always-readable domain configuration.
#[derive(Debug, Default)]
pub struct DomainSource {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    current: Arc<DomainConfig>,
    /// During a (re)list: whether the ConfigMap was among the listed objects, so a
    /// ConfigMap deleted while the watch was down still falls back to the defaults.
    seen_in_relist: Option<bool>,
}

// === impl DomainSource ===

impl DomainSource {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn current(&self) -> Arc<DomainConfig> {
        self.state.lock().current.clone()
    }

    /// Applies one watch event; true when the effective configuration changed.
    pub fn apply(&self, event: &watcher::Event<ConfigMap>) -> bool {
        let mut state = self.state.lock();
        let next = match event {
            watcher::Event::Init => {
                state.seen_in_relist = Some(false);
                return false;
            }
            watcher::Event::InitApply(cm) | watcher::Event::Apply(cm) => {
                if !is_config_domain(cm) {
                    return false;
                }
                if let Some(seen) = state.seen_in_relist.as_mut() {
                    *seen = true;
                }
                match DomainConfig::from_config_map(cm) {
                    Ok(config) => config,
                    Err(error) => {
                        tracing::warn!(%error, reason = error.metric_label(), "keeping the previous domain configuration");
                        return false;
                    }
                }
            }
            watcher::Event::InitDone => match state.seen_in_relist.take() {
                Some(false) => DomainConfig::default(),
                _ => return false,
            },
            watcher::Event::Delete(cm) if is_config_domain(cm) => DomainConfig::default(),
            watcher::Event::Delete(_) => return false,
        };
        if *state.current == next {
            return false;
        }
        tracing::info!(config = ?next, "domain configuration changed");
        state.current = Arc::new(next);
        true
    }

    /// Watches the ConfigMap, keeps `self` current, and yields `()` after every change
    /// (a trigger to re-reconcile every Route). Watch errors are retried with backoff.
    pub fn watch(self: Arc<Self>, client: Client) -> impl Stream<Item = ()> + Send + 'static {
        let api: Api<ConfigMap> = Api::namespaced(client, CONFIG_MAP_NAMESPACE);
        let config = watcher::Config::default().fields(&format!("metadata.name={CONFIG_MAP_NAME}"));
        watcher(api, config)
            .default_backoff()
            .filter_map(move |event| {
                let changed = match event {
                    Ok(event) => self.apply(&event),
                    Err(error) => {
                        tracing::warn!(%error, "config-domain watch failed; retrying");
                        false
                    }
                };
                std::future::ready(changed.then_some(()))
            })
    }
}

fn is_config_domain(cm: &ConfigMap) -> bool {
    cm.metadata.name.as_deref() == Some(CONFIG_MAP_NAME)
        && cm
            .metadata
            .namespace
            .as_deref()
            .is_none_or(|ns| ns == CONFIG_MAP_NAMESPACE)
}
