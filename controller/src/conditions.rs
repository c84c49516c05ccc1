//! Knative's condition-set semantics (`knative.dev/pkg/apis.ConditionSet`) over
//! [`crds::Condition`] lists, as plain functions of the old list and the clock.
//!
//! A *living* condition set has one happy condition (`Ready`) and a list of dependents:
//! the happy condition is True only when every dependent is True, False as soon as one
//! is False (carrying that dependent's reason and message), Unknown otherwise. Conditions
//! outside the dependents (Revision's `Active`) never touch the happy condition and have
//! severity `Info`. `lastTransitionTime` only moves when a condition's status changes, so
//! reconciling the same inputs twice yields the same status (and a no-op write).

use crds::Condition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

pub const READY: &str = "Ready";
pub const TRUE: &str = "True";
pub const FALSE: &str = "False";
pub const UNKNOWN: &str = "Unknown";
const SEVERITY_INFO: &str = "Info";

/// Which condition is the summary (`happy`) and which ones it summarizes.
#[derive(Clone, Copy, Debug)]
pub struct ConditionSet {
    pub happy: &'static str,
    pub dependents: &'static [&'static str],
}

/// A condition list being edited at one instant `now`.
#[derive(Debug)]
pub struct ConditionManager<'a> {
    set: ConditionSet,
    conditions: &'a mut Vec<Condition>,
    /// The list as it was stored: a condition that ends where it started keeps its
    /// transition time even if it passed through another status on the way.
    before: Vec<Condition>,
    now: Time,
}

/// The condition of type `t` in `conditions`, if present.
pub fn find<'a>(conditions: &'a [Condition], t: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == t)
}

/// The status (`True`/`False`/`Unknown`) of condition `t`, if present.
pub fn status_of<'a>(conditions: Option<&'a [Condition]>, t: &str) -> Option<&'a str> {
    find(conditions?, t).map(|c| c.status.as_str())
}

/// `now` truncated to whole seconds, as Kubernetes serializes `metav1.Time`; keeping the
/// sub-second part would make a freshly computed status differ from its stored copy.
pub fn now() -> Time {
    let ts = jiff::Timestamp::now();
    Time(jiff::Timestamp::from_second(ts.as_second()).unwrap_or(ts))
}

// === impl ConditionSet ===

impl ConditionSet {
    pub const fn living(dependents: &'static [&'static str]) -> Self {
        Self {
            happy: READY,
            dependents,
        }
    }

    pub fn manage<'a>(self, conditions: &'a mut Vec<Condition>, now: Time) -> ConditionManager<'a> {
        ConditionManager {
            set: self,
            before: conditions.clone(),
            conditions,
            now,
        }
    }

    fn is_dependent(&self, t: &str) -> bool {
        self.dependents.contains(&t)
    }

    fn severity(&self, t: &str) -> Option<String> {
        (t != self.happy && !self.is_dependent(t)).then(|| SEVERITY_INFO.to_string())
    }
}

// === impl ConditionManager ===

impl ConditionManager<'_> {
    pub fn get(&self, t: &str) -> Option<&Condition> {
        find(self.conditions, t)
    }

    pub fn is_true(&self, t: &str) -> bool {
        self.get(t).is_some_and(|c| c.status == TRUE)
    }

    pub fn is_false(&self, t: &str) -> bool {
        self.get(t).is_some_and(|c| c.status == FALSE)
    }

    /// Adds the happy condition (Unknown) and the dependents (True when the happy one
    /// already is, else Unknown) where they are missing; existing ones stay.
    pub fn initialize(&mut self) {
        let happy = self.set.happy;
        if self.get(happy).is_none() {
            self.set(happy, UNKNOWN, "", "");
        }
        let status = if self.is_true(happy) { TRUE } else { UNKNOWN };
        for t in self.set.dependents {
            if self.get(t).is_none() {
                self.set(t, status, "", "");
            }
        }
    }

    /// Marks `t` True; the happy condition follows once every dependent is True.
    pub fn mark_true(&mut self, t: &str) {
        self.set(t, TRUE, "", "");
        if !self.set.is_dependent(t) && t != self.set.happy {
            return;
        }
        let all_true = self.set.dependents.iter().all(|d| self.is_true(d));
        if all_true {
            self.set(self.set.happy, TRUE, "", "");
        }
    }

    /// Marks `t` Unknown. A dependent turns the happy condition Unknown too, unless
    /// another dependent has failed: failures trump "in progress".
    pub fn mark_unknown(&mut self, t: &str, reason: &str, message: &str) {
        self.set(t, UNKNOWN, reason, message);
        if !self.set.is_dependent(t) {
            return;
        }
        let failed = self.set.dependents.iter().find(|d| self.is_false(d));
        if failed.is_some() {
            if !self.is_false(self.set.happy) {
                self.set(self.set.happy, FALSE, reason, message);
            }
            return;
        }
        self.set(self.set.happy, UNKNOWN, reason, message);
    }

    /// Marks `t` False; a failed dependent fails the happy condition with its reason.
    pub fn mark_false(&mut self, t: &str, reason: &str, message: &str) {
        self.set(t, FALSE, reason, message);
        if self.set.is_dependent(t) {
            self.set(self.set.happy, FALSE, reason, message);
        }
    }

    /// Sets one condition, keeping its `lastTransitionTime` unless the status changed,
    /// and keeps the list sorted by type as Knative does.
    fn set(&mut self, t: &str, status: &str, reason: &str, message: &str) {
        let unchanged = |c: &&Condition| c.status == status && c.last_transition_time.is_some();
        let last_transition_time = find(&self.before, t)
            .filter(unchanged)
            .or_else(|| self.get(t).filter(unchanged))
            .and_then(|c| c.last_transition_time.clone())
            .or_else(|| Some(self.now.clone()));
        let cond = Condition {
            type_: t.to_string(),
            status: status.to_string(),
            severity: self.set.severity(t),
            last_transition_time,
            reason: non_empty(reason),
            message: non_empty(message),
        };
        self.conditions.retain(|c| c.type_ != t);
        self.conditions.push(cond);
        self.conditions.sort_by(|a, b| a.type_.cmp(&b.type_));
    }
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

#[cfg(test)]
mod tests;
