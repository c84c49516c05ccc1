//! Knative defaulting (`SetDefaults`) for the four kinds, with the cluster's `config-defaults`.

mod revision_spec;

pub use revision_spec::{
    DEFAULT_TIMEOUT_SECONDS, DEFAULT_USER_CONTAINER_NAME, default_revision_spec,
};

use crate::configuration::Configuration;
use crate::revision::{Revision, RevisionSpec};
use crate::route::Route;
use crate::service::Service;
use crate::template::RevisionTemplateSpec;
use crate::traffic::TrafficTarget;

pub fn default_service(svc: &mut Service, old: Option<&Service>) {
    default_template(&mut svc.spec.template, old.map(|o| &o.spec.template));
    let traffic = svc.spec.traffic.get_or_insert_with(Vec::new);
    if traffic.is_empty() {
        traffic.push(TrafficTarget {
            percent: Some(100),
            latest_revision: Some(true),
            ..TrafficTarget::default()
        });
    }
    default_targets(traffic);
}

pub fn default_configuration(cfg: &mut Configuration, old: Option<&Configuration>) {
    default_template(&mut cfg.spec.template, old.map(|o| &o.spec.template));
}

/// A Revision is defaulted once, at creation; afterwards its spec is frozen.
pub fn default_revision(rev: &mut Revision, old: Option<&Revision>) {
    match old {
        None => default_revision_spec(&mut rev.spec, true),
        Some(old) => {
            if matches_when_defaulted(&rev.spec, &old.spec) {
                rev.spec = old.spec.clone();
            }
        }
    }
}

pub fn default_route(route: &mut Route) {
    if let Some(traffic) = &mut route.spec.traffic {
        default_targets(traffic);
    }
}

/// `latestRevision` follows whether a revision is pinned; a missing percent is an explicit 0.
pub fn default_targets(traffic: &mut [TrafficTarget]) {
    for tt in traffic {
        tt.latest_revision
            .get_or_insert(tt.revision_name().is_empty());
        tt.percent.get_or_insert(0);
    }
}

/// Defaults a template. On an update that keeps a user-chosen revision name, Knative skips
/// defaulting (the name says "same revision"). Beyond Knative: when the submitted template is
/// the stored one minus defaults (a full PUT of the original manifest), the stored template is
/// kept, so re-applying a manifest is never mistaken for a template change.
pub fn default_template(t: &mut RevisionTemplateSpec, old: Option<&RevisionTemplateSpec>) {
    let Some(old) = old else {
        default_revision_spec(&mut t.spec, true);
        return;
    };
    if t.metadata == old.metadata && matches_when_defaulted(&t.spec, &old.spec) {
        t.spec = old.spec.clone();
        return;
    }
    let name = t.metadata.name.as_deref().unwrap_or_default();
    let byo_name_kept = !name.is_empty() && old.metadata.name.as_deref() == Some(name);
    if !byo_name_kept {
        default_revision_spec(&mut t.spec, false);
    }
}

/// Whether `new`, once defaulted (as on create or as on update), equals `old`.
fn matches_when_defaulted(new: &RevisionSpec, old: &RevisionSpec) -> bool {
    new == old
        || [true, false].into_iter().any(|creating| {
            let mut d = new.clone();
            default_revision_spec(&mut d, creating);
            d == *old
        })
}

#[cfg(test)]
mod tests;
