//! The Lease as one candidate sees it: the record last read or written, and when — by
//! this candidate's own monotonic clock — it last saw that record change. As client-go's
//! `observedTime`, expiry is judged from that moment, never from the `renewTime` another
//! machine's wall clock wrote: clocks across machines need not agree.
//!
//! Also the three records a candidate writes (acquire, renew, release), as client-go
//! writes them.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use tokio::time::Instant;

/// The last record seen and when it was first seen.
#[derive(Debug, Clone)]
pub(crate) struct Observed {
    /// The whole object: an update sends back its `resourceVersion`, so it only lands
    /// if nobody wrote in between.
    pub(crate) lease: Lease,
    pub(crate) at: Instant,
}

impl Observed {
    /// Records `lease` as seen `now`; the time moves only if the record changed, so a
    /// holder that stopped renewing expires however often it is read.
    pub(crate) fn update(previous: Option<Self>, lease: Lease, now: Instant) -> Self {
        let at = match previous {
            Some(p) if p.lease.spec == lease.spec => p.at,
            _ => now,
        };
        Self { lease, at }
    }

    fn spec(&self) -> Option<&LeaseSpec> {
        self.lease.spec.as_ref()
    }

    /// `holderIdentity`, empty when nobody holds the Lease.
    pub(crate) fn holder(&self) -> &str {
        self.spec()
            .and_then(|s| s.holder_identity.as_deref())
            .unwrap_or_default()
    }

    /// When the record expires for a candidate that saw it at `self.at`.
    pub(crate) fn expires_at(&self) -> Instant {
        let seconds = self
            .spec()
            .and_then(|s| s.lease_duration_seconds)
            .and_then(|s| u64::try_from(s).ok())
            .unwrap_or(0);
        self.at + Duration::from_secs(seconds)
    }

    /// Someone else holds the Lease and it has not expired: client-go's
    /// `len(holder) > 0 && isLeaseValid(now) && !IsLeader()`.
    pub(crate) fn held_by_other(&self, identity: &str, now: Instant) -> bool {
        let holder = self.holder();
        !holder.is_empty() && holder != identity && now < self.expires_at()
    }

    /// The record that takes (or keeps) the Lease for `identity`: a holder keeps its
    /// `acquireTime` and transition count; a new holder counts one more transition.
    pub(crate) fn claim(&self, identity: &str, lease_duration_seconds: i32) -> LeaseSpec {
        let spec = self.spec().cloned().unwrap_or_default();
        let now = MicroTime(jiff::Timestamp::now());
        let transitions = spec.lease_transitions.unwrap_or(0);
        let (acquire_time, lease_transitions) = if self.holder() == identity {
            (spec.acquire_time.clone().or(Some(now.clone())), transitions)
        } else {
            (Some(now.clone()), transitions.saturating_add(1))
        };
        LeaseSpec {
            holder_identity: Some(identity.to_owned()),
            lease_duration_seconds: Some(lease_duration_seconds),
            acquire_time,
            renew_time: Some(now),
            lease_transitions: Some(lease_transitions),
            ..spec
        }
    }

    /// client-go's release: no holder and a one-second lease, so the next candidate
    /// takes over at once instead of waiting out the lease.
    pub(crate) fn release(&self) -> LeaseSpec {
        let spec = self.spec().cloned().unwrap_or_default();
        let now = MicroTime(jiff::Timestamp::now());
        LeaseSpec {
            holder_identity: Some(String::new()),
            lease_duration_seconds: Some(1),
            acquire_time: Some(now.clone()),
            renew_time: Some(now),
            ..spec
        }
    }
}

/// The record a candidate creates when there is no Lease yet.
pub(crate) fn first_claim(identity: &str, lease_duration_seconds: i32) -> LeaseSpec {
    let now = MicroTime(jiff::Timestamp::now());
    LeaseSpec {
        holder_identity: Some(identity.to_owned()),
        lease_duration_seconds: Some(lease_duration_seconds),
        acquire_time: Some(now.clone()),
        renew_time: Some(now),
        lease_transitions: Some(0),
        ..LeaseSpec::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(holder: &str, seconds: i32) -> Lease {
        Lease {
            spec: Some(LeaseSpec {
                holder_identity: Some(holder.to_owned()),
                lease_duration_seconds: Some(seconds),
                lease_transitions: Some(3),
                ..LeaseSpec::default()
            }),
            ..Lease::default()
        }
    }

    #[test]
    fn expiry_runs_from_when_the_record_was_first_seen() {
        let t0 = Instant::now();
        let seen = Observed::update(None, lease("b", 15), t0);
        // Read again later, unchanged: the holder has not renewed, the clock keeps running.
        let later = t0 + Duration::from_secs(10);
        let seen = Observed::update(Some(seen), lease("b", 15), later);
        assert_eq!(seen.at, t0);
        assert!(seen.held_by_other("a", t0 + Duration::from_millis(14_999)));
        assert!(!seen.held_by_other("a", t0 + Duration::from_secs(15)));
        // A renewal (any change to the record) restarts it.
        let mut renewed = lease("b", 15);
        renewed.spec.as_mut().unwrap().renew_time = Some(MicroTime(jiff::Timestamp::now()));
        let seen = Observed::update(Some(seen), renewed, later);
        assert_eq!(seen.at, later);
    }

    #[test]
    fn an_empty_holder_or_our_own_name_is_not_held_by_another() {
        let now = Instant::now();
        assert!(!Observed::update(None, lease("", 15), now).held_by_other("a", now));
        assert!(!Observed::update(None, lease("a", 15), now).held_by_other("a", now));
        assert!(Observed::update(None, lease("b", 15), now).held_by_other("a", now));
    }

    #[test]
    fn a_new_holder_counts_a_transition_and_a_holder_keeps_its_acquire_time() {
        let now = Instant::now();
        let taken = Observed::update(None, lease("b", 15), now).claim("a", 15);
        assert_eq!(taken.holder_identity.as_deref(), Some("a"));
        assert_eq!(taken.lease_transitions, Some(4));
        let mine = Lease {
            spec: Some(taken.clone()),
            ..Lease::default()
        };
        let renewed = Observed::update(None, mine, now).claim("a", 15);
        assert_eq!(renewed.lease_transitions, Some(4));
        assert_eq!(renewed.acquire_time, taken.acquire_time);
    }

    #[test]
    fn a_release_clears_the_holder_and_shortens_the_lease() {
        let now = Instant::now();
        let released = Observed::update(None, lease("a", 15), now).release();
        assert_eq!(released.holder_identity.as_deref(), Some(""));
        assert_eq!(released.lease_duration_seconds, Some(1));
        assert_eq!(released.lease_transitions, Some(3));
    }
}
