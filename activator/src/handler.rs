//! One request through the activator: which revision it is for, a replica slot from
//! that revision's throttler (poking the autoscaler if it is cold), then the replica's
//! response streamed back; counted in flight from arrival until that response ends.

use std::sync::Arc;

use http::{HeaderMap, Request, Response, Version};
use hyper::body::Incoming;
use stat_stream::InFlight;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::error::ThrottleError;
use crate::hop_by_hop::strip_hop_by_hop;
use crate::outbound::Outbound;
use crate::proxied_body::ProxiedBody;
use crate::registry::{Lookup, Registry};
use crate::request_body::RequestBody;
use crate::responses::{self, ResponseBody};
use crate::retry::Retries;
use crate::revision_settings::RevisionFailure;
use crate::revision_state::RevisionState;
use crate::stat_reports::StatReports;
use crate::throttler::Permit;
use crate::upstream::Upstreams;

/// Set by the gateway (which strips client-sent copies), so trusted.
pub(crate) const REVISION_HEADER: &str = "knative-serving-revision";
pub(crate) const NAMESPACE_HEADER: &str = "knative-serving-namespace";
/// Knative's prober asks whether a hop is wired up; it is not a request to count.
const PROBE_HEADER: &str = "k-network-probe";

#[derive(Debug)]
pub(crate) struct Handler {
    registry: Arc<Registry>,
    upstreams: Upstreams,
    reports: StatReports,
}

impl Handler {
    pub(crate) fn new(registry: Arc<Registry>, upstreams: Upstreams, reports: StatReports) -> Self {
        Self {
            registry,
            upstreams,
            reports,
        }
    }

    pub(crate) async fn handle(&self, request: Request<Incoming>) -> Response<ResponseBody> {
        let arrival = Instant::now();
        let headers = request.headers();
        if headers.contains_key(PROBE_HEADER) {
            return responses::probe();
        }
        let Some(namespace) = header(headers, NAMESPACE_HEADER) else {
            return responses::missing_header(NAMESPACE_HEADER);
        };
        let Some(name) = header(headers, REVISION_HEADER) else {
            return responses::missing_header(REVISION_HEADER);
        };
        let state = match self.registry.resolve(namespace, name).await {
            Lookup::Found(state) => state,
            Lookup::NotFound => return responses::unknown_revision(namespace, name),
            Lookup::Unavailable(error) => {
                return responses::lookup_failed(namespace, name, &error);
            }
        };
        // From arrival, not from admission: a held request is load the replicas must
        // take, and is what wakes a revision at zero.
        let in_flight = state.concurrency.begin(arrival);
        let response = self.forward(&state, request, arrival, in_flight).await;
        state.metrics.record(response.status());
        response
    }

    /// Sends the request to a replica the throttler admits it to, retrying on another
    /// slot when [`Retries`] allows (a refused connection; a broken one, once, for an
    /// idempotent method). `in_flight` goes with the response body, or ends with an
    /// answer of the activator's own.
    async fn forward(
        &self,
        state: &RevisionState,
        request: Request<Incoming>,
        arrival: Instant,
        in_flight: InFlight,
    ) -> Response<ResponseBody> {
        let deadline = arrival + state.settings.timeout;
        let (parts, body) = request.into_parts();
        let mut retries = Retries::for_method(&parts.method);
        let outbound = Outbound::new(parts);
        let protocol = state.settings.protocol;
        let mut body = RequestBody::new(body);
        let mut attempt = 1;
        loop {
            let cold = !state.has_ready_endpoint();
            let permit = match self.admit(state, cold, deadline).await {
                Ok(permit) => permit,
                Err(refused) => return refused,
            };
            // Only the wait for the revision's first replica, not a retry's.
            if cold && attempt == 1 {
                state.metrics.record_cold_start(arrival.elapsed());
            }
            let addr = permit.addr();
            let sent = body.handle();
            let request = outbound.to_request(protocol, addr, body);
            let sending = self.upstreams.send(protocol, addr, request);
            let error = match tokio::time::timeout_at(deadline, sending).await {
                Ok(Ok(response)) => return relay(response, permit, in_flight, deadline),
                Ok(Err(error)) => error,
                Err(_) => {
                    return responses::no_response_in_time(
                        &state.namespace,
                        &state.name,
                        state.settings.timeout,
                    );
                }
            };
            if !error.is_connect() {
                // The replica may have died: its other idle connections would fail the
                // next requests one by one; new ones are refused instead.
                self.upstreams.forget(addr);
            }
            let retry = if retries.after(&error) {
                sent.reclaim()
            } else {
                None
            };
            let Some(reclaimed) = retry else {
                tracing::debug!(revision = %state.name, %addr, %error, "replica failed");
                return responses::upstream_failed(&state.namespace, &state.name, &error);
            };
            tracing::debug!(revision = %state.name, %addr, %error, attempt, "retrying");
            // The next try waits for a slot on another replica (or this one's return).
            permit.eject();
            body = reclaimed;
            attempt += 1;
        }
    }

    /// A replica slot for the request, or the answer if there will be none. `cold`:
    /// the revision had no ready endpoint when the request came for a slot.
    async fn admit(
        &self,
        state: &RevisionState,
        cold: bool,
        deadline: Instant,
    ) -> Result<Permit, Response<ResponseBody>> {
        let (namespace, name) = (state.namespace.as_str(), state.name.as_str());
        let mut failure = state.watch_failure();
        if cold {
            // Every cold arrival, so the autoscaler sees the demand as it builds.
            self.reports
                .cold(namespace, name, state.throttler.queue_depth() + 1);
        }
        if let Some(failure) = failure.borrow_and_update().clone() {
            return Err(responses::failed_to_start(namespace, name, &failure));
        }
        let outcome = tokio::select! {
            outcome = state.throttler.acquire(deadline) => outcome,
            failure = failed(failure) => return Err(responses::failed_to_start(namespace, name, &failure)),
        };
        outcome.map_err(|error| match error {
            ThrottleError::QueueFull { capacity } => {
                responses::queue_full(namespace, name, capacity)
            }
            ThrottleError::Timeout { .. } => {
                responses::no_capacity_in_time(namespace, name, state.settings.timeout)
            }
            ThrottleError::Failed(reason) => responses::failed(namespace, name, &reason),
        })
    }
}

/// The replica's response with this hop's fields dropped; its body keeps the permit
/// and the request's place in the count.
fn relay(
    response: Response<Incoming>,
    permit: Permit,
    in_flight: InFlight,
    deadline: Instant,
) -> Response<ResponseBody> {
    let (mut parts, body) = response.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    // The client's connection decides the version it gets.
    parts.version = Version::HTTP_11;
    let body = ProxiedBody::new(body, permit, in_flight, deadline);
    Response::from_parts(parts, http_body_util::Either::Right(body))
}

/// Resolves once the revision is published as failed.
async fn failed(
    mut failure: watch::Receiver<Option<Arc<RevisionFailure>>>,
) -> Arc<RevisionFailure> {
    loop {
        if failure.changed().await.is_err() {
            // The state (and its sender) outlives every request holding it.
            return std::future::pending().await;
        }
        if let Some(failure) = failure.borrow_and_update().clone() {
            return failure;
        }
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
}
