//! Live configuration from Knative's ConfigMaps in `knative-serving` (`config-domain`,
//! `config-network`, …), fed by watch events. Like Knative's config store, an invalid
//! edit is logged and the last valid configuration stays in force; a missing ConfigMap
//! means the defaults.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client};
use parking_lot::Mutex;

/// Where Knative keeps its configuration.
pub const CONFIG_MAP_NAMESPACE: &str = "knative-serving";
/// Knative ConfigMaps document themselves under this key; it is never configuration.
pub const EXAMPLE_KEY: &str = "_example";

/// A configuration read from one ConfigMap; `Default` is what applies without it.
pub trait ConfigMapConfig: Default + PartialEq + fmt::Debug + Send + Sync + 'static {
    /// The ConfigMap's name in [`CONFIG_MAP_NAMESPACE`].
    const NAME: &'static str;
    type Error: fmt::Display;

    fn from_data(data: &BTreeMap<String, String>) -> Result<Self, Self::Error>;
}

/// Shared, always-readable configuration of type `T`.
#[derive(Debug, Default)]
pub struct ConfigMapSource<T> {
    state: Mutex<State<T>>,
}

#[derive(Debug, Default)]
struct State<T> {
    current: Arc<T>,
    /// During a (re)list: whether the ConfigMap was among the listed objects, so a
    /// ConfigMap deleted while the watch was down still falls back to the defaults.
    seen_in_relist: Option<bool>,
    /// The first list is in: `current` is what the API holds, not a start-up default.
    loaded: bool,
}

// === impl ConfigMapSource ===

impl<T: ConfigMapConfig> ConfigMapSource<T> {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State {
                current: Arc::new(T::default()),
                seen_in_relist: None,
                loaded: false,
            }),
        })
    }

    pub fn current(&self) -> Arc<T> {
        self.state.lock().current.clone()
    }

    /// Whether the first list has been applied (before it, [`Self::current`] is the
    /// default whatever the API holds).
    pub fn is_loaded(&self) -> bool {
        self.state.lock().loaded
    }

    /// Applies one watch event; true when the effective configuration changed, and
    /// once when the first list is in (what was decided before may have used the
    /// start-up default).
    pub fn apply(&self, event: &watcher::Event<ConfigMap>) -> bool {
        let mut state = self.state.lock();
        let first_load = matches!(event, watcher::Event::InitDone) && !state.loaded;
        if first_load {
            state.loaded = true;
        }
        let next = match event {
            watcher::Event::Init => {
                state.seen_in_relist = Some(false);
                return false;
            }
            watcher::Event::InitApply(cm) | watcher::Event::Apply(cm) => {
                if !is_ours::<T>(cm) {
                    return false;
                }
                if let Some(seen) = state.seen_in_relist.as_mut() {
                    *seen = true;
                }
                match T::from_data(&cm.data.clone().unwrap_or_default()) {
                    Ok(config) => config,
                    Err(error) => {
                        tracing::warn!(config_map = T::NAME, %error, "keeping the previous configuration");
                        return false;
                    }
                }
            }
            watcher::Event::InitDone => match state.seen_in_relist.take() {
                Some(false) => T::default(),
                _ => return first_load,
            },
            watcher::Event::Delete(cm) if is_ours::<T>(cm) => T::default(),
            watcher::Event::Delete(_) => return false,
        };
        if *state.current == next {
            return first_load;
        }
        tracing::info!(config_map = T::NAME, config = ?next, "configuration changed");
        state.current = Arc::new(next);
        true
    }

    /// Watches the ConfigMap, keeps `self` current, and yields `()` after every change
    /// (a trigger to re-reconcile what depends on it). Watch errors are retried with
    /// backoff.
    pub fn watch(self: Arc<Self>, client: Client) -> impl Stream<Item = ()> + Send + 'static {
        let api: Api<ConfigMap> = Api::namespaced(client, CONFIG_MAP_NAMESPACE);
        let config = watcher::Config::default().fields(&format!("metadata.name={}", T::NAME));
        watcher(api, config)
            .default_backoff()
            .filter_map(move |event| {
                let changed = match event {
                    Ok(event) => self.apply(&event),
                    Err(error) => {
                        tracing::warn!(config_map = T::NAME, %error, "watch failed; retrying");
                        false
                    }
                };
                std::future::ready(changed.then_some(()))
            })
    }
}

fn is_ours<T: ConfigMapConfig>(cm: &ConfigMap) -> bool {
    cm.metadata.name.as_deref() == Some(T::NAME)
        && cm
            .metadata
            .namespace
            .as_deref()
            .is_none_or(|ns| ns == CONFIG_MAP_NAMESPACE)
}
