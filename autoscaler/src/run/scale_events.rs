//! The Events a scale write is worth on its Revision: leaving zero and reaching it are
//! what a user wonders about ("why is the first request slow?", "where did my pods
//! go?"); steps between non-zero scales are not. Knative emits no event for these, so
//! the reasons are ours, in Kubernetes' CamelCase.

pub(crate) const SCALED_TO_ZERO: &str = "ScaledToZero";
pub(crate) const SCALED_FROM_ZERO: &str = "ScaledFromZero";

/// The `(reason, message)` for a scale from `from` to `to` replicas, if any.
pub(crate) fn scale_event(from: u32, to: u32) -> Option<(&'static str, String)> {
    match (from, to) {
        (1.., 0) => Some((
            SCALED_TO_ZERO,
            format!("Scaled from {from} to 0 replicas: no traffic"),
        )),
        (0, 1..) => Some((
            SCALED_FROM_ZERO,
            format!("Scaled from 0 to {to} replicas for traffic"),
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_leaving_and_reaching_zero_are_events() {
        assert_eq!(scale_event(2, 0).map(|e| e.0), Some(SCALED_TO_ZERO));
        assert_eq!(scale_event(0, 3).map(|e| e.0), Some(SCALED_FROM_ZERO));
        assert_eq!(
            scale_event(0, 3).map(|e| e.1).as_deref(),
            Some("Scaled from 0 to 3 replicas for traffic")
        );
        assert_eq!(scale_event(1, 2), None);
        assert_eq!(scale_event(3, 1), None);
        assert_eq!(scale_event(0, 0), None);
    }
}
