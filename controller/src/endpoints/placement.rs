//! Serve or proxy: whether a revision's gateways send its requests to its replicas or
//! to the activator. Routes never change for this; only the endpoints behind a
//! revision do, so a stock Envoy fed by the same xDS scales from zero too.

use std::net::SocketAddr;

use crds::Revision;

use crate::routing::RevisionBackend;

/// The activator stands in front of the revision when the autoscaler says so (at zero,
/// on the way there, or short of burst capacity), when it has no ready replica (a
/// request must be held, not refused), and when its `containerConcurrency` is bounded:
/// the activator's per-replica breakers enforce that limit, which an ingress such as a
/// stock Envoy cannot. Without an activator the replicas (or nothing: 503) remain.
pub fn place(
    mut backend: RevisionBackend,
    revision: &Revision,
    proxy_mode: bool,
    activators: &[SocketAddr],
) -> RevisionBackend {
    let bounded = revision.spec.container_concurrency.is_some_and(|cc| cc > 0);
    if !activators.is_empty() && (proxy_mode || backend.endpoints.is_empty() || bounded) {
        backend.endpoints = activators.to_vec();
    }
    backend
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::routing::{ObjectKey, Protocol};

    fn revision(cc: Option<i64>) -> Revision {
        serde_json::from_value(json!({
            "apiVersion": "serving.knative.dev/v1",
            "kind": "Revision",
            "metadata": { "name": "hello-00001", "namespace": "ns" },
            "spec": { "containerConcurrency": cc, "containers": [{ "image": "x" }] },
        }))
        .unwrap()
    }

    fn backend(endpoints: &[&str]) -> RevisionBackend {
        RevisionBackend::with_default_timeouts(
            ObjectKey::new("ns", "hello-00001"),
            Protocol::Http1,
            endpoints.iter().map(|e| e.parse().unwrap()).collect(),
        )
    }

    #[test]
    fn the_activator_stands_in_at_zero_in_proxy_mode_and_for_bounded_concurrency() {
        let activator: Vec<SocketAddr> = vec!["127.0.0.1:9000".parse().unwrap()];
        let replica = "127.0.0.1:7000";
        let cases = [
            // (replicas, proxy mode, cc, activator in path)
            (vec![replica], false, None, false),
            (vec![replica], false, Some(0), false),
            (vec![replica], true, None, true),
            (vec![], false, None, true),
            (vec![replica], false, Some(1), true),
        ];
        for (replicas, proxy, cc, behind) in cases {
            let placed = place(backend(&replicas), &revision(cc), proxy, &activator);
            let expected = if behind {
                activator.clone()
            } else {
                backend(&replicas).endpoints
            };
            assert_eq!(
                placed.endpoints, expected,
                "{replicas:?} proxy={proxy} cc={cc:?}"
            );
        }
    }

    #[test]
    fn without_an_activator_the_replicas_stay() {
        let placed = place(backend(&["127.0.0.1:7000"]), &revision(Some(1)), true, &[]);
        assert_eq!(placed.endpoints, backend(&["127.0.0.1:7000"]).endpoints);
        assert!(
            place(backend(&[]), &revision(None), true, &[])
                .endpoints
                .is_empty()
        );
    }
}
