//! Which EndpointSlices are a revision's, the one rule every consumer (the controller's
//! endpoints watcher, the activator) follows in both modes: a slice belongs to the
//! Service it is labelled with (`kubernetes.io/service-name`), and a revision's Service
//! is named after the revision ([`crate::revision::service`]).
//!
//! Watches select slices carrying `serving.knative.dev/revision`, which Kubernetes'
//! EndpointSlice controller (and the runner) copies from the revision's Service, so a
//! cluster's other slices are not watched; the name still comes from
//! `kubernetes.io/service-name`. A slice is a revision's only if that revision exists:
//! the activator's `activator-service` slices in `knative-serving`, or any Service
//! that happens to copy the label, name no revision and are ignored by the callers,
//! which look the name up among the Revisions they watch.

use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::ResourceExt;

use crate::labels::{REVISION_LABEL, SERVICE_NAME_LABEL};
use crate::routing::ObjectKey;

/// The label selector of a watch on revision slices.
pub const REVISION_SLICES: &str = REVISION_LABEL;

/// The revision a slice would belong to (`namespace`, Service name), if it names a
/// Service at all; the caller checks that such a revision exists.
pub fn slice_revision(slice: &EndpointSlice) -> Option<ObjectKey> {
    let service = slice.labels().get(SERVICE_NAME_LABEL)?;
    let namespace = slice.namespace()?;
    Some(ObjectKey::new(namespace, service.clone()))
}
