//! How fnmesh's components find each other: the Kubernetes way, through EndpointSlices
//! labelled `kubernetes.io/service-name=<service>` in the system namespace
//! (`knative-serving`).
//!
//! In a cluster Kubernetes writes those slices from the Services in `deploy/`, whose
//! selectors pick each component's pods. Outside one (`fnmesh up`, or the components
//! started as separate processes with a kubeconfig) nobody would, so each component
//! [`publish`]es a slice naming its own listener, and withdraws it on a clean stop.
//! Either way consumers [`watch_addresses`] of the slices and follow them as they
//! change, so a component that restarts on another address is found again.

mod address;
mod prune;
mod publish;
mod services;
mod watch;

pub use address::advertised_ip;
pub use prune::prune_dead;
pub use publish::{HOST_LABEL, Publication, in_cluster, publish, withdraw};
pub use services::{
    ACTIVATOR, ACTIVATOR_PORT, AUTOSCALER, AUTOSCALER_PORT, CONTROLLER, CONTROLLER_XDS_PORT,
    SYSTEM_NAMESPACE,
};
pub use watch::{first_address, watch_addresses};
