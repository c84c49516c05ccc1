//! Traffic-split rules (Knative's `validateTrafficList` / `TrafficTarget.Validate`, in spec).

use std::collections::BTreeMap;

use super::names::{dns1035_label, qualified_name};
use crate::error::FieldError;
use crate::traffic::TrafficTarget;

/// Where a traffic list sits: a Service's traffic always targets the Service's own
/// Configuration, so naming one there is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrafficOwner {
    Service,
    Route,
}

/// Paths are relative to the list (`[1].tag`; the sum error is at the list itself).
pub fn validate_traffic(targets: &[TrafficTarget], owner: TrafficOwner) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut tags: BTreeMap<&str, usize> = BTreeMap::new();
    let mut sum: i64 = 0;
    for (i, tt) in targets.iter().enumerate() {
        errs.extend(
            validate_target(tt, owner)
                .into_iter()
                .map(|e| e.via(&format!("[{i}]"))),
        );
        sum = sum.saturating_add(tt.percent.unwrap_or(0));
        let tag = tt.tag();
        if tag.is_empty() {
            continue;
        }
        if let Some(msg) = dns1035_label(tag, false) {
            errs.push(FieldError::new(
                format!("[{i}].tag"),
                format!("invalid tag {tag:?}: {msg}"),
            ));
        }
        if let Some(first) = tags.get(tag) {
            errs.push(FieldError::new(
                format!("[{i}].tag"),
                format!("multiple definitions for tag {tag:?} (first at [{first}].tag): tags must be unique"),
            ));
        } else {
            tags.insert(tag, i);
        }
    }
    if sum != 100 {
        errs.push(FieldError::new(
            "",
            format!("traffic percentages must sum to 100, got {sum}"),
        ));
    }
    errs
}

fn validate_target(tt: &TrafficTarget, owner: TrafficOwner) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let (rev, cfg) = (tt.revision_name(), tt.configuration_name());
    let pinned = !rev.is_empty();
    if let Some(latest) = tt.latest_revision
        && latest == pinned
    {
        // Floating (latest) and pinned (revisionName) are two senses that must agree.
        errs.push(FieldError::new(
            "latestRevision",
            format!("may not set revisionName {rev:?} when latestRevision is {latest}"),
        ));
    }
    match (owner, rev.is_empty(), cfg.is_empty()) {
        (TrafficOwner::Service, _, false) => errs.push(FieldError::new(
            "configurationName",
            "must not set the field(s): a Service's traffic always targets its own Configuration",
        )),
        (_, false, false) => errs.push(FieldError::new(
            "",
            "expected exactly one, got both: revisionName, configurationName",
        )),
        (_, false, true) => {
            if let Some(msg) = qualified_name(rev) {
                errs.push(FieldError::new(
                    "revisionName",
                    format!("invalid revision name {rev:?}: {msg}"),
                ));
            }
        }
        (TrafficOwner::Route, true, false) => {
            if let Some(msg) = qualified_name(cfg) {
                errs.push(FieldError::new(
                    "configurationName",
                    format!("invalid configuration name {cfg:?}: {msg}"),
                ));
            }
        }
        (TrafficOwner::Service, true, true) => {}
        (TrafficOwner::Route, true, true) => errs.push(FieldError::new(
            "",
            "expected exactly one, got neither: revisionName, configurationName",
        )),
    }
    if let Some(p) = tt.percent
        && !(0..=100).contains(&p)
    {
        errs.push(FieldError::new(
            "percent",
            format!("expected 0 <= {p} <= 100"),
        ));
    }
    if tt.url.as_deref().is_some_and(|u| !u.is_empty()) {
        errs.push(FieldError::new(
            "url",
            "must not set the field(s): url is reported in status only",
        ));
    }
    errs
}
