//! What every reconciler shares, and the one place the controller's writes are gated on
//! leadership.

use std::sync::Arc;

use leader_election::Leadership;

use crate::events::EventRecorder;
use crate::routing::RoutingTable;

/// The field manager under which the controller writes (server-side apply).
pub const FIELD_MANAGER: &str = "fnmesh-controller";

#[derive(Clone)]
pub struct Context {
    /// Reads always go through; writes only while this replica leads (see [`Context::new`]).
    pub client: kube::Client,
    pub routing: Arc<RoutingTable>,
    pub leadership: Leadership,
    /// The controller's Events, written through the gated `client`.
    pub events: EventRecorder,
}

impl Context {
    /// The reconcilers' context, with every write through `client` gated on
    /// `leadership`.
    ///
    /// This is the one gate on the controller's writes. Several replicas run at once
    /// (see `docs/architecture.md`, High availability) and each keeps every watch and
    /// computes everything, because gateways may follow any replica's xDS and its
    /// routing table must be complete; only the leader may write, or two replicas would
    /// create, patch and delete the same objects. Gating the client, rather than each
    /// call site, covers every write path (server-side applies, status, routing-state
    /// labels, revision GC) and checks leadership as each request leaves. A follower's
    /// refused write surfaces as an error that [`leader_election::is_not_leader`]
    /// recognises; the reconcilers wait for the next change then, and every reconciler
    /// re-reconciles all of its objects when its replica becomes leader
    /// ([`Leadership::promotions`]), so what a follower skipped is done at once.
    pub fn new(client: kube::Client, routing: Arc<RoutingTable>, leadership: Leadership) -> Self {
        let client = leader_election::gate_writes(client, leadership.clone());
        Self {
            events: EventRecorder::new(client.clone(), FIELD_MANAGER),
            client,
            routing,
            leadership,
        }
    }
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context").finish_non_exhaustive()
    }
}
