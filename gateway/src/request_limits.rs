//! A request's three time limits — Knative's `timeoutSeconds`,
//! `responseStartTimeoutSeconds` and `idleTimeoutSeconds` — fixed as instants at its
//! arrival, and which of them is due next. Both request paths apply these rules, each
//! with its own timer (`crate::body` for hyper, `crate::h1` for the fast path).

use std::time::Duration;

use tokio::time::Instant;

use crate::proxy_error::ProxyError;
use crate::revision::Revision;

/// Stands in for "never" where an overflowing limit (a huge value from a control
/// plane) would otherwise panic; tokio's own notion of far future is as long.
const FAR_FUTURE: Duration = Duration::from_secs(30 * 365 * 24 * 3600);

/// When one request must have got how far.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestLimits {
    /// `timeoutSeconds` after arrival: nothing of the exchange outlives it.
    pub(crate) deadline: Instant,
    /// The response head must be in by then: `responseStartTimeoutSeconds` after
    /// arrival, never later than [`deadline`](Self::deadline).
    pub(crate) response_start: Instant,
    /// `idleTimeoutSeconds`: the longest wait for the function's next body bytes.
    pub(crate) idle: Option<Duration>,
}

/// Which limit cut a response that was already streaming.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamLimit {
    /// The revision's `timeoutSeconds` passed.
    Deadline,
    /// The function sent nothing for its `idleTimeoutSeconds`.
    Idle,
}

impl RequestLimits {
    /// For tests of the timers that use the limits: a request arriving now at a
    /// revision with `timeout` and an optional idle limit.
    #[cfg(test)]
    pub(crate) fn arriving_now(timeout: Duration, idle: Option<Duration>) -> Self {
        let mut revision =
            Revision::new("default", "r", crate::revision::Protocol::Http1, Vec::new())
                .with_timeout(timeout);
        if let Some(idle) = idle {
            revision = revision.with_idle_timeout(idle);
        }
        Self::new(Instant::now(), &revision)
    }

    /// The limits of a request to `revision` that arrived at `arrival`.
    pub(crate) fn new(arrival: Instant, revision: &Revision) -> Self {
        let after = |limit: Duration| {
            arrival
                .checked_add(limit)
                .unwrap_or_else(|| arrival + FAR_FUTURE)
        };
        let deadline = after(revision.timeout);
        let response_start = revision
            .response_start_timeout
            .filter(|limit| !limit.is_zero())
            .map_or(deadline, |limit| after(limit).min(deadline));
        Self {
            deadline,
            response_start,
            idle: revision.idle_timeout.filter(|limit| !limit.is_zero()),
        }
    }

    /// The answer when no response head arrived by [`response_start`](Self::response_start),
    /// naming the limit that passed.
    pub(crate) fn head_timeout(&self, revision: String) -> ProxyError {
        if self.response_start < self.deadline {
            ProxyError::ResponseStartTimeout(revision)
        } else {
            ProxyError::Timeout(revision)
        }
    }

    /// While the body streams: when the response is to be cut, and by which limit,
    /// given that the gateway has been waiting for the function's next bytes since
    /// `waiting_since` (`None`: not tracked, as without an idle limit).
    pub(crate) fn streaming_due(&self, waiting_since: Option<Instant>) -> (Instant, StreamLimit) {
        let idle_due = self
            .idle
            .zip(waiting_since)
            .and_then(|(idle, since)| since.checked_add(idle));
        match idle_due {
            Some(due) if due < self.deadline => (due, StreamLimit::Idle),
            _ => (self.deadline, StreamLimit::Deadline),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::revision::Protocol;

    fn revision() -> Revision {
        Revision::new("default", "r", Protocol::Http1, Vec::new()).with_timeout(secs(10))
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn the_response_start_limit_never_outlasts_the_timeout() {
        let arrival = Instant::now();
        let unset = RequestLimits::new(arrival, &revision());
        assert_eq!(
            unset.response_start,
            arrival + secs(10),
            "Knative: unset is the timeout"
        );
        let zero = RequestLimits::new(arrival, &revision().with_response_start_timeout(secs(0)));
        assert_eq!(zero.response_start, arrival + secs(10));
        let longer = RequestLimits::new(arrival, &revision().with_response_start_timeout(secs(60)));
        assert_eq!(longer.response_start, arrival + secs(10));
        let shorter = RequestLimits::new(arrival, &revision().with_response_start_timeout(secs(2)));
        assert_eq!(shorter.response_start, arrival + secs(2));
        assert!(matches!(
            shorter.head_timeout("r".into()),
            ProxyError::ResponseStartTimeout(_)
        ));
        assert!(matches!(
            unset.head_timeout("r".into()),
            ProxyError::Timeout(_)
        ));
    }

    #[test]
    fn streaming_is_cut_by_whichever_limit_comes_first() {
        let arrival = Instant::now();
        let none = RequestLimits::new(arrival, &revision());
        assert_eq!(
            none.streaming_due(Some(arrival)),
            (arrival + secs(10), StreamLimit::Deadline)
        );
        let idle = RequestLimits::new(arrival, &revision().with_idle_timeout(secs(3)));
        let since = arrival + secs(4);
        assert_eq!(
            idle.streaming_due(Some(since)),
            (since + secs(3), StreamLimit::Idle)
        );
        let late = arrival + secs(8);
        assert_eq!(
            idle.streaming_due(Some(late)),
            (arrival + secs(10), StreamLimit::Deadline)
        );
        let zero = RequestLimits::new(arrival, &revision().with_idle_timeout(secs(0)));
        assert_eq!(zero.idle, None, "zero means no idle limit");
    }

    #[test]
    fn huge_limits_mean_never_instead_of_overflowing() {
        let arrival = Instant::now();
        let limits = RequestLimits::new(
            arrival,
            &revision()
                .with_timeout(Duration::MAX)
                .with_idle_timeout(Duration::MAX),
        );
        assert!(limits.deadline > arrival + secs(1_000_000));
        assert_eq!(limits.streaming_due(Some(arrival)).1, StreamLimit::Deadline);
    }
}
