//! `config-autoscaler` as a live configuration: the controller's ConfigMap source keeps
//! the last good configuration when an edit is invalid and logs the key it refused.

use std::collections::BTreeMap;

use controller::config_map::{ConfigMapConfig, ConfigMapSource};

use crate::config::{AutoscalerConfig, ConfigError};

impl ConfigMapConfig for AutoscalerConfig {
    const NAME: &'static str = "config-autoscaler";
    type Error = ConfigError;

    fn from_data(data: &BTreeMap<String, String>) -> Result<Self, Self::Error> {
        Self::from_configmap_data(data)
    }
}

pub(crate) type AutoscalerConfigSource = ConfigMapSource<AutoscalerConfig>;
