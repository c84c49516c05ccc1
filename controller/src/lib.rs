//! The control plane: reconcilers for Service → Configuration + Route,
//! Configuration → Revision, Revision → Deployment, and Route → the routing snapshot
//! served to gateways over xDS. It arrives with the serving issue.
