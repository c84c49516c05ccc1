//! Glue between resolution and [`rollout`](super::rollout): which resolved targets a
//! rollout governs, and the targets once the rollout's split is applied.

use super::resolve::Flat;
use super::rollout::{Goal, Rollout};

/// One goal per (configuration, tag) among the floating targets, shares summed.
pub(crate) fn goals(flat: &[Flat]) -> Vec<Goal> {
    let mut goals: Vec<Goal> = Vec::new();
    for target in flat {
        let Some(configuration) = &target.floats_with else {
            continue;
        };
        let tag = target.tag.clone().unwrap_or_default();
        match goals
            .iter_mut()
            .find(|g| &g.configuration == configuration && g.tag == tag)
        {
            Some(goal) => goal.percent += target.percent,
            None => goals.push(Goal {
                configuration: configuration.clone(),
                tag,
                percent: target.percent,
                revision: target.revision.clone(),
            }),
        }
    }
    goals
}

/// `flat` with each floating target that is mid-rollout replaced, where it first
/// appeared, by the revisions sharing its traffic (all `latestRevision`, as Knative
/// reports them).
pub(crate) fn apply(flat: Vec<Flat>, rollout: &Rollout) -> Vec<Flat> {
    let mut out: Vec<Flat> = Vec::with_capacity(flat.len() + 1);
    let mut expanded: Vec<(&str, &str)> = Vec::new();
    for target in flat {
        let Some(configuration) = &target.floats_with else {
            out.push(target);
            continue;
        };
        let tag = target.tag.as_deref().unwrap_or_default();
        let moving = rollout
            .configurations
            .iter()
            .find(|c| &c.configuration_name == configuration && c.tag == tag)
            .filter(|c| c.revisions.len() > 1);
        let Some(moving) = moving else {
            out.push(target);
            continue;
        };
        let key = (moving.configuration_name.as_str(), moving.tag.as_str());
        if expanded.contains(&key) {
            continue;
        }
        expanded.push(key);
        out.extend(moving.revisions.iter().map(|r| Flat {
            tag: target.tag.clone(),
            revision: r.revision_name.clone(),
            latest: true,
            percent: r.percent,
            floats_with: Some(configuration.clone()),
        }));
    }
    out
}
