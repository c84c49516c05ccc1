//! Which of a Configuration's Revisions are "latest created" and "latest ready".
//!
//! The Revision for the current template is the one labelled with the Configuration's
//! current generation (or carrying the user's chosen name). The API server bumps
//! `metadata.generation` only when the spec changes, so a label or annotation edit keeps
//! the generation, finds the existing Revision and stamps nothing new.

use crds::{Configuration, Revision};
use kube::ResourceExt;

use super::stamp::{generation, revision_name};
use crate::apply::controlled_by;
use crate::conditions::{READY, TRUE, find};
use crate::labels::{CONFIGURATION_GENERATION_LABEL, CONFIGURATION_LABEL};

/// What exists for the Configuration's current template.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LatestCreated<'a> {
    Found(&'a Revision),
    /// Nothing yet: stamp one.
    Missing,
    /// The user-chosen name belongs to another object (another Configuration's Revision,
    /// or one of ours with a different template).
    NameTaken(&'a str),
}

/// `revisions` are the namespace's Revisions labelled with this Configuration's name.
pub fn latest_created<'a>(cfg: &'a Configuration, revisions: &'a [Revision]) -> LatestCreated<'a> {
    let gen_label = generation(cfg).to_string();
    let byo = cfg
        .spec
        .template
        .metadata
        .name
        .as_deref()
        .filter(|n| !n.is_empty());
    if let Some(name) = byo {
        return match revisions.iter().find(|r| r.name_any() == name) {
            None => LatestCreated::Missing,
            Some(r) if !controlled_by(r, cfg) => LatestCreated::NameTaken(name),
            Some(r) if config_generation(r) == Some(generation(cfg)) => LatestCreated::Found(r),
            // Only the spec matters: users may label or annotate a Revision afterwards.
            Some(r) if r.spec == cfg.spec.template.spec => LatestCreated::Found(r),
            Some(_) => LatestCreated::NameTaken(name),
        };
    }
    revisions
        .iter()
        .find(|r| {
            r.labels().get(CONFIGURATION_LABEL) == Some(&cfg.name_any())
                && r.labels().get(CONFIGURATION_GENERATION_LABEL) == Some(&gen_label)
                && controlled_by(*r, cfg)
        })
        .map_or(LatestCreated::Missing, LatestCreated::Found)
}

/// The newest Ready Revision of this Configuration: the user-named one first, then by
/// descending configuration generation.
pub fn latest_ready<'a>(cfg: &Configuration, revisions: &'a [Revision]) -> Option<&'a Revision> {
    let byo = revision_name(cfg);
    revisions
        .iter()
        .filter(|r| controlled_by(*r, cfg) && is_ready(r))
        .max_by_key(|r| (r.name_any() == byo, config_generation(r).unwrap_or(-1)))
}

/// Knative's `Revision.IsReady`: Ready=True for the Revision's current generation.
pub fn is_ready(rev: &Revision) -> bool {
    let Some(status) = &rev.status else {
        return false;
    };
    status.observed_generation == rev.metadata.generation
        && status
            .conditions
            .as_deref()
            .and_then(|c| find(c, READY))
            .is_some_and(|c| c.status == TRUE)
}

fn config_generation(rev: &Revision) -> Option<i64> {
    rev.labels()
        .get(CONFIGURATION_GENERATION_LABEL)?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests;
