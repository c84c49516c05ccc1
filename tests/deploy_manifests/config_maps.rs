//! The configuration ConfigMaps in deploy/ against the code that reads them: one per
//! configuration the components watch, and each `_example` block documents exactly the
//! defaults the code applies without it.

use std::collections::BTreeMap;

use autoscaler::AutoscalerConfig;
use controller::config_map::{ConfigMapConfig, EXAMPLE_KEY};
use controller::domain::DomainConfig;
use controller::network::NetworkConfig;
use controller::revision_lifecycle::GcConfig;
use crds::ClusterDefaults;

use crate::manifests::{self, Manifest};

/// The ConfigMaps the components read, by the names the code reads them under.
pub(crate) fn expected_names() -> Vec<&'static str> {
    let mut names = vec![
        <AutoscalerConfig as ConfigMapConfig>::NAME,
        <DomainConfig as ConfigMapConfig>::NAME,
        <NetworkConfig as ConfigMapConfig>::NAME,
        <GcConfig as ConfigMapConfig>::NAME,
        crds::CONFIG_DEFAULTS_NAME,
    ];
    names.sort_unstable();
    names
}

pub(crate) fn data(config_map: &Manifest) -> BTreeMap<String, String> {
    manifests::labels(&config_map.object["data"])
}

/// The `_example` block read as ConfigMap data (what a user gets by copying it out).
pub(crate) fn example(config_map: &Manifest) -> BTreeMap<String, String> {
    let data = data(config_map);
    let text = data
        .get(EXAMPLE_KEY)
        .unwrap_or_else(|| panic!("{}: no {EXAMPLE_KEY} block", config_map.id()));
    serde_saphyr::from_str(text).unwrap_or_else(|e| {
        panic!(
            "{}: {EXAMPLE_KEY} is not key: value YAML: {e}",
            config_map.id()
        )
    })
}

/// What is wrong with one ConfigMap: its data does not parse, or its example does not
/// show the defaults.
pub(crate) fn problems(config_map: &Manifest) -> Vec<String> {
    let id = config_map.id();
    let data = data(config_map);
    let example = example(config_map);
    let mut problems = Vec::new();
    let mut check = |what: &str, ok: Result<bool, String>| match ok {
        Ok(true) => {}
        Ok(false) => problems.push(format!("{id}: {what}")),
        Err(error) => problems.push(format!("{id}: {what}: {error}")),
    };
    match config_map.name() {
        "config-autoscaler" => {
            check(
                "data must parse",
                AutoscalerConfig::from_configmap_data(&data)
                    .map(|_| true)
                    .map_err(|e| e.to_string()),
            );
            check(
                "_example must list exactly autoscaler::CONFIG_KEYS",
                Ok(example.keys().map(String::as_str).collect::<Vec<_>>() == {
                    let mut keys = autoscaler::CONFIG_KEYS.to_vec();
                    keys.sort_unstable();
                    keys
                }),
            );
            check(
                "_example must be the defaults",
                AutoscalerConfig::from_configmap_data(&example)
                    .map(|c| c == AutoscalerConfig::default())
                    .map_err(|e| e.to_string()),
            );
        }
        "config-defaults" => {
            check(
                "data must parse",
                ClusterDefaults::from_config_map_data(&data)
                    .map(|_| true)
                    .map_err(|e| e.to_string()),
            );
            check(
                "_example must be the defaults",
                ClusterDefaults::from_config_map_data(&example)
                    .map(|c| c == ClusterDefaults::default())
                    .map_err(|e| e.to_string()),
            );
        }
        "config-gc" => {
            check("data must parse", GcConfig::from_data(&data).map(|_| true));
            check(
                "_example must be the defaults",
                GcConfig::from_data(&example).map(|c| c == GcConfig::default()),
            );
        }
        "config-network" => {
            check(
                "data must parse",
                NetworkConfig::from_data(&data)
                    .map(|_| true)
                    .map_err(|e| e.to_string()),
            );
            check(
                "_example must be the defaults",
                NetworkConfig::from_data(&example)
                    .map(|c| c == NetworkConfig::default())
                    .map_err(|e| e.to_string()),
            );
        }
        "config-domain" => {
            // The example shows how to add domains, not the default (no key at all).
            check(
                "data must be the default domain",
                <DomainConfig as ConfigMapConfig>::from_data(&data)
                    .map(|c| c == DomainConfig::default())
                    .map_err(|e| e.to_string()),
            );
            check(
                "_example must parse",
                <DomainConfig as ConfigMapConfig>::from_data(&example)
                    .map(|_| true)
                    .map_err(|e| e.to_string()),
            );
        }
        other => problems.push(format!("{id}: no component reads a ConfigMap {other:?}")),
    }
    problems
}
