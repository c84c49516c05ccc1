//! The activator's own answers: probes and every way a request can fail before or
//! instead of reaching a replica. Bodies are one line of plain text saying why.

use bytes::Bytes;
use http::header::{CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderValue, Response, StatusCode};
use http_body_util::{Either, Full};

use crate::proxied_body::ProxiedBody;
use crate::revision_settings::RevisionFailure;

/// What the activator answers with: its own short body, or a replica's streamed one.
pub(crate) type ResponseBody = Either<Full<Bytes>, ProxiedBody>;

/// How long a client refused for a full queue should wait; short, since the queue
/// drains as fast as replicas answer.
const RETRY_AFTER_SECONDS: HeaderValue = HeaderValue::from_static("1");

pub(crate) fn text(status: StatusCode, body: String) -> Response<ResponseBody> {
    let mut response = Response::new(Either::Left(Full::new(Bytes::from(body))));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// Knative's network probe answer: the prober learns it reached an activator.
pub(crate) fn probe() -> Response<ResponseBody> {
    text(StatusCode::OK, "activator".to_owned())
}

pub(crate) fn missing_header(name: &str) -> Response<ResponseBody> {
    text(
        StatusCode::BAD_REQUEST,
        format!("missing header {name}: the activator serves requests routed to a revision\n"),
    )
}

pub(crate) fn unknown_revision(namespace: &str, name: &str) -> Response<ResponseBody> {
    text(
        StatusCode::NOT_FOUND,
        format!("revision {namespace}/{name} does not exist\n"),
    )
}

pub(crate) fn lookup_failed(
    namespace: &str,
    name: &str,
    error: &kube::Error,
) -> Response<ResponseBody> {
    text(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("could not look up revision {namespace}/{name}: {error}\n"),
    )
}

pub(crate) fn queue_full(namespace: &str, name: &str, capacity: usize) -> Response<ResponseBody> {
    let mut response = text(
        StatusCode::SERVICE_UNAVAILABLE,
        format!(
            "the activator's queue for revision {namespace}/{name} is full \
             ({capacity} requests waiting); retry later\n"
        ),
    );
    response
        .headers_mut()
        .insert(RETRY_AFTER, RETRY_AFTER_SECONDS);
    response
}

pub(crate) fn no_capacity_in_time(
    namespace: &str,
    name: &str,
    timeout: std::time::Duration,
) -> Response<ResponseBody> {
    text(
        StatusCode::GATEWAY_TIMEOUT,
        format!(
            "revision {namespace}/{name} had no replica ready within its timeout ({}s)\n",
            timeout.as_secs()
        ),
    )
}

pub(crate) fn no_response_in_time(
    namespace: &str,
    name: &str,
    timeout: std::time::Duration,
) -> Response<ResponseBody> {
    text(
        StatusCode::GATEWAY_TIMEOUT,
        format!(
            "revision {namespace}/{name} did not start responding within its timeout ({}s)\n",
            timeout.as_secs()
        ),
    )
}

pub(crate) fn failed_to_start(
    namespace: &str,
    name: &str,
    failure: &RevisionFailure,
) -> Response<ResponseBody> {
    failed(namespace, name, &failure.to_string())
}

/// The throttler's `Failed` reason is the revision's failure, already formatted.
pub(crate) fn failed(namespace: &str, name: &str, reason: &str) -> Response<ResponseBody> {
    text(
        StatusCode::BAD_GATEWAY,
        format!("revision {namespace}/{name} failed to start: {reason}\n"),
    )
}

pub(crate) fn upstream_failed(
    namespace: &str,
    name: &str,
    error: &dyn std::fmt::Display,
) -> Response<ResponseBody> {
    text(
        StatusCode::BAD_GATEWAY,
        format!("revision {namespace}/{name}: the replica did not answer: {error}\n"),
    )
}
