//! Knative's `config-network` ConfigMap, as far as fnmesh uses it: `rollout-duration`
//! (older spelling `rolloutDuration`), the default for Routes without a
//! `serving.knative.dev/rollout-duration` annotation — a non-negative integer of seconds,
//! `0` (no gradual rollout) by default.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::config_map::{ConfigMapConfig, ConfigMapSource};

pub const CONFIG_MAP_NAME: &str = "config-network";
const ROLLOUT_DURATION_KEYS: [&str; 2] = ["rollout-duration", "rolloutDuration"];

/// The live `config-network`.
pub type NetworkSource = ConfigMapSource<NetworkConfig>;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetworkConfig {
    /// How long a new revision takes to get all of a Route's floating traffic.
    pub rollout_duration: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("config-network {key}: {value:?} is not a non-negative whole number of seconds")]
    RolloutDuration { key: &'static str, value: String },
}

impl ConfigMapConfig for NetworkConfig {
    const NAME: &'static str = CONFIG_MAP_NAME;
    type Error = NetworkError;

    fn from_data(data: &BTreeMap<String, String>) -> Result<Self, NetworkError> {
        let mut config = Self::default();
        for key in ROLLOUT_DURATION_KEYS {
            let Some(value) = data.get(key) else { continue };
            let seconds: u64 = value
                .trim()
                .parse()
                .map_err(|_| NetworkError::RolloutDuration {
                    key,
                    value: value.clone(),
                })?;
            config.rollout_duration = Duration::from_secs(seconds);
            break;
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<NetworkConfig, NetworkError> {
        let data = pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        NetworkConfig::from_data(&data)
    }

    #[test]
    fn rollout_duration_is_whole_seconds_under_either_spelling() {
        assert_eq!(parse(&[]).unwrap().rollout_duration, Duration::ZERO);
        let config = parse(&[("rollout-duration", "211")]).unwrap();
        assert_eq!(config.rollout_duration, Duration::from_secs(211));
        let config = parse(&[("rolloutDuration", "30")]).unwrap();
        assert_eq!(config.rollout_duration, Duration::from_secs(30));
        let error = parse(&[("rollout-duration", "60s")]).unwrap_err();
        assert!(error.to_string().contains("rollout-duration"), "{error}");
        assert!(parse(&[("rollout-duration", "-1")]).is_err());
    }
}
