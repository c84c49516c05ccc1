//! Whole-object validation for each kind, on create (`old = None`) and update.

use super::metadata::{CONFIGURATION_LABEL, MetaRules, SERVICE_LABEL, validate_object_meta};
use super::revision_spec::validate_revision_spec;
use super::template::{Parent, validate_template, verify_name_change};
use super::traffic::{TrafficOwner, validate_traffic};
use crate::configuration::Configuration;
use crate::error::{FieldError, via};
use crate::revision::Revision;
use crate::route::Route;
use crate::service::Service;

pub fn validate_service(svc: &Service, old: Option<&Service>) -> Vec<FieldError> {
    let rules = MetaRules {
        names_revisions: true,
        autoscaling_allowed: false,
        rollout_duration: true,
        owner_label: None,
    };
    let mut errs = via("metadata", validate_object_meta(&svc.metadata, rules));
    let parent = Parent {
        name: svc.metadata.name.as_deref().unwrap_or_default(),
        generate_name: svc.metadata.generate_name.as_deref().unwrap_or_default(),
    };
    errs.extend(via(
        "spec.template",
        validate_template(&svc.spec.template, parent),
    ));
    let traffic = svc.spec.traffic.as_deref().unwrap_or_default();
    errs.extend(via(
        "spec.traffic",
        validate_traffic(traffic, TrafficOwner::Service),
    ));
    if let Some(old) = old {
        errs.extend(via(
            "spec.template",
            verify_name_change(&svc.spec.template, &old.spec.template),
        ));
    }
    errs
}

pub fn validate_configuration(cfg: &Configuration, old: Option<&Configuration>) -> Vec<FieldError> {
    let rules = MetaRules {
        names_revisions: true,
        autoscaling_allowed: false,
        rollout_duration: false,
        owner_label: Some((SERVICE_LABEL, "Service")),
    };
    let mut errs = via("metadata", validate_object_meta(&cfg.metadata, rules));
    let parent = Parent {
        name: cfg.metadata.name.as_deref().unwrap_or_default(),
        generate_name: cfg.metadata.generate_name.as_deref().unwrap_or_default(),
    };
    errs.extend(via(
        "spec.template",
        validate_template(&cfg.spec.template, parent),
    ));
    if let Some(old) = old {
        errs.extend(via(
            "spec.template",
            verify_name_change(&cfg.spec.template, &old.spec.template),
        ));
    }
    errs
}

/// A Revision's spec is validated once, at creation; later it may not change at all.
pub fn validate_revision(rev: &Revision, old: Option<&Revision>) -> Vec<FieldError> {
    let rules = MetaRules {
        names_revisions: false,
        autoscaling_allowed: true,
        rollout_duration: false,
        owner_label: Some((CONFIGURATION_LABEL, "Configuration")),
    };
    let mut errs = via("metadata", validate_object_meta(&rev.metadata, rules));
    match old {
        Some(old) if old.spec != rev.spec => errs.push(FieldError::new(
            "spec",
            "immutable fields changed: a Revision's spec cannot be updated, change the Configuration's template instead",
        )),
        Some(_) => {}
        None => errs.extend(via("spec", validate_revision_spec(&rev.spec))),
    }
    errs
}

pub fn validate_route(route: &Route, _old: Option<&Route>) -> Vec<FieldError> {
    let rules = MetaRules {
        names_revisions: false,
        autoscaling_allowed: false,
        rollout_duration: true,
        owner_label: Some((SERVICE_LABEL, "Service")),
    };
    let mut errs = via("metadata", validate_object_meta(&route.metadata, rules));
    let traffic = route.spec.traffic.as_deref().unwrap_or_default();
    errs.extend(via(
        "spec.traffic",
        validate_traffic(traffic, TrafficOwner::Route),
    ));
    errs
}
