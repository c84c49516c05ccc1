//! The write gate: a kube client that sends every read (get, list, watch) and refuses
//! every write (create, update, patch, delete) while its replica does not lead. A
//! follower keeps its caches and computes from them exactly as the leader does; only
//! what it would write is held back, and the check is made as each request leaves, so a
//! leader that just lost its lease cannot land a write it started deciding earlier.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Method, Request, Response};
use kube::client::Body;

use crate::leadership::Leadership;

/// Why a gated client refused a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not the leader: a follower does not write to the API")]
pub struct NotLeader;

/// `client`, with writes refused (as [`NotLeader`]) whenever `leadership` says this
/// replica does not lead.
pub fn gate_writes(client: kube::Client, leadership: Leadership) -> kube::Client {
    let namespace = client.default_namespace().to_owned();
    kube::Client::new(WriteGate { client, leadership }, namespace)
}

/// Whether `error` is a gated client's refusal (not a failure of the API).
pub fn is_not_leader(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Service(e) if e.is::<NotLeader>())
}

/// Every method but these changes something.
fn is_read(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

#[derive(Clone)]
struct WriteGate {
    client: kube::Client,
    leadership: Leadership,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl tower_service::Service<Request<Body>> for WriteGate {
    type Response = Response<Body>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        // The inner client queues requests itself.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        if !is_read(request.method()) && !self.leadership.is_leader() {
            return Box::pin(std::future::ready(Err(NotLeader.into())));
        }
        let client = self.client.clone();
        // A `kube::Error` from the inner client comes out of the outer one unchanged.
        Box::pin(async move { client.send(request).await.map_err(BoxError::from) })
    }
}
