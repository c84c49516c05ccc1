//! The serving.knative.dev/v1 API as Rust types, and everything about it that needs no I/O:
//! Knative's defaulting, every admission (validation) rule, revision naming, and the CRD
//! YAML generated from the types.
//!
//! The embedded API server calls [`admit`] and [`prune`]; the controller uses the typed
//! objects and [`revision_name`]. Nothing here talks to a network or a disk.

mod admission;
mod cluster_defaults;
mod condition;
mod configuration;
mod container;
mod crd_yaml;
pub mod defaults;
mod error;
mod kind;
mod naming;
mod revision;
mod route;
mod service;
mod template;
mod traffic;
pub mod validation;

pub use admission::{admit, prune};
pub use cluster_defaults::{CONFIG_DEFAULTS_NAME, ClusterDefaults};
pub use condition::{Addressable, Condition};
pub use configuration::{Configuration, ConfigurationSpec, ConfigurationStatus};
pub use container::Container;
pub use crd_yaml::{crds, crds_yaml};
pub use error::FieldError;
pub use kind::{API_VERSION, GROUP, ServingKind, VERSION};
pub use naming::{MAX_NAME_LEN, child_name, revision_name};
pub use revision::{ContainerStatus, Revision, RevisionSpec, RevisionStatus};
pub use route::{Route, RouteSpec, RouteStatus};
pub use service::{Service, ServiceSpec, ServiceStatus};
pub use template::{RevisionTemplateSpec, TemplateMetadata};
pub use traffic::TrafficTarget;
