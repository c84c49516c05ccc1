//! Platform-internal headers from outside (`Knative-Serving-Revision`, `K-Proxy-Request`,
//! `K-Network-Probe`, `Knative-Serving-Namespace`, `K-Original-Host`, any other `K-*` or
//! `Knative-Serving-*`) never steer routing, never make the activator answer a probe,
//! and never reach the function, through `fnmesh up`'s gateway and through a stock
//! Envoy fed by fnmesh's xDS; a client's `X-Forwarded-For` never hides its real address.
//!
//! The function is examples/record_bytes.py, which answers each request with the JSON
//! of exactly what reached it; each revision records into a file of its own, so the
//! file a request lands in says which revision served it.

mod common;
#[path = "common/envoy.rs"]
mod envoy_proxy;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Fnmesh, eventually, raw_http, service_yaml_running};
use envoy_proxy::Envoy;
use serde_json::Value;

const HOST: &str = "recorder.default.example.com";
const SHADOW_HOST: &str = "shadow-recorder.default.example.com";

/// The address a hostile client claims to be forwarding for.
const SPOOFED_CLIENT: &str = "203.0.113.9";

/// What a hostile client adds to its requests: each header names the 0% revision,
/// another namespace, a probe or the activator, or spoofs an earlier hop.
const HOSTILE: &[(&str, &str)] = &[
    ("Knative-Serving-Revision", "recorder-00002"),
    ("knative-serving-namespace", "kube-system"),
    ("Knative-Serving-Service", "other"),
    ("Knative-Serving-Configuration", "other"),
    ("K-Proxy-Request", "client"),
    ("K-Network-Probe", "queue"),
    ("K-Original-Host", SHADOW_HOST),
    ("K-Kubelet-Probe", "1"),
    ("K-Anything", "x"),
    ("X-Forwarded-For", SPOOFED_CLIENT),
];

/// Only the knob this test needs: revisions may start at zero.
const ZERO_INITIAL_SCALE: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: config-autoscaler
  namespace: knative-serving
data:
  allow-zero-initial-scale: \"true\"
";

fn record_env(file: &Path) -> String {
    format!(
        "          env:\n            - name: RECORD_FILE\n              value: {}\n",
        file.display()
    )
}

fn recorded(file: &Path) -> usize {
    std::fs::read_to_string(file)
        .map(|text| text.lines().count())
        .unwrap_or(0)
}

/// One GET on a fresh connection through `proxy`: status and the function's JSON
/// (`Null` when the body is not JSON, e.g. a probe answer).
fn get(proxy: &str, host: &str, headers: &[(&str, &str)]) -> (u16, Value, String) {
    let extra: String = headers
        .iter()
        .map(|(n, v)| format!("{n}: {v}\r\n"))
        .collect();
    let request = format!("GET / HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n");
    // Envoy may not be listening yet: (0, …) rather than a panic, so it can be polled.
    if std::net::TcpStream::connect(proxy).is_err() {
        return (0, Value::Null, String::new());
    }
    let (status, body) = raw_http(&format!("http://{proxy}"), request.as_bytes());
    let json = serde_json::from_str(&body).unwrap_or(Value::Null);
    (status, json, body)
}

/// The values of header `name` (any case) the function received.
fn values<'a>(seen: &'a Value, name: &str) -> Vec<&'a str> {
    seen["headers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|h| h[0].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)))
        .filter_map(|h| h[1].as_str())
        .collect()
}

/// What the function saw carries no internal header but the platform's own (naming
/// `revision` in `default`; the activator's `K-Proxy-Request: activator` when it
/// proxied), and `X-Forwarded-For` does not end with the client's claim.
fn assert_clean(via: &str, seen: &Value, revision: &str) {
    for header in seen["headers"].as_array().expect("recorded headers") {
        let name = header[0].as_str().unwrap().to_ascii_lowercase();
        let ours = name == "knative-serving-revision"
            || name == "knative-serving-namespace"
            || (name == "k-proxy-request" && header[1] == "activator");
        assert!(
            !(name.starts_with("k-") || name.starts_with("knative-serving-")) || ours,
            "{via}: {name} reached the function: {seen:#}"
        );
    }
    assert_eq!(
        values(seen, "knative-serving-revision"),
        [revision],
        "{via}"
    );
    assert_eq!(
        values(seen, "knative-serving-namespace"),
        ["default"],
        "{via}"
    );
    // The last hop is this proxy's record of the real peer, never what the client
    // claimed: the gateway writes the peer (127.0.0.1); Envoy, for a loopback peer,
    // writes the machine's own address (and the peer in `x-envoy-external-address`).
    let forwarded_for = values(seen, "x-forwarded-for").join(",");
    let last_hop = forwarded_for.rsplit(',').next().map(str::trim);
    assert_ne!(last_hop, Some(SPOOFED_CLIENT), "{via}: {forwarded_for}");
    if via == "gateway" {
        assert_eq!(last_hop, Some("127.0.0.1"), "{via}: {forwarded_for}");
    }
}

struct Files {
    live: PathBuf,
    shadow: PathBuf,
}

/// `recorder`: revision 1 takes 100%, revision 2 0% behind the `shadow` tag.
fn deploy_split(f: &Fnmesh, files: &Files) {
    f.apply(&service_yaml_running(
        "recorder",
        "examples/record_bytes.py",
        &record_env(&files.live),
    ));
    eventually(Duration::from_secs(60), "revision 1 serves", || {
        (get(&f.ingress, HOST, &[]).0 == 200).then_some(())
    });
    let second = format!(
        "{}  traffic:\n    - revisionName: recorder-00001\n      percent: 100\n    - latestRevision: true\n      percent: 0\n      tag: shadow\n",
        service_yaml_running(
            "recorder",
            "examples/record_bytes.py",
            &record_env(&files.shadow)
        )
    );
    f.apply(&second);
    eventually(Duration::from_secs(60), "revision 2 serves its tag", || {
        let (status, seen, _) = get(&f.ingress, SHADOW_HOST, &[]);
        (status == 200 && values(&seen, "knative-serving-revision") == ["recorder-00002"])
            .then_some(())
    });
}

/// A service whose only revision starts with no replica: the proxies send it to the
/// activator, which answers a `K-Network-Probe` itself.
fn deploy_cold(f: &Fnmesh, name: &str, file: &Path) {
    let manifest = service_yaml_running(name, "examples/record_bytes.py", &record_env(file))
        .replace(
            "  template:\n    spec:\n",
            "  template:\n    metadata:\n      annotations:\n        autoscaling.knative.dev/initial-scale: \"0\"\n    spec:\n",
        );
    f.apply(&manifest);
    eventually(Duration::from_secs(60), &format!("{name} ready"), || {
        let out = f.kubectl(&[
            "get",
            "ksvc",
            name,
            "-o",
            "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
        ]);
        (String::from_utf8_lossy(&out.stdout) == "True").then_some(())
    });
}

/// Through `proxy`: requests carrying every hostile header land on the 100% revision,
/// clean; a cold revision's request carrying `K-Network-Probe` is answered by the
/// function, woken through the activator, not by the activator's probe answer.
fn assert_not_steered(via: &str, proxy: &str, files: &Files, cold: (&str, &Path)) {
    let (live, shadow) = (recorded(&files.live), recorded(&files.shadow));
    for _ in 0..20 {
        let (status, seen, body) = get(proxy, HOST, HOSTILE);
        assert_eq!(status, 200, "{via}: {body}");
        assert_clean(via, &seen, "recorder-00001");
    }
    assert_eq!(
        recorded(&files.live),
        live + 20,
        "{via}: the 100% revision served"
    );
    assert_eq!(
        recorded(&files.shadow),
        shadow,
        "{via}: the 0% revision served a request"
    );

    let (name, file) = cold;
    let (status, seen, body) = get(proxy, &format!("{name}.default.example.com"), HOSTILE);
    assert_eq!(status, 200, "{via}: {body}");
    assert!(seen.is_object(), "{via}: not the function's answer: {body}");
    assert_clean(via, &seen, &format!("{name}-00001"));
    assert_eq!(recorded(file), 1, "{via}: the function served it");
}

#[test]
fn internal_headers_from_clients_steer_nothing_through_the_gateway_or_envoy() {
    let f = Fnmesh::start();
    f.kubectl_stdin(&["create", "namespace", "knative-serving"], "");
    f.apply(ZERO_INITIAL_SCALE);
    let dir = &f.data_dir;
    let files = Files {
        live: dir.join("live.jsonl"),
        shadow: dir.join("shadow.jsonl"),
    };
    let (cold_gateway, cold_envoy) = (dir.join("cold-gateway.jsonl"), dir.join("cold-envoy.jsonl"));
    deploy_cold(&f, "cold-gateway", &cold_gateway);
    deploy_cold(&f, "cold-envoy", &cold_envoy);
    deploy_split(&f, &files);

    assert_not_steered(
        "gateway",
        &f.ingress,
        &files,
        ("cold-gateway", &cold_gateway),
    );

    let envoy = Envoy::start(&f.xds);
    eventually(Duration::from_secs(60), "envoy serves the split", || {
        (get(&envoy.listen, HOST, &[]).0 == 200).then_some(())
    });
    // Envoy knows the cold revision's cluster (the activator) before it is asked.
    eventually(Duration::from_secs(30), "envoy's cold cluster", || {
        std::net::TcpStream::connect(&envoy.admin).ok()?;
        let (_, clusters) = raw_http(
            &format!("http://{}", envoy.admin),
            b"GET /clusters HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n",
        );
        clusters
            .contains("default/cold-envoy-00001::127.0.0.1")
            .then_some(())
    });
    assert_not_steered("envoy", &envoy.listen, &files, ("cold-envoy", &cold_envoy));
}
