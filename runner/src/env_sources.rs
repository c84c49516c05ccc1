//! A container's environment as kubelet computes it: `envFrom` first, then
//! `env` (later entries win), with `configMapKeyRef`/`secretKeyRef` values
//! looked up in ConfigMaps and Secrets the shell has fetched. Pure: the shell
//! asks [`references`] what to fetch, fetches it, then calls [`resolve`].

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Container, EnvVarSource};

/// The ConfigMaps and Secrets a container's environment reads, by name.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct References {
    pub(crate) config_maps: BTreeSet<String>,
    pub(crate) secrets: BTreeSet<String>,
}

/// Fetched ConfigMap and Secret data by name; a missing name was not found.
/// Secret values are already decoded to text.
#[derive(Debug, Default)]
pub(crate) struct EnvSources {
    pub(crate) config_maps: BTreeMap<String, BTreeMap<String, String>>,
    pub(crate) secrets: BTreeMap<String, BTreeMap<String, String>>,
}

/// Why a container's environment cannot be built; kubelet's
/// `CreateContainerConfigError` cases, with its wording.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum EnvError {
    #[error("configmap {0:?} not found")]
    ConfigMapNotFound(String),
    #[error("couldn't find key {key} in ConfigMap {name}")]
    ConfigMapKeyNotFound { name: String, key: String },
    #[error("secret {0:?} not found")]
    SecretNotFound(String),
    #[error("couldn't find key {key} in Secret {name}")]
    SecretKeyNotFound { name: String, key: String },
    #[error("env {name}: {what} is not supported by the local runner")]
    Unsupported { name: String, what: String },
}

/// What `container`'s environment reads.
pub(crate) fn references(container: &Container) -> References {
    let mut refs = References::default();
    for from in container.env_from.iter().flatten() {
        if let Some(cm) = &from.config_map_ref {
            refs.config_maps.insert(cm.name.clone());
        }
        if let Some(secret) = &from.secret_ref {
            refs.secrets.insert(secret.name.clone());
        }
    }
    for var in container.env.iter().flatten() {
        let Some(source) = &var.value_from else {
            continue;
        };
        if let Some(key_ref) = &source.config_map_key_ref {
            refs.config_maps.insert(key_ref.name.clone());
        }
        if let Some(key_ref) = &source.secret_key_ref {
            refs.secrets.insert(key_ref.name.clone());
        }
    }
    refs
}

/// The container's environment, in definition order with later definitions
/// of a name replacing earlier ones. `pod_name` and `namespace` answer
/// `fieldRef`s, as the downward API would.
pub(crate) fn resolve(
    container: &Container,
    sources: &EnvSources,
    pod_name: &str,
    namespace: &str,
) -> Result<Vec<(String, String)>, EnvError> {
    let mut env = Env::default();
    for from in container.env_from.iter().flatten() {
        let prefix = from.prefix.as_deref().unwrap_or("");
        if let Some(cm) = &from.config_map_ref {
            match sources.config_maps.get(&cm.name) {
                Some(data) => env.extend(prefix, data),
                None if cm.optional == Some(true) => {}
                None => return Err(EnvError::ConfigMapNotFound(cm.name.clone())),
            }
        }
        if let Some(secret) = &from.secret_ref {
            match sources.secrets.get(&secret.name) {
                Some(data) => env.extend(prefix, data),
                None if secret.optional == Some(true) => {}
                None => return Err(EnvError::SecretNotFound(secret.name.clone())),
            }
        }
    }
    for var in container.env.iter().flatten() {
        let value = match &var.value_from {
            None => Some(var.value.clone().unwrap_or_default()),
            Some(source) => value_from(&var.name, source, sources, pod_name, namespace)?,
        };
        if let Some(value) = value {
            env.set(var.name.clone(), value);
        }
    }
    Ok(env.0)
}

/// A `valueFrom`'s value; `None` for an optional reference that is absent
/// (the variable is then left unset, as kubelet does).
fn value_from(
    name: &str,
    source: &EnvVarSource,
    sources: &EnvSources,
    pod_name: &str,
    namespace: &str,
) -> Result<Option<String>, EnvError> {
    if let Some(key_ref) = &source.config_map_key_ref {
        let optional = key_ref.optional == Some(true);
        let Some(data) = sources.config_maps.get(&key_ref.name) else {
            return optional
                .then_some(None)
                .ok_or_else(|| EnvError::ConfigMapNotFound(key_ref.name.clone()));
        };
        return match data.get(&key_ref.key) {
            Some(value) => Ok(Some(value.clone())),
            None if optional => Ok(None),
            None => Err(EnvError::ConfigMapKeyNotFound {
                name: key_ref.name.clone(),
                key: key_ref.key.clone(),
            }),
        };
    }
    if let Some(key_ref) = &source.secret_key_ref {
        let optional = key_ref.optional == Some(true);
        let Some(data) = sources.secrets.get(&key_ref.name) else {
            return optional
                .then_some(None)
                .ok_or_else(|| EnvError::SecretNotFound(key_ref.name.clone()));
        };
        return match data.get(&key_ref.key) {
            Some(value) => Ok(Some(value.clone())),
            None if optional => Ok(None),
            None => Err(EnvError::SecretKeyNotFound {
                name: key_ref.name.clone(),
                key: key_ref.key.clone(),
            }),
        };
    }
    if let Some(field) = &source.field_ref {
        // A local replica's "pod" is a process on this host's loopback.
        let value = match field.field_path.as_str() {
            "metadata.name" => pod_name,
            "metadata.namespace" => namespace,
            "spec.nodeName" => "localhost",
            "status.podIP" | "status.hostIP" => "127.0.0.1",
            other => {
                return Err(EnvError::Unsupported {
                    name: name.to_owned(),
                    what: format!("fieldRef {other}"),
                });
            }
        };
        return Ok(Some(value.to_owned()));
    }
    Err(EnvError::Unsupported {
        name: name.to_owned(),
        what: "this valueFrom source".to_owned(),
    })
}

/// Ordered variables where setting a name again replaces its value in place.
#[derive(Default)]
struct Env(Vec<(String, String)>);

impl Env {
    fn set(&mut self, name: String, value: String) {
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name, value)),
        }
    }

    fn extend(&mut self, prefix: &str, data: &BTreeMap<String, String>) {
        for (key, value) in data {
            self.set(format!("{prefix}{key}"), value.clone());
        }
    }
}

#[cfg(test)]
mod tests;
