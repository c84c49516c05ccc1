//! Gradual rollout (`serving.knative.dev/rollout-duration`): when the revision a
//! `configurationName` / `latestRevision` target floats to changes, traffic moves to the
//! new revision step by step instead of at once — 1% first, then equal steps spread over
//! the duration — as Knative's route reconciler does. The state lives in the Route's
//! `serving.knative.dev/rollout` annotation in Knative's JSON shape, so it survives
//! restarts and users can read it.
//!
//! Pure: [`step`] takes the goal (what resolution says now), the previous state and the
//! clock, and returns the new state plus when the next step is due. Differences from
//! Knative: the first 1% is taken to need one second (Knative measures how long the
//! ingress took; ours takes milliseconds), so step sizes are known at once.

#[cfg(test)]
mod tests;

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Route annotation holding the rollout state. The Route (or its Service) asks for a
/// rollout with `serving.knative.dev/rollout-duration`, a Go duration in whole seconds
/// (`crate::labels::ROLLOUT_DURATION_ANNOTATIONS`).
pub const ROLLOUT_ANNOTATION: &str = "serving.knative.dev/rollout";

const NANOS_PER_SEC: i64 = 1_000_000_000;
/// The time the first 1% is given before the equal steps start.
const FIRST_STEP: Duration = Duration::from_secs(1);

/// Every rollout of one Route, sorted by tag, then configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rollout {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub configurations: Vec<ConfigurationRollout>,
}

/// The rollout of one (configuration, tag) target.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigurationRollout {
    pub configuration_name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub tag: String,
    /// The target's share of the Route's traffic; the revisions' shares sum to it.
    pub percent: i64,
    /// Oldest first; the last is the newest and grows until it holds everything.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revisions: Vec<RevisionRollout>,
    #[serde(default)]
    pub step_params: StepParams,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevisionRollout {
    #[serde(rename = "revisionName")]
    pub revision_name: String,
    pub percent: i64,
}

/// Timing in Unix nanoseconds, as Knative keeps it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepParams {
    #[serde(default, rename = "starttime", skip_serializing_if = "is_zero")]
    pub start_time: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub next_step_time: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub step_duration: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub step_size: i64,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

impl Rollout {
    /// The state stored in `annotation`, if it is well formed and consistent
    /// (otherwise it is ignored and the rollout starts over from the goal).
    pub fn parse(annotation: &str) -> Option<Self> {
        let rollout: Self = serde_json::from_str(annotation).ok()?;
        rollout.is_consistent().then_some(rollout)
    }

    pub fn to_annotation(&self) -> String {
        serde_json::to_string(self).expect("plain data serialises")
    }

    fn is_consistent(&self) -> bool {
        self.configurations.iter().all(|c| {
            (0..=100).contains(&c.percent)
                && (0..=c.percent).contains(&c.step_params.step_size)
                && c.revisions.iter().map(|r| r.percent).sum::<i64>() == c.percent
                && c.revisions.iter().all(|r| r.percent >= 0)
        })
    }

    /// Whether some target is still moving traffic.
    pub fn in_progress(&self) -> bool {
        self.configurations.iter().any(|c| c.revisions.len() > 1)
    }
}

/// One floating target as resolution sees it now: all of `percent` on `revision`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Goal {
    pub configuration: String,
    pub tag: String,
    pub percent: i64,
    pub revision: String,
}

/// Moves from `previous` towards `goals` at `now` (Unix ns) for a rollout lasting
/// `duration`; returns the new state and when (Unix ns) the next step is due, if any.
pub fn step(
    goals: &[Goal],
    previous: Option<&Rollout>,
    now: i64,
    duration: Duration,
) -> (Rollout, Option<i64>) {
    let mut configurations: Vec<ConfigurationRollout> = goals
        .iter()
        .map(|goal| {
            let before = previous.and_then(|p| {
                p.configurations
                    .iter()
                    .find(|c| c.configuration_name == goal.configuration && c.tag == goal.tag)
            });
            match before {
                // Up to 1% there is nothing to spread (Knative skips those too).
                Some(before) if goal.percent > 1 => {
                    step_configuration(goal, before.clone(), now, duration)
                }
                _ => settled(goal),
            }
        })
        .collect();
    configurations
        .sort_by(|a, b| (&a.tag, &a.configuration_name).cmp(&(&b.tag, &b.configuration_name)));
    let next = configurations
        .iter()
        .filter(|c| c.revisions.len() > 1)
        .map(|c| c.step_params.next_step_time)
        .filter(|&t| t > 0)
        .min();
    (Rollout { configurations }, next)
}

/// All of the goal's traffic on its revision; nothing in motion.
fn settled(goal: &Goal) -> ConfigurationRollout {
    ConfigurationRollout {
        configuration_name: goal.configuration.clone(),
        tag: goal.tag.clone(),
        percent: goal.percent,
        revisions: (goal.percent > 0)
            .then(|| RevisionRollout {
                revision_name: goal.revision.clone(),
                percent: goal.percent,
            })
            .into_iter()
            .collect(),
        step_params: StepParams::default(),
    }
}

fn step_configuration(
    goal: &Goal,
    mut before: ConfigurationRollout,
    now: i64,
    duration: Duration,
) -> ConfigurationRollout {
    resize(&mut before, goal.percent);
    let newest = before.revisions.last().map(|r| r.revision_name.as_str());
    if newest.is_none() {
        return settled(goal);
    }
    if newest == Some(goal.revision.as_str()) {
        // The same rollout goes on (or was already done).
        if before.revisions.len() > 1 && before.step_params.step_size > 0 {
            advance(&mut before, now);
        }
        if before.revisions.len() < 2 {
            before.step_params = StepParams::default();
        }
        return before;
    }
    start(goal, before, now, duration)
}

/// Makes the revisions' shares sum to `percent`: growth goes to the newest, a cut
/// comes from the oldest.
fn resize(rollout: &mut ConfigurationRollout, percent: i64) {
    let diff = percent - rollout.percent;
    rollout.percent = percent;
    if percent == 0 {
        rollout.revisions.clear();
        return;
    }
    if diff > 0 {
        if let Some(newest) = rollout.revisions.last_mut() {
            newest.percent += diff;
        }
        return;
    }
    let mut cut = -diff;
    for revision in &mut rollout.revisions {
        let taken = revision.percent.min(cut);
        revision.percent -= taken;
        cut -= taken;
    }
    rollout.revisions.retain(|r| r.percent > 0);
}

/// A new revision appeared: it gets 1%, taken from the newest revision that has
/// any, and the step size and interval are fixed for the rest of the rollout.
fn start(
    goal: &Goal,
    mut before: ConfigurationRollout,
    now: i64,
    duration: Duration,
) -> ConfigurationRollout {
    if let Some(donor) = before.revisions.iter_mut().rev().find(|r| r.percent > 0) {
        donor.percent -= 1;
    }
    let mut revisions: Vec<RevisionRollout> = before
        .revisions
        .into_iter()
        .filter(|r| r.percent > 0 && r.revision_name != goal.revision)
        .collect();
    // Rolling back to a revision still in the list: it keeps its share, plus the 1%.
    let rest: i64 = revisions.iter().map(|r| r.percent).sum();
    revisions.push(RevisionRollout {
        revision_name: goal.revision.clone(),
        percent: goal.percent - rest,
    });
    let mut rollout = ConfigurationRollout {
        configuration_name: goal.configuration.clone(),
        tag: goal.tag.clone(),
        percent: goal.percent,
        revisions,
        step_params: StepParams::default(),
    };
    if rollout.revisions.len() > 1 {
        rollout.step_params = schedule(goal.percent, now, duration);
    }
    rollout
}

/// Equal steps over what is left of `duration` after the first 1%: as many as fit at
/// one per second, at most one per remaining percent.
fn schedule(percent: i64, now: i64, duration: Duration) -> StepParams {
    let first = FIRST_STEP.as_secs_f64();
    let remaining_secs = (duration.as_secs_f64() - first).max(1.0);
    let remaining_percent = (percent - 1).max(1) as f64;
    let steps = (remaining_secs / first).max(1.0).min(remaining_percent);
    let step_size = (remaining_percent / steps).round().max(1.0) as i64;
    let step_duration = (remaining_secs / steps * NANOS_PER_SEC as f64) as i64;
    StepParams {
        start_time: now,
        next_step_time: now + (first * NANOS_PER_SEC as f64) as i64,
        step_duration,
        step_size,
    }
}

/// Moves one step of traffic from the older revisions (newest of them first) to the
/// newest, if the step is due.
fn advance(rollout: &mut ConfigurationRollout, now: i64) {
    if now < rollout.step_params.next_step_time {
        return;
    }
    let last = rollout.revisions.len() - 1;
    let (older, newest) = rollout.revisions.split_at_mut(last);
    let newest = &mut newest[0];
    let mut wanted = rollout.step_params.step_size;
    for revision in older.iter_mut().rev() {
        let taken = revision.percent.min(wanted);
        revision.percent -= taken;
        newest.percent += taken;
        wanted -= taken;
        if wanted == 0 {
            break;
        }
    }
    rollout.revisions.retain(|r| r.percent > 0);
    rollout.step_params.next_step_time = now + rollout.step_params.step_duration;
}
