//! Leader election for the components that run as two replicas, the controller and the
//! autoscaler: the flag that names this replica, and the elector on the component's
//! Lease in `knative-serving` (see `docs/architecture.md`, High availability).

use anyhow::Context as _;
use controller::leader_election::{ElectionConfig, LeaderElector};

use super::component::Connected;

/// The controller's Lease.
pub(crate) const CONTROLLER_LEASE: &str = "fnmesh-controller";
/// The autoscaler's Lease.
pub(crate) const AUTOSCALER_LEASE: &str = "fnmesh-autoscaler";

#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ElectionArgs {
    /// This replica's leader-election identity (the Lease's `holderIdentity`): unique
    /// among the replicas [default: <instance>_<pid>].
    #[arg(long, env = "POD_NAME")]
    identity: Option<String>,
}

impl ElectionArgs {
    /// Starts campaigning for `lease`; the elector's leadership says when to write.
    pub(crate) fn elect(
        &self,
        connected: &Connected,
        lease: &str,
    ) -> anyhow::Result<LeaderElector> {
        // Two processes on one host share the host name: the pid tells them apart.
        let identity = self
            .identity
            .clone()
            .unwrap_or_else(|| format!("{}_{}", connected.instance, std::process::id()));
        let config = ElectionConfig::new(discovery::SYSTEM_NAMESPACE, lease, identity);
        // Its own thread, runtime and connections: reconciles that hold the shared
        // runtime or client must not hold a renewal past the renew deadline.
        let api = connected.config.clone();
        LeaderElector::spawn_dedicated(move || kube::Client::try_from(api), config)
            .with_context(|| format!("starting leader election on the Lease {lease}"))
    }
}
