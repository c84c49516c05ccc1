//! The names components are found by: Services in the system namespace and their port
//! names. `deploy/` declares the same Services for a cluster.

/// Knative's system namespace, where its (and fnmesh's) components live.
pub const SYSTEM_NAMESPACE: &str = "knative-serving";

/// The controller's Service; its xDS (ADS) port is [`CONTROLLER_XDS_PORT`].
pub const CONTROLLER: &str = "controller";
/// The port name of the controller's xDS server.
pub const CONTROLLER_XDS_PORT: &str = "grpc-xds";

/// The autoscaler's Service; the metrics stream's port is [`AUTOSCALER_PORT`].
pub const AUTOSCALER: &str = "autoscaler";
/// The port name of the autoscaler's metrics stream (gRPC).
pub const AUTOSCALER_PORT: &str = "grpc-stats";

/// The activator's Service, as Knative names it; the gateway points cold revisions at
/// its endpoints.
pub const ACTIVATOR: &str = "activator-service";
/// The port name of the activator's HTTP listener.
pub const ACTIVATOR_PORT: &str = "http";
