//! The Events a Revision's status change is worth, with Knative's reasons: `RevisionReady`
//! when it becomes Ready, and a `RevisionFailed` warning carrying the failing
//! condition's reason and message (the runner's or the kubelet's, such as `ExitCode1`)
//! when it becomes not Ready for a reason, or fails for another one. Pure: the
//! reconciler records them once the new status is written.

use crds::RevisionStatus;

use crate::conditions::{self, FALSE, READY, TRUE};
use crate::events::EventType;

pub const REVISION_READY: &str = "RevisionReady";
pub const REVISION_FAILED: &str = "RevisionFailed";

/// What changed from `before` to `after`, as `(type, reason, message)`.
pub fn status_events(
    before: Option<&RevisionStatus>,
    after: &RevisionStatus,
) -> Vec<(EventType, &'static str, String)> {
    let ready = |s: Option<&RevisionStatus>| {
        s.and_then(|s| s.conditions.as_deref())
            .and_then(|c| conditions::find(c, READY))
            .cloned()
    };
    let (was, now) = (ready(before), ready(Some(after)));
    let Some(now) = now else {
        return Vec::new();
    };
    let was_status = was.as_ref().map(|c| c.status.as_str());
    match now.status.as_str() {
        TRUE if was_status != Some(TRUE) => vec![(
            EventType::Normal,
            REVISION_READY,
            "Revision becomes ready upon all resources being ready".to_owned(),
        )],
        FALSE => {
            let same_failure = was.as_ref().is_some_and(|w| {
                w.status == FALSE && w.reason == now.reason && w.message == now.message
            });
            if same_failure {
                return Vec::new();
            }
            let reason = now.reason.as_deref().unwrap_or_default();
            let message = now.message.as_deref().unwrap_or_default();
            vec![(
                EventType::Warning,
                REVISION_FAILED,
                format!("Revision failed with {reason}: {message}"),
            )]
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use crds::Condition;

    use super::*;

    fn status(ready: &str, reason: &str, message: &str) -> RevisionStatus {
        RevisionStatus {
            conditions: Some(vec![Condition {
                type_: READY.into(),
                status: ready.into(),
                reason: (!reason.is_empty()).then(|| reason.into()),
                message: (!message.is_empty()).then(|| message.into()),
                ..Condition::default()
            }]),
            ..RevisionStatus::default()
        }
    }

    #[test]
    fn becoming_ready_is_an_event_staying_ready_is_not() {
        let unknown = status("Unknown", "Deploying", "");
        let ready = status("True", "", "");
        let events = status_events(Some(&unknown), &ready);
        assert_eq!(events.len(), 1);
        assert_eq!(
            (events[0].0, events[0].1),
            (EventType::Normal, REVISION_READY)
        );
        assert_eq!(status_events(None, &ready).len(), 1);
        assert!(status_events(Some(&ready), &ready).is_empty());
        assert!(status_events(None, &unknown).is_empty());
    }

    #[test]
    fn a_failure_warns_with_its_reason_once() {
        let failed = status(
            "False",
            "ExitCode1",
            "container user-container exited with code 1: boom",
        );
        let events = status_events(Some(&status("Unknown", "Deploying", "")), &failed);
        assert_eq!(
            events,
            [(
                EventType::Warning,
                REVISION_FAILED,
                "Revision failed with ExitCode1: container user-container exited with code 1: boom"
                    .to_owned()
            )]
        );
        assert!(
            status_events(Some(&failed), &failed).is_empty(),
            "no repeat"
        );
        let other = status(
            "False",
            "ExitCode2",
            "container user-container exited with code 2",
        );
        assert_eq!(
            status_events(Some(&failed), &other).len(),
            1,
            "a new failure is news"
        );
    }
}
