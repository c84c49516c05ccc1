//! Every admission rule Knative's webhook enforces for serving.knative.dev/v1, as plain
//! functions returning all the problems at once.

mod autoscaling;
mod container;
mod duration;
mod kinds;
mod metadata;
pub(crate) mod names;
mod revision_spec;
mod template;
mod traffic;

pub use autoscaling::{
    refuse_zero_initial_scale, validate_autoscaling_annotations,
    validate_no_autoscaling_annotations,
};
pub use container::{RESERVED_ENV_VARS, RESERVED_PORTS, VALID_PORT_NAMES};
pub use duration::parse_go_duration;
pub use kinds::{validate_configuration, validate_revision, validate_route, validate_service};
pub use metadata::{CONFIGURATION_LABEL, MAX_REVISION_PARENT_NAME_LEN, SERVICE_LABEL};
pub use revision_spec::validate_revision_spec;
pub use traffic::{TrafficOwner, validate_traffic};

#[cfg(test)]
mod tests;
