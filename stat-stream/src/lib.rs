//! The metrics stream between the data plane and the autoscaler (being written).
