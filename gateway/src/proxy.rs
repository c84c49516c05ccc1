//! The hyper request path: resolve the host against the current table, pick an
//! endpoint, rewrite the head by the shared policy (`crate::head_policy`), forward over
//! the pool, and stream the response back. Only the upstream is awaited; the table is read lock-free and
//! released before that.

use std::sync::Arc;

use http::uri::Authority;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Version};
use hyper::body::Incoming;
use stat_stream::InFlight;
use tokio::time::Instant;

use crate::body::{Cutoff, Observation, ProxyBody};
use crate::config::GatewayConfig;
use crate::failover::Endpoints;
use crate::forwarded::ClientForwarding;
use crate::head_policy::{Hop, Line, MapSink, RequestScan, ResponseScan};
use crate::metrics::RevisionMetrics;
use crate::pool::{Http1Endpoint, SendFailure, UpstreamError, UpstreamPool};
use crate::proxy_error::ProxyError;
use crate::request_limits::RequestLimits;
use crate::revision::Protocol;
use crate::upgrade;

/// The proxy behind one listener.
#[derive(Debug)]
pub(crate) struct Proxy {
    config: Arc<GatewayConfig>,
    pool: UpstreamPool,
}

/// Everything the request needs from the table, copied out so the snapshot is not held
/// across the upstream await. All clones are reference-count bumps.
pub(crate) struct Target {
    metrics: Arc<RevisionMetrics>,
    /// Counts the request as in flight from its arrival until the [`Observation`] this
    /// moves into is dropped (the response complete or abandoned).
    in_flight: Option<InFlight>,
    pub(crate) protocol: Protocol,
    arrival: Instant,
    pub(crate) limits: RequestLimits,
    pub(crate) name: HeaderValue,
    pub(crate) namespace: HeaderValue,
    /// `None` when the revision has no endpoint.
    pub(crate) endpoints: Option<Endpoints>,
}

impl Proxy {
    pub(crate) fn new(config: Arc<GatewayConfig>) -> Self {
        Self {
            config,
            pool: UpstreamPool::default(),
        }
    }

    /// Answers one request; never fails (errors become responses). `chosen` is the
    /// revision and endpoint the fast path already picked for this request, if any.
    pub(crate) async fn handle(
        &self,
        mut request: Request<Incoming>,
        client: &ClientForwarding,
        chosen: Option<Target>,
    ) -> Response<ProxyBody> {
        let arrival = Instant::now();
        let headers = request.headers();
        let scan = match RequestScan::new(lines(headers), request.version() == Version::HTTP_10) {
            Ok(scan) => scan,
            Err(refusal) => return ProxyError::Refused(refusal).into_response(),
        };
        let host = match scan.host {
            Some(host) => String::from_utf8_lossy(host).into_owned(),
            None => match request.uri().authority() {
                Some(authority) => authority.as_str().to_owned(),
                None => return ProxyError::MissingHost.into_response(),
            },
        };
        let resolved = || self.resolve(&host, scan.tag, arrival);
        let Some(target) = chosen.or_else(resolved) else {
            self.record_unrouted();
            return ProxyError::UnknownHost(host).into_response();
        };
        // An h2c upstream cannot take an HTTP/1.1 upgrade; it then sees a plain request.
        let upgrading = target.protocol == Protocol::Http1
            && request.version() == Version::HTTP_11
            && scan.asks_upgrade();
        let hop = Hop {
            client,
            host: &host,
            revision: target.name.as_bytes(),
            namespace: target.namespace.as_bytes(),
            upgrade: upgrading,
        };
        let mut rewritten = MapSink::with_capacity(headers.len() + 6);
        scan.write_fields(|| lines(headers), &hop, &mut rewritten);
        *request.headers_mut() = rewritten.into_map();
        let response = match self.forward(request, &host, &target, upgrading).await {
            Ok(response) => response,
            Err(error) => error.into_response(),
        };
        // The body carries the observation, so the request counts until it is done.
        let status = response.status();
        response.map(|body| body.observed(target.observation(status)))
    }

    /// Whether plain HTTP/1.1 connections start on the fast path.
    pub(crate) fn fast_path(&self) -> bool {
        self.config.http1_fast_path()
    }

    /// How long a client may take to send a request head.
    pub(crate) fn header_read_timeout(&self) -> std::time::Duration {
        self.config.header_read_timeout()
    }

    /// Counts a request no route answered.
    pub(crate) fn record_unrouted(&self) {
        self.config.metrics().record_unrouted();
    }

    /// Picks the revision (by `host` and the optional tag header) and its endpoint for
    /// a request that arrived at `arrival`, and starts counting it in flight; `None`
    /// when no route answers `host`. Every request counts: one carrying
    /// `K-Network-Probe` comes from outside (the platform sends the gateway none), and
    /// the function serves it like any other, so it is load the autoscaler must see —
    /// else a client could hide its load behind the header.
    pub(crate) fn resolve(
        &self,
        host: &str,
        tag: Option<&[u8]>,
        arrival: Instant,
    ) -> Option<Target> {
        let snapshot = self.config.snapshot();
        let index = snapshot.table.resolve(host, tag, fastrand::u64(..))?;
        let revision = snapshot.table.compiled(index);
        let runtime = &snapshot.revisions[index];
        let endpoints = match runtime.upstreams.len() {
            0 => None,
            n => Endpoints::starting_at(&runtime.upstreams, runtime.next_endpoint(n)),
        };
        Some(Target {
            metrics: Arc::clone(&runtime.metrics),
            in_flight: Some(runtime.stat_counter.begin(arrival)),
            protocol: revision.spec.protocol,
            arrival,
            limits: RequestLimits::new(arrival, &revision.spec),
            name: revision.name_header.clone(),
            namespace: revision.namespace_header.clone(),
            endpoints,
        })
    }

    /// Sends the rewritten request to the target's endpoint and relays the response.
    async fn forward(
        &self,
        mut request: Request<Incoming>,
        host: &str,
        target: &Target,
        upgrading: bool,
    ) -> Result<Response<ProxyBody>, ProxyError> {
        let Some(endpoints) = &target.endpoints else {
            return Err(ProxyError::NoEndpoints(target.label()));
        };
        let client_upgrade = upgrading.then(|| hyper::upgrade::on(&mut request));
        let head_method = request.method() == Method::HEAD;

        // One timer per request: it bounds the wait for the head, then the body.
        let mut timer = Box::pin(tokio::time::sleep_until(target.limits.response_start));
        let upstream_error = |endpoint: &Http1Endpoint, source| ProxyError::Upstream {
            revision: target.label(),
            endpoint: endpoint.addr(),
            source,
        };
        let sent = async {
            let mut attempts = endpoints.attempts();
            let mut request = request;
            loop {
                let endpoint = attempts.current();
                let sent = match target.protocol {
                    Protocol::Http1 => UpstreamPool::send_http1(endpoint, request)
                        .await
                        .map(|(response, lease)| (response, Some(lease))),
                    Protocol::H2c => {
                        let host = Authority::try_from(host).ok();
                        let sent = self.pool.send_h2c(
                            endpoint.addr(),
                            endpoint.authority(),
                            host,
                            request,
                        );
                        sent.await.map(|response| (response, None))
                    }
                };
                match sent {
                    Ok((response, lease)) => return Ok((response, lease, endpoint)),
                    Err(SendFailure {
                        error,
                        unsent: Some(unsent),
                    }) if attempts.move_on_after(&error) => request = unsent,
                    Err(failure) => return Err(upstream_error(endpoint, failure.error)),
                }
            }
        };
        let (mut response, lease, upstream) = tokio::select! {
            biased;
            sent = sent => sent?,
            () = timer.as_mut() => return Err(target.limits.head_timeout(target.label())),
        };

        let status = response.status();
        let switching = status == StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers();
        let scan = ResponseScan::new(
            lines(headers),
            response.version() == Version::HTTP_10,
            status.as_u16(),
            head_method,
        )
        .map_err(|reason| upstream_error(upstream, UpstreamError::Malformed(reason)))?;
        // hyper decodes the body and frames it anew for the client.
        let mut rewritten = MapSink::with_capacity(headers.len());
        scan.write_fields(
            || lines(headers),
            false,
            switching && upgrading,
            &mut rewritten,
        );
        *response.headers_mut() = rewritten.into_map();
        if let (true, Some(client_upgrade)) = (switching, client_upgrade) {
            upgrade::splice(client_upgrade, hyper::upgrade::on(&mut response));
        }
        // After a 101 the connection belongs to the upgrade, never back to the pool.
        let lease = match lease {
            Some(lease) if switching => {
                lease.upgrade();
                None
            }
            other => other,
        };
        *response.version_mut() = Version::HTTP_11;
        let limits = target.limits;
        Ok(response.map(|body| ProxyBody::upstream(body, Cutoff::new(timer, limits), lease)))
    }
}

impl Target {
    /// What records the request when dropped; takes the in-flight guard along.
    pub(crate) fn observation(self, status: StatusCode) -> Observation {
        Observation {
            metrics: self.metrics,
            status,
            arrival: self.arrival,
            in_flight: self.in_flight,
        }
    }

    pub(crate) fn label(&self) -> String {
        format!(
            "{}/{}",
            self.namespace.to_str().unwrap_or_default(),
            self.name.to_str().unwrap_or_default()
        )
    }
}

/// A `HeaderMap`'s fields as the policy reads them.
fn lines(headers: &HeaderMap) -> impl Iterator<Item = Line<'_>> {
    headers
        .iter()
        .map(|(name, value)| (name.as_str().as_bytes(), value.as_bytes()))
}
