//! Hostile bytes at the activator, the API and the ingress as `fnmesh up` runs them:
//! the shared corpus of `tests/common/hostile.rs` (smuggling shapes, header floods,
//! oversized heads and bodies, a silent client, slowloris, a client that never reads),
//! each answered with the right 4xx or a closed connection, every server still
//! answering normal requests afterwards, and `fnmesh up`'s resident memory bounded
//! while a never-reading client is connected. The header read timeout is set to 1 s
//! (`--header-read-timeout-seconds`) so the slow clients are cut in seconds.
//! The gateway's two request paths are held to the same corpus in
//! gateway/tests/proxy/hostile.rs, against a real function.

mod common;
#[path = "common/hostile.rs"]
mod hostile;

use std::net::SocketAddr;
use std::time::Duration;

use common::{Fnmesh, eventually, raw_http};
use hostile::Target;

const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(1);

/// The API's request body limit (`apiserver::MAX_BODY_BYTES`: kube-apiserver's 3 MiB).
const API_BODY_LIMIT: usize = 3 * 1024 * 1024;

/// The activator's address, from the EndpointSlice it publishes in `knative-serving`.
fn activator_addr(f: &Fnmesh) -> SocketAddr {
    eventually(
        Duration::from_secs(30),
        "the activator's EndpointSlice",
        || {
            let (status, body) = raw_http(
                &f.api_url,
                b"GET /apis/discovery.k8s.io/v1/namespaces/knative-serving/endpointslices HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n",
            );
            let list: serde_json::Value = serde_json::from_str(&body).ok()?;
            (status == 200).then_some(())?;
            list["items"].as_array()?.iter().find_map(|slice| {
                let ip = slice["endpoints"][0]["addresses"][0].as_str()?;
                let port = slice["ports"][0]["port"].as_u64()?;
                format!("{ip}:{port}").parse().ok()
            })
        },
    )
}

#[test]
fn hostile_clients_get_a_4xx_or_a_closed_connection_from_every_server() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let f = Fnmesh::start_with(tmp.path(), &["--header-read-timeout-seconds", "1"]);
    let pid = Some(f.child.id());
    let api = Target {
        name: "API".into(),
        addr: f.api_url.trim_start_matches("http://").parse().unwrap(),
        host: "127.0.0.1".into(),
        path: "/healthz".into(),
        extra: String::new(),
        normal_status: 200,
        body_limit: Some(("/api/v1/namespaces/default/configmaps", API_BODY_LIMIT)),
        header_read_timeout: HEADER_READ_TIMEOUT,
        pid,
        refuses_length_with_chunked: false,
    };
    let activator = Target {
        name: "activator".into(),
        addr: activator_addr(&f),
        host: "activator".into(),
        path: "/".into(),
        // A network probe: answered by the activator itself, no revision needed.
        extra: "K-Network-Probe: probe\r\n".into(),
        normal_status: 200,
        body_limit: None,
        header_read_timeout: HEADER_READ_TIMEOUT,
        pid,
        refuses_length_with_chunked: false,
    };
    // No function needed: the gateway's own 404 for a host with no route is its
    // normal answer here (the forwarding path is gateway/tests/proxy/hostile.rs's).
    let ingress = Target {
        name: "ingress".into(),
        addr: f.ingress.parse().unwrap(),
        host: "nothing.default.example.com".into(),
        path: "/".into(),
        extra: String::new(),
        normal_status: 404,
        body_limit: None,
        header_read_timeout: HEADER_READ_TIMEOUT,
        pid,
        refuses_length_with_chunked: true,
    };
    for target in [api, activator, ingress] {
        target.check_all();
    }
}
