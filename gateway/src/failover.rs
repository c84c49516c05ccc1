//! Which endpoint a request tries when the one it was given refuses the connection —
//! the one rule both request paths (`crate::h1` and `crate::proxy`) follow.
//!
//! A replica that died (SIGKILL, a crash) stays in the table until the platform
//! withdraws its endpoint: the runner notices the exit, the endpoint slice changes, the
//! controller pushes a new table. For those tens of milliseconds a connection to it is
//! refused. Nothing of the request has left the gateway then, so the request moves on
//! to the revision's next endpoint, as Envoy's `connect-failure` retry would. Once a
//! connection is made, the request may have reached the function, and it is not sent
//! again (apart from the keep-alive race the pool handles: a pooled socket the
//! function closed just as it was picked).

use std::sync::Arc;

use crate::pool::{Http1Endpoint, UpstreamError};

/// At most this many endpoints per request, however many the revision has: a revision
/// whose endpoints all refuse should get its 502 quickly.
const MAX_ATTEMPTS: usize = 3;

/// A revision's endpoints, in the order one request may try them: the one round-robin
/// picked first, then the ones after it.
#[derive(Debug, Clone)]
pub(crate) struct Endpoints {
    all: Arc<[Arc<Http1Endpoint>]>,
    first: usize,
}

/// The endpoints one request has tried so far.
#[derive(Debug)]
pub(crate) struct Attempts<'a> {
    endpoints: &'a Endpoints,
    tried: usize,
}

impl Endpoints {
    /// `all` starting at `first`; `None` when there are none.
    pub(crate) fn starting_at(all: &Arc<[Arc<Http1Endpoint>]>, first: usize) -> Option<Self> {
        (first < all.len()).then(|| Self {
            all: Arc::clone(all),
            first,
        })
    }

    /// The endpoint picked for the request.
    pub(crate) fn first(&self) -> &Arc<Http1Endpoint> {
        &self.all[self.first]
    }

    pub(crate) fn attempts(&self) -> Attempts<'_> {
        Attempts {
            endpoints: self,
            tried: 0,
        }
    }
}

impl<'a> Attempts<'a> {
    /// The endpoint to try now.
    pub(crate) fn current(&self) -> &'a Arc<Http1Endpoint> {
        let all = &self.endpoints.all;
        &all[(self.endpoints.first + self.tried) % all.len()]
    }

    /// After `error` on [`Attempts::current`]: whether the request goes on to the next
    /// endpoint (then `current` is that one). Only when nothing was sent, and while
    /// endpoints not yet tried remain.
    pub(crate) fn move_on_after(&mut self, error: &UpstreamError) -> bool {
        let limit = self.endpoints.all.len().min(MAX_ATTEMPTS);
        if !nothing_sent(error) || self.tried + 1 >= limit {
            return false;
        }
        self.tried += 1;
        true
    }
}

/// Whether `error` came before a connection existed, so no byte of the request left.
fn nothing_sent(error: &UpstreamError) -> bool {
    matches!(
        error,
        UpstreamError::Connect(_) | UpstreamError::ConnectTimeout
    )
}

#[cfg(test)]
mod tests {
    use std::io::ErrorKind;

    use super::*;

    fn listed(n: u16) -> Arc<[Arc<Http1Endpoint>]> {
        (0..n)
            .map(|i| Arc::new(Http1Endpoint::new(([127, 0, 0, 1], 1000 + i).into())))
            .collect()
    }

    fn refused() -> UpstreamError {
        UpstreamError::Connect(ErrorKind::ConnectionRefused.into())
    }

    fn port(endpoint: &Http1Endpoint) -> u16 {
        endpoint.addr().port()
    }

    #[test]
    fn a_refused_connection_moves_on_round_the_list_from_the_pick() {
        let all = listed(3);
        let endpoints = Endpoints::starting_at(&all, 2).unwrap();
        assert_eq!(port(endpoints.first()), 1002);
        let mut attempts = endpoints.attempts();
        assert_eq!(port(attempts.current()), 1002);
        assert!(attempts.move_on_after(&refused()));
        assert_eq!(port(attempts.current()), 1000);
        assert!(attempts.move_on_after(&UpstreamError::ConnectTimeout));
        assert_eq!(port(attempts.current()), 1001);
        assert!(!attempts.move_on_after(&refused()), "each endpoint once");
        assert_eq!(port(attempts.current()), 1001);
    }

    #[test]
    fn at_most_three_endpoints_per_request() {
        let all = listed(10);
        let endpoints = Endpoints::starting_at(&all, 0).unwrap();
        let mut attempts = endpoints.attempts();
        assert!(attempts.move_on_after(&refused()));
        assert!(attempts.move_on_after(&refused()));
        assert!(!attempts.move_on_after(&refused()));
    }

    #[test]
    fn an_error_after_connecting_stays_with_its_endpoint() {
        let all = listed(2);
        let endpoints = Endpoints::starting_at(&all, 0).unwrap();
        for error in [
            UpstreamError::Io(ErrorKind::ConnectionReset.into()),
            UpstreamError::ClosedEarly,
            UpstreamError::Malformed("bad status line"),
        ] {
            let mut attempts = endpoints.attempts();
            assert!(!attempts.move_on_after(&error), "{error}");
            assert_eq!(port(attempts.current()), 1000);
        }
    }

    #[test]
    fn one_endpoint_is_tried_once_and_none_is_no_choice() {
        let all = listed(1);
        let endpoints = Endpoints::starting_at(&all, 0).unwrap();
        assert!(!endpoints.attempts().move_on_after(&refused()));
        assert!(Endpoints::starting_at(&listed(0), 0).is_none());
    }
}
