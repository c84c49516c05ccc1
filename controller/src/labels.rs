//! The label and annotation keys Knative's reconcilers stamp on the objects they make,
//! so selectors and `kubectl get -l` work the same as on Knative.

pub use crds::validation::{CONFIGURATION_LABEL, SERVICE_LABEL};

pub const SERVICE_UID_LABEL: &str = "serving.knative.dev/serviceUID";
pub const CONFIGURATION_UID_LABEL: &str = "serving.knative.dev/configurationUID";
pub const CONFIGURATION_GENERATION_LABEL: &str = "serving.knative.dev/configurationGeneration";
pub const REVISION_LABEL: &str = "serving.knative.dev/revision";
pub const REVISION_UID_LABEL: &str = "serving.knative.dev/revisionUID";
/// Plain `app: <revision>`, for tools that group pods by it.
pub const APP_LABEL: &str = "app";

/// Which Routes point at a Configuration (comma-separated, sorted).
pub const ROUTES_ANNOTATION: &str = "serving.knative.dev/routes";
/// Set by Knative's webhook on every update; becomes the Revision's creator.
pub const UPDATER_ANNOTATION: &str = "serving.knative.dev/lastModifier";
pub const CREATOR_ANNOTATION: &str = "serving.knative.dev/creator";
/// kubectl's copy of the last applied manifest: never propagated to children.
pub const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";
/// Both spellings Knative accepts; they steer the Route, not the Configuration.
pub const ROLLOUT_DURATION_ANNOTATIONS: [&str; 2] = [
    "serving.knative.dev/rollout-duration",
    "serving.knative.dev/rolloutDuration",
];
pub const INITIAL_SCALE_ANNOTATION: &str = "autoscaling.knative.dev/initial-scale";
pub const MIN_SCALE_ANNOTATION: &str = "autoscaling.knative.dev/min-scale";
/// Older spellings Knative still reads.
pub const INITIAL_SCALE_ALIASES: [&str; 1] = ["autoscaling.knative.dev/initialScale"];
pub const MIN_SCALE_ALIASES: [&str; 1] = ["autoscaling.knative.dev/minScale"];
pub const PROGRESS_DEADLINE_ANNOTATIONS: [&str; 2] = [
    "serving.knative.dev/progress-deadline",
    "serving.knative.dev/progressDeadline",
];
/// Pod template annotation the runner reads for the revision's request timeout.
pub const TIMEOUT_SECONDS_ANNOTATION: &str = "fnmesh.dev/timeout-seconds";
/// On a revision's Deployment, written by the autoscaler: `Proxy` puts the activator in
/// the revision's request path (at zero, on the way there, or when spare capacity
/// cannot absorb a burst), `Serve` sends requests straight to the replicas. Knative
/// keeps this on a ServerlessService's `spec.mode`.
pub const SERVING_MODE_ANNOTATION: &str = "fnmesh.dev/serving-mode";
pub const SERVING_MODE_PROXY: &str = "Proxy";
pub const SERVING_MODE_SERVE: &str = "Serve";
/// Kubernetes' label tying an EndpointSlice to its Service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
/// The activator's Service in `knative-serving` (Knative's name): its EndpointSlices
/// are where the activator can be reached.
pub const ACTIVATOR_SERVICE: &str = "activator-service";
/// Knative's routing state of a Revision: `active` while a Route references it,
/// `reserve` once none does, `pending` before any has. Not propagated to pods.
pub const ROUTING_STATE_LABEL: &str = "serving.knative.dev/routingState";
/// When the routing state last changed (RFC 3339): the revision's "last active" time
/// for garbage collection.
pub const ROUTING_STATE_MODIFIED_ANNOTATION: &str = "serving.knative.dev/routingStateModified";
/// A revision with this annotation is never garbage-collected.
pub const NO_GC_ANNOTATION: &str = "serving.knative.dev/no-gc";
