//! The request path: resolve the host against the current table, pick an endpoint,
//! rewrite headers the way Knative's ingress does, forward over the pool, and stream the
//! response back. Only the upstream is awaited; the table is read lock-free and
//! released before that.

use std::sync::Arc;

use http::header::HOST;
use http::uri::Authority;
use http::{HeaderValue, Request, Response, StatusCode, Version};
use hyper::body::Incoming;
use tokio::time::Instant;

use crate::body::{Observation, ProxyBody};
use crate::config::GatewayConfig;
use crate::forwarded::ClientForwarding;
use crate::hop_by_hop::{strip_hop_by_hop, wants_upgrade};
use crate::internal_headers::{self, strip_internal};
use crate::metrics::RevisionMetrics;
use crate::pool::{Http1Endpoint, UpstreamPool};
use crate::proxy_error::ProxyError;
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
    pub(crate) protocol: Protocol,
    arrival: Instant,
    pub(crate) deadline: Instant,
    pub(crate) name: HeaderValue,
    pub(crate) namespace: HeaderValue,
    pub(crate) endpoint: Option<Arc<Http1Endpoint>>,
}

impl Proxy {
    pub(crate) fn new(config: Arc<GatewayConfig>) -> Self {
        Self {
            config,
            pool: UpstreamPool::default(),
        }
    }

    /// Answers one request; never fails (errors become responses).
    pub(crate) async fn handle(
        &self,
        request: Request<Incoming>,
        client: &ClientForwarding,
    ) -> Response<ProxyBody> {
        let arrival = Instant::now();
        let Some(host) = request_host(&request) else {
            return ProxyError::MissingHost.into_response();
        };
        let tag = request
            .headers()
            .get(internal_headers::TAG)
            .map(HeaderValue::as_bytes);
        let target = host
            .to_str()
            .ok()
            .and_then(|host| self.resolve(host, tag, arrival));
        let Some(target) = target else {
            self.record_unrouted();
            let shown = String::from_utf8_lossy(host.as_bytes()).into_owned();
            return ProxyError::UnknownHost(shown).into_response();
        };
        match self.forward(request, client, &host, &target).await {
            Ok(response) => response,
            Err(error) => {
                let response = error.into_response();
                let status = response.status();
                response.map(|body| body.observed(target.observation(status)))
            }
        }
    }

    /// Counts a request no route answered.
    pub(crate) fn record_unrouted(&self) {
        self.config.metrics().record_unrouted();
    }

    /// Picks the revision (by `host` and the optional tag header) and its endpoint for
    /// a request that arrived at `arrival`; `None` when no route answers `host`.
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
        let endpoint = match runtime.upstreams.len() {
            0 => None,
            n => Some(Arc::clone(&runtime.upstreams[runtime.next_endpoint(n)])),
        };
        Some(Target {
            metrics: Arc::clone(&runtime.metrics),
            protocol: revision.spec.protocol,
            arrival,
            deadline: arrival + revision.spec.timeout,
            name: revision.name_header.clone(),
            namespace: revision.namespace_header.clone(),
            endpoint,
        })
    }

    async fn forward(
        &self,
        mut request: Request<Incoming>,
        client: &ClientForwarding,
        host: &HeaderValue,
        target: &Target,
    ) -> Result<Response<ProxyBody>, ProxyError> {
        let Some(upstream) = &target.endpoint else {
            return Err(ProxyError::NoEndpoints(target.label()));
        };
        // An h2c upstream cannot take an HTTP/1.1 upgrade; it then sees a plain request.
        let upgrading = target.protocol == Protocol::Http1 && wants_upgrade(&request);
        let client_upgrade = upgrading.then(|| hyper::upgrade::on(&mut request));

        let headers = request.headers_mut();
        strip_internal(headers);
        strip_hop_by_hop(headers, upgrading);
        client.add_headers(headers, host.to_str().unwrap_or_default());
        if !headers.contains_key(HOST) {
            headers.insert(HOST, host.clone());
        }
        headers.insert(internal_headers::REVISION, target.name.clone());
        headers.insert(internal_headers::NAMESPACE, target.namespace.clone());

        // One timer per request: it bounds the wait for the head, then the body.
        let mut deadline = Box::pin(tokio::time::sleep_until(target.deadline));
        let sent = async {
            match target.protocol {
                Protocol::Http1 => UpstreamPool::send_http1(upstream, request)
                    .await
                    .map(|(response, lease)| (response, Some(lease))),
                Protocol::H2c => {
                    let host = Authority::try_from(host.as_bytes()).ok();
                    let sent =
                        self.pool
                            .send_h2c(upstream.addr(), upstream.authority(), host, request);
                    sent.await.map(|response| (response, None))
                }
            }
        };
        let (mut response, lease) = tokio::select! {
            biased;
            sent = sent => sent.map_err(|source| ProxyError::Upstream {
                revision: target.label(),
                endpoint: upstream.addr(),
                source,
            })?,
            () = deadline.as_mut() => return Err(ProxyError::Timeout(target.label())),
        };

        let switching = response.status() == StatusCode::SWITCHING_PROTOCOLS;
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
        strip_hop_by_hop(response.headers_mut(), switching && upgrading);
        *response.version_mut() = Version::HTTP_11;
        let status = response.status();
        Ok(response.map(|body| {
            ProxyBody::upstream(body, deadline, lease).observed(target.observation(status))
        }))
    }
}

impl Target {
    pub(crate) fn observation(&self, status: StatusCode) -> Observation {
        Observation {
            metrics: Arc::clone(&self.metrics),
            status,
            arrival: self.arrival,
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

/// The host the client addressed: `Host` (HTTP/1.1) or the URI authority (HTTP/2).
fn request_host<B>(request: &Request<B>) -> Option<HeaderValue> {
    if let Some(host) = request.headers().get(HOST) {
        return Some(host.clone());
    }
    let authority = request.uri().authority()?;
    HeaderValue::from_str(authority.as_str()).ok()
}
