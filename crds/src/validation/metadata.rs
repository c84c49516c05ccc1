//! Object `metadata` rules: names, owner labels and where annotations may go.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::autoscaling::{validate_autoscaling_annotations, validate_no_autoscaling_annotations};
use super::duration::{SECOND, parse_go_duration};
use super::names::dns1035_label;
use crate::error::{FieldError, via};
use crate::naming::MAX_NAME_LEN;

pub const SERVICE_LABEL: &str = "serving.knative.dev/service";
pub const CONFIGURATION_LABEL: &str = "serving.knative.dev/configuration";
const ROLLOUT_DURATION: &[&str] = &[
    "serving.knative.dev/rollout-duration",
    "serving.knative.dev/rolloutDuration",
];
const PROGRESS_DEADLINE: &[&str] = &[
    "serving.knative.dev/progress-deadline",
    "serving.knative.dev/progressDeadline",
];

/// Longest name whose first revision, `<name>-00001`, is still a 63-character label.
pub const MAX_REVISION_PARENT_NAME_LEN: usize = MAX_NAME_LEN - "-00001".len();

/// What the object's metadata is allowed to carry.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MetaRules {
    /// Service and Configuration names prefix their revisions' names.
    pub(crate) names_revisions: bool,
    /// Autoscaling annotations belong on revisions (and templates) only.
    pub(crate) autoscaling_allowed: bool,
    pub(crate) rollout_duration: bool,
    /// The label that must be backed by a controller owner reference, and the owner kind.
    pub(crate) owner_label: Option<(&'static str, &'static str)>,
}

/// Paths are relative to `metadata`.
pub(crate) fn validate_object_meta(meta: &ObjectMeta, rules: MetaRules) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name = meta.name.as_deref().unwrap_or_default();
    let generate_name = meta.generate_name.as_deref().unwrap_or_default();
    if !generate_name.is_empty()
        && let Some(msg) = dns1035_label(generate_name, true)
    {
        errs.push(FieldError::new(
            "generateName",
            format!("not a DNS 1035 label prefix: {msg}"),
        ));
    }
    if !name.is_empty() {
        if let Some(msg) = dns1035_label(name, false) {
            errs.push(FieldError::new(
                "name",
                format!("not a DNS 1035 label: {msg}"),
            ));
        } else if rules.names_revisions && name.len() > MAX_REVISION_PARENT_NAME_LEN {
            errs.push(FieldError::new(
                "name",
                format!(
                    "must be no more than {MAX_REVISION_PARENT_NAME_LEN} characters so that revision \
                     names (<name>-00001) fit in {MAX_NAME_LEN}, got {}",
                    name.len()
                ),
            ));
        }
    }
    if name.is_empty() && generate_name.is_empty() {
        errs.push(FieldError::new("name", "name or generateName is required"));
    }
    let annotations = meta.annotations.clone().unwrap_or_default();
    if rules.autoscaling_allowed {
        errs.extend(via(
            "annotations",
            validate_autoscaling_annotations(&annotations),
        ));
    } else {
        errs.extend(via(
            "annotations",
            validate_no_autoscaling_annotations(&annotations),
        ));
    }
    if rules.rollout_duration {
        errs.extend(via(
            "annotations",
            validate_whole_seconds(&annotations, ROLLOUT_DURATION, "rollout-duration"),
        ));
    }
    if let Some((label, kind)) = rules.owner_label
        && let Some(owner) = meta.labels.as_ref().and_then(|l| l.get(label))
    {
        let owned = meta
            .owner_references
            .iter()
            .flatten()
            .any(|r| r.kind == kind && r.name == *owner);
        if !owned {
            errs.push(FieldError::new(
                format!("labels.{label}"),
                format!("missing field: label {label}={owner} requires an ownerReference to {kind} {owner:?}"),
            ));
        }
    }
    errs
}

/// `serving.knative.dev/progress-deadline` on a revision template.
pub(crate) fn validate_progress_deadline(
    annotations: &BTreeMap<String, String>,
) -> Vec<FieldError> {
    validate_whole_seconds(annotations, PROGRESS_DEADLINE, "progress-deadline")
}

/// A Go duration at second precision, not negative.
fn validate_whole_seconds(
    m: &BTreeMap<String, String>,
    keys: &[&'static str],
    what: &str,
) -> Vec<FieldError> {
    let Some((k, v)) = keys.iter().find_map(|&k| m.get(k).map(|v| (k, v))) else {
        return Vec::new();
    };
    if v.is_empty() {
        return Vec::new();
    }
    let msg = match parse_go_duration(v) {
        None => format!("invalid value {v:?}: must be a duration such as 60s"),
        Some(d) if d % SECOND != 0 => format!("{what}={v} is not at second precision"),
        Some(d) if d < 0 => format!("{what}={v} must be positive"),
        Some(_) => return Vec::new(),
    };
    vec![FieldError::new(k, msg)]
}
