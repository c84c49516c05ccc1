//! The container shape Knative accepts: a k8s `Container` restricted to the fields
//! Knative's `ContainerMask` allows, with every field optional.
//!
//! k8s-openapi's `Container` makes `name` required, but Knative users routinely
//! omit it (defaulting fills in `user-container`), and fnmesh functions may run a
//! local `command` with no `image` at all.

use k8s_openapi::api::core::v1::{
    ContainerPort, EnvFromSource, EnvVar, Probe, ResourceRequirements, SecurityContext, VolumeMount,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<EnvVar>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_from: Option<Vec<EnvFromSource>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<Vec<ContainerPort>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_mounts: Option<Vec<VolumeMount>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveness_probe: Option<Probe>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness_probe: Option<Probe>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup_probe: Option<Probe>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_context: Option<SecurityContext>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub termination_message_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub termination_message_policy: Option<String>,
}

// === impl Container ===

impl Container {
    /// The container's ports, empty when unset.
    pub fn ports(&self) -> &[ContainerPort] {
        self.ports.as_deref().unwrap_or_default()
    }

    pub fn env(&self) -> &[EnvVar] {
        self.env.as_deref().unwrap_or_default()
    }

    pub fn volume_mounts(&self) -> &[VolumeMount] {
        self.volume_mounts.as_deref().unwrap_or_default()
    }

    /// The serving port the function listens on, if the user declared one.
    pub fn serving_port(&self) -> Option<&ContainerPort> {
        self.ports().first()
    }
}
