//! Fetches the ConfigMaps and Secrets a container's environment reads.

use k8s_openapi::api::core::v1::{ConfigMap, Container, Secret};
use kube::{Api, Client};

use crate::env_sources::{self, EnvSources};

/// The data of every ConfigMap and Secret `container` references in
/// `namespace`; absent objects are left out (resolution decides whether that
/// is an error). Non-UTF-8 Secret values are decoded lossily.
pub(crate) async fn fetch(
    client: &Client,
    namespace: &str,
    container: &Container,
) -> Result<EnvSources, kube::Error> {
    let refs = env_sources::references(container);
    let mut sources = EnvSources::default();
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    for name in refs.config_maps {
        if let Some(cm) = config_maps.get_opt(&name).await? {
            sources
                .config_maps
                .insert(name, cm.data.unwrap_or_default());
        }
    }
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    for name in refs.secrets {
        if let Some(secret) = secrets.get_opt(&name).await? {
            let mut data: std::collections::BTreeMap<String, String> = secret
                .data
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, String::from_utf8_lossy(&v.0).into_owned()))
                .collect();
            // stringData is write-only in a real API server, but harmless to honour.
            data.extend(secret.string_data.unwrap_or_default());
            sources.secrets.insert(name, data);
        }
    }
    Ok(sources)
}
