//! Convergence decisions: which replicas to start and stop, given the desired
//! spec generation and count and the replicas that are not already stopping.
//! Pure, so the rollout rules are tested without processes.

use crate::replica::ReplicaId;

/// A replica as the planner sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ReplicaView {
    pub(crate) id: ReplicaId,
    pub(crate) generation: u64,
    pub(crate) ready: bool,
}

/// What to do now.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Plan {
    /// New replicas of the desired generation to start.
    pub(crate) start: u32,
    pub(crate) stop: Vec<ReplicaId>,
}

/// Make-before-break convergence:
/// - the desired generation gets `desired` replicas; extras are stopped
///   unready first (they serve nothing), then newest first (the oldest have
///   proven themselves);
/// - replicas of older generations keep serving until the new generation has
///   enough ready replicas to replace them; the ones kept are ready ones,
///   oldest first, and the rest are stopped.
pub(crate) fn plan(generation: u64, desired: u32, running: &[ReplicaView]) -> Plan {
    let desired = desired as usize;
    let (mut current, mut old): (Vec<&ReplicaView>, Vec<&ReplicaView>) =
        running.iter().partition(|r| r.generation == generation);

    let start = u32::try_from(desired.saturating_sub(current.len())).unwrap_or(u32::MAX);
    current.sort_by_key(|r| (r.ready, std::cmp::Reverse(r.id)));
    let surplus = current.len().saturating_sub(desired);
    let mut stop: Vec<ReplicaId> = current.iter().take(surplus).map(|r| r.id).collect();

    let current_ready = current.iter().skip(surplus).filter(|r| r.ready).count();
    let old_budget = desired.saturating_sub(current_ready);
    old.sort_by_key(|r| (!r.ready, r.id));
    stop.extend(old.iter().skip(old_budget).map(|r| r.id));

    Plan { start, stop }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(id: ReplicaId, generation: u64, ready: bool) -> ReplicaView {
        ReplicaView {
            id,
            generation,
            ready,
        }
    }

    #[test]
    fn starts_missing_replicas() {
        assert_eq!(
            plan(1, 3, &[]),
            Plan {
                start: 3,
                stop: vec![]
            }
        );
        assert_eq!(
            plan(1, 3, &[r(1, 1, true)]),
            Plan {
                start: 2,
                stop: vec![]
            }
        );
        assert_eq!(plan(1, 1, &[r(1, 1, false)]), Plan::default());
    }

    #[test]
    fn stops_extras_unready_then_newest_first() {
        let running = [r(1, 1, true), r(2, 1, false), r(3, 1, true), r(4, 1, true)];
        assert_eq!(plan(1, 2, &running).stop, vec![2, 4]);
        assert_eq!(plan(1, 0, &running).stop.len(), 4);
        assert_eq!(plan(1, 3, &running).stop, vec![2]);
    }

    #[test]
    fn spec_change_is_make_before_break() {
        let old = [r(1, 1, true), r(2, 1, true)];
        // New generation: start two, keep both old ones serving.
        assert_eq!(
            plan(2, 2, &old),
            Plan {
                start: 2,
                stop: vec![]
            }
        );
        // One new replica ready: one old one can go (the newest).
        let mixed = [old[0], old[1], r(3, 2, true), r(4, 2, false)];
        assert_eq!(
            plan(2, 2, &mixed),
            Plan {
                start: 0,
                stop: vec![2]
            }
        );
        // Both new replicas ready: all old ones go.
        let mixed = [old[0], old[1], r(3, 2, true), r(4, 2, true)];
        assert_eq!(plan(2, 2, &mixed).stop, vec![1, 2]);
    }

    #[test]
    fn unready_old_replicas_go_before_ready_ones() {
        let running = [r(1, 1, false), r(2, 1, true), r(3, 2, true), r(4, 2, false)];
        assert_eq!(plan(2, 2, &running).stop, vec![1]);
    }

    #[test]
    fn a_crashing_new_spec_keeps_the_old_replicas_serving() {
        let running = [r(1, 1, true), r(2, 2, false)];
        assert_eq!(plan(2, 1, &running), Plan::default());
    }

    #[test]
    fn scale_to_zero_during_rollout_stops_everything() {
        let running = [r(1, 1, true), r(2, 2, false)];
        let mut stop = plan(2, 0, &running).stop;
        stop.sort_unstable();
        assert_eq!(stop, vec![1, 2]);
    }
}
