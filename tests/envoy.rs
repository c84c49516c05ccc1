//! A stock Envoy, configured only by fnmesh's xDS server through `fnmesh envoy-bootstrap`,
//! serves the same split and tag hosts as the built-in gateway, and scales a service
//! from zero through the activator.

mod common;
#[path = "common/envoy.rs"]
mod envoy_proxy;

use std::collections::HashMap;
use std::time::Duration;

use common::{Fnmesh, HttpClient, eventually, http_get, revision_of, service_yaml, split_manifest};
use envoy_proxy::Envoy;

#[test]
fn stock_envoy_serves_the_same_split_and_tags() {
    let f = Fnmesh::start();
    let manifest = split_manifest;
    assert!(
        f.kubectl_stdin(&["apply", "-f", "-"], &manifest("one", ""))
            .status
            .success()
    );
    eventually(Duration::from_secs(60), "split-00001 served", || {
        let (code, body) = http_get(&f.ingress, "split.default.example.com");
        (code == 200 && revision_of(&body) == "split-00001").then_some(())
    });
    let traffic = "  traffic:
    - revisionName: split-00001
      percent: 80
      tag: current
    - latestRevision: true
      percent: 20
      tag: candidate
";
    assert!(
        f.kubectl_stdin(&["apply", "-f", "-"], &manifest("two", traffic))
            .status
            .success()
    );

    let envoy = Envoy::start(&f.xds);
    let listen = envoy.listen.clone();
    for (host, rev) in [
        ("current-split.default.example.com", "split-00001"),
        ("candidate-split.default.example.com", "split-00002"),
    ] {
        eventually(
            Duration::from_secs(60),
            &format!("envoy serves {host}"),
            || {
                let (code, body) = http_get(&listen, host);
                (code == 200 && revision_of(&body) == rev).then_some(())
            },
        );
    }
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut c = HttpClient::connect(&listen);
    for _ in 0..1000 {
        let (code, body) = c.get("split.default.example.com", "");
        assert_eq!(code, 200, "{body}");
        *counts.entry(revision_of(&body)).or_default() += 1;
    }
    let one = counts.get("split-00001").copied().unwrap_or(0);
    assert!((750..=850).contains(&one), "{counts:?}");
    let (code, _) = http_get(&listen, "nope.default.example.com");
    assert_eq!(code, 404);
    // Envoy ACKed what it got: its config dump names the revisions' clusters.
    let (_, dump) = common::raw_http(
        &format!("http://{}", envoy.admin),
        b"GET /config_dump HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(dump.contains("default/split-00001") && dump.contains("default/split-00002"));
}

fn wait_for_zero(f: &Fnmesh, revision: &str) {
    eventually(
        Duration::from_secs(60),
        &format!("{revision} at zero"),
        || (f.revision_replicas(revision) == (0, 0)).then_some(()),
    );
}

/// Behind a stock Envoy no gateway counts the requests: while the revision is in
/// proxy mode (no replica, or the autoscaler wants the activator in the path) the
/// activator's own reports, held requests included, are what the autoscaler sees and
/// what wakes the revision. Once the revision has capacity to spare the controller may
/// point Envoy at the replicas directly; then nobody reports, the autoscaler sees no
/// load and the revision idles out to zero, behind the activator again. Acceptable
/// for single-node use, and the reason Knative keeps a metrics-reporting queue-proxy
/// beside each replica.
#[test]
fn stock_envoy_scales_a_service_from_zero() {
    let f = Fnmesh::start_fast_idle();
    f.apply(&service_yaml("wake", ""));
    let envoy = Envoy::start(&f.xds);
    let host = "wake.default.example.com";
    eventually(Duration::from_secs(60), "envoy serves wake", || {
        (http_get(&envoy.listen, host).0 == 200).then_some(())
    });

    wait_for_zero(&f, "wake-00001");
    let (code, body) = http_get(&envoy.listen, host);
    assert_eq!(code, 200, "the first request at zero: {body}");
    assert_eq!(revision_of(&body), "wake-00001", "{body}");

    wait_for_zero(&f, "wake-00001");
    let clients: Vec<_> = (0..20)
        .map(|_| {
            let listen = envoy.listen.clone();
            std::thread::spawn(move || http_get(&listen, host))
        })
        .collect();
    let answers: Vec<(u16, String)> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    let failed: Vec<_> = answers.iter().filter(|(code, _)| *code != 200).collect();
    assert!(
        failed.is_empty(),
        "{} of 20 at zero failed: {failed:?}",
        failed.len()
    );
}
