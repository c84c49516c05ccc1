//! An acknowledged write survives `kill -9`.

mod common;

use common::{Fnmesh, service_yaml};

#[test]
fn objects_survive_kill_9_and_restart() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut f = Fnmesh::start_in(tmp.path());
    for name in ["a", "b", "c"] {
        let out = f.kubectl_stdin(&["apply", "-f", "-"], &service_yaml(name, ""));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  k: v\n";
    assert!(f.kubectl_stdin(&["apply", "-f", "-"], cm).status.success());
    // Until it is Ready the controller is still writing b's status; a write acknowledged
    // between this read and the kill would (rightly) survive and change its version.
    f.kubectl_ok(&["wait", "--for=condition=Ready", "ksvc/b", "--timeout=60s"]);
    let before = f.get_json(&["get", "ksvc", "b"]);
    f.kill9();

    let f = Fnmesh::start_in(tmp.path());
    let names = f.kubectl_ok(&["get", "ksvc", "-o", "name"]);
    for name in ["a", "b", "c"] {
        assert!(
            names.contains(&format!("service.serving.knative.dev/{name}\n")),
            "{names}"
        );
    }
    let after = f.get_json(&["get", "ksvc", "b"]);
    assert_eq!(before["metadata"]["uid"], after["metadata"]["uid"]);
    assert_eq!(
        before["metadata"]["resourceVersion"],
        after["metadata"]["resourceVersion"]
    );
    let cm = f.get_json(&["get", "configmap", "settings"]);
    assert_eq!(cm["data"]["k"], "v");
    // Resource versions keep growing after a restart.
    let out = f.kubectl_stdin(&["apply", "-f", "-"], &service_yaml("d", ""));
    assert!(out.status.success());
    let d = f.get_json(&["get", "ksvc", "d"]);
    let rv = |v: &serde_json::Value| {
        v["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or("0")
            .parse::<u64>()
            .unwrap_or(0)
    };
    assert!(rv(&d) > rv(&after));
}
