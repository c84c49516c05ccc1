//! Revision template rules: the spec, the template's annotations, BYO revision names, and
//! the update rule that a kept name means an unchanged template.

use super::autoscaling::validate_autoscaling_annotations;
use super::metadata::validate_progress_deadline;
use super::names::dns1035_label;
use super::revision_spec::validate_revision_spec;
use crate::error::{FieldError, via};
use crate::template::RevisionTemplateSpec;

/// The name of the object the template lives in: a BYO revision name must extend it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Parent<'a> {
    pub(crate) name: &'a str,
    pub(crate) generate_name: &'a str,
}

/// Paths are relative to the template (`spec.containers[0]…`, `metadata.name`).
pub(crate) fn validate_template(t: &RevisionTemplateSpec, parent: Parent<'_>) -> Vec<FieldError> {
    let mut errs = via("spec", validate_revision_spec(&t.spec));
    let annotations = t.metadata.annotations();
    errs.extend(via(
        "metadata.annotations",
        validate_autoscaling_annotations(annotations),
    ));
    errs.extend(via(
        "metadata.annotations",
        validate_progress_deadline(annotations),
    ));
    errs.extend(validate_revision_name(t, parent));
    errs
}

fn validate_revision_name(t: &RevisionTemplateSpec, parent: Parent<'_>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(g) = t
        .metadata
        .generate_name
        .as_deref()
        .filter(|g| !g.is_empty())
        && let Some(msg) = dns1035_label(g, true)
    {
        errs.push(FieldError::new(
            "metadata.generateName",
            format!("not a DNS 1035 label prefix: {msg}"),
        ));
    }
    let Some(name) = t.metadata.name.as_deref().filter(|n| !n.is_empty()) else {
        return errs;
    };
    if let Some(msg) = dns1035_label(name, false) {
        errs.push(FieldError::new(
            "metadata.name",
            format!("not a DNS 1035 label: {msg}"),
        ));
        return errs;
    }
    if parent.name.is_empty() && !parent.generate_name.is_empty() {
        // The parent's final name is unknown at creation, so no name can carry its prefix.
        errs.push(FieldError::new(
            "metadata.name",
            "must not set the field(s): a revision name cannot be chosen when the parent uses generateName",
        ));
        return errs;
    }
    let prefix = format!("{}-", parent.name);
    if !name.starts_with(&prefix) {
        errs.push(FieldError::new(
            "metadata.name",
            format!("{name:?} must have prefix {prefix:?}"),
        ));
    }
    errs
}

/// On update: a user-chosen revision name that stays the same promises the same template.
pub(crate) fn verify_name_change(
    new: &RevisionTemplateSpec,
    old: &RevisionTemplateSpec,
) -> Vec<FieldError> {
    let name = new.metadata.name.as_deref().unwrap_or_default();
    if name.is_empty() || new.metadata.name != old.metadata.name || new == old {
        return Vec::new();
    }
    vec![FieldError::new(
        "metadata.name",
        format!(
            "saw changes to the template without a name change: revision {name:?} already exists, \
             so metadata.name must change when the template changes"
        ),
    )]
}
