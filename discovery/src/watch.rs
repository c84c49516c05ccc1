//! Following a Service's endpoints as its EndpointSlices change.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};

use futures::StreamExt;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, reflector, watcher};
use tokio::sync::watch;

/// The ready addresses of `service`'s port `port_name` in `namespace`, kept current by
/// a background task (ended when every receiver is gone). Sorted, so every consumer
/// sees the same order and `first` is the same for all.
pub fn watch_addresses(
    client: kube::Client,
    namespace: &str,
    service: &str,
    port_name: &str,
) -> watch::Receiver<Vec<SocketAddr>> {
    let (tx, rx) = watch::channel(Vec::new());
    let api: Api<EndpointSlice> = Api::namespaced(client, namespace);
    let config =
        watcher::Config::default().labels(&format!("kubernetes.io/service-name={service}"));
    let (store, writer) = reflector::store();
    let port_name = port_name.to_owned();
    let service = service.to_owned();
    tokio::spawn(async move {
        let mut events = watcher(api, config)
            .default_backoff()
            .reflect(writer)
            .boxed();
        loop {
            tokio::select! {
                () = tx.closed() => return,
                event = events.next() => match event {
                    Some(Ok(_)) => {
                        let slices = store.state();
                        let now = ready_addresses(slices.iter().map(AsRef::as_ref), &port_name);
                        tx.send_if_modified(|known| {
                            if *known == now {
                                return false;
                            }
                            tracing::info!(service, addresses = ?now, "endpoints changed");
                            *known = now;
                            true
                        });
                    }
                    Some(Err(error)) => {
                        tracing::debug!(service, %error, "endpoint slice watch failed; retrying");
                    }
                    None => return,
                },
            }
        }
    });
    rx
}

/// The first of `addresses` as it changes: for a client that talks to one instance.
pub fn first_address(
    mut addresses: watch::Receiver<Vec<SocketAddr>>,
) -> watch::Receiver<Option<SocketAddr>> {
    let (tx, rx) = watch::channel(addresses.borrow_and_update().first().copied());
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = tx.closed() => return,
                changed = addresses.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let first = addresses.borrow_and_update().first().copied();
                    tx.send_if_modified(|known| {
                        let differs = *known != first;
                        *known = first;
                        differs
                    });
                }
            }
        }
    });
    rx
}

/// Every ready endpoint address of the port named `port_name`, deduplicated and sorted.
fn ready_addresses<'a>(
    slices: impl Iterator<Item = &'a EndpointSlice>,
    port_name: &str,
) -> Vec<SocketAddr> {
    let mut found = BTreeSet::new();
    for slice in slices {
        let Some(port) = slice.ports.iter().flatten().find_map(|p| {
            (p.name.as_deref().unwrap_or_default() == port_name)
                .then_some(p.port)
                .flatten()
        }) else {
            continue;
        };
        let Ok(port) = u16::try_from(port) else {
            continue;
        };
        for endpoint in slice.endpoints.iter().flatten() {
            // Kubernetes: a missing `ready` means ready.
            let ready = endpoint
                .conditions
                .as_ref()
                .and_then(|c| c.ready)
                .unwrap_or(true);
            if !ready {
                continue;
            }
            for address in &endpoint.addresses {
                if let Ok(ip) = address.parse::<IpAddr>() {
                    found.insert(SocketAddr::new(ip, port));
                }
            }
        }
    }
    found.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slice(port_name: &str, port: i32, endpoints: serde_json::Value) -> EndpointSlice {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "s", "namespace": "knative-serving"},
            "addressType": "IPv4",
            "endpoints": endpoints,
            "ports": [{"name": port_name, "port": port}],
        }))
        .unwrap()
    }

    #[test]
    fn only_ready_endpoints_of_the_named_port_count() {
        let a = slice(
            "grpc-xds",
            18000,
            serde_json::json!([
                {"addresses": ["10.0.0.2"], "conditions": {"ready": true}},
                {"addresses": ["10.0.0.3"], "conditions": {"ready": false}},
                {"addresses": ["10.0.0.1"]},
            ]),
        );
        let b = slice(
            "metrics",
            9090,
            serde_json::json!([{"addresses": ["10.0.0.9"]}]),
        );
        let found = ready_addresses([&a, &b].into_iter(), "grpc-xds");
        let want: Vec<SocketAddr> = vec![
            "10.0.0.1:18000".parse().unwrap(),
            "10.0.0.2:18000".parse().unwrap(),
        ];
        assert_eq!(found, want);
    }
}
