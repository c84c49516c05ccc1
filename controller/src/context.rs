//! What every reconciler shares.

use std::sync::Arc;

use crate::routing::RoutingTable;

/// The field manager under which the controller writes (server-side apply).
pub const FIELD_MANAGER: &str = "fnmesh-controller";

#[derive(Clone)]
pub struct Context {
    pub client: kube::Client,
    pub routing: Arc<RoutingTable>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context").finish_non_exhaustive()
    }
}
