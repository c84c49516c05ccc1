//! A user's kubectl session against `fnmesh up`: apply, get, watch, label,
//! server-side apply, delete — with the real kubectl.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Fnmesh, eventually, service_yaml};

fn example(name: &str) -> String {
    format!("{}/examples/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn kubectl_applies_gets_labels_and_deletes_a_knative_service() {
    let f = Fnmesh::start();
    let out = f.kubectl_ok(&["apply", "-f", &example("hello.yaml")]);
    assert!(
        out.contains("service.serving.knative.dev/hello created"),
        "{out}"
    );

    let table = f.kubectl_ok(&["get", "ksvc"]);
    let header = table.lines().next().unwrap_or_default();
    for col in [
        "NAME",
        "URL",
        "LATESTCREATED",
        "LATESTREADY",
        "READY",
        "REASON",
    ] {
        assert!(header.contains(col), "column {col} in {header}");
    }
    assert!(
        table
            .lines()
            .nth(1)
            .unwrap_or_default()
            .starts_with("hello"),
        "{table}"
    );

    let obj = f.get_json(&["get", "services.serving.knative.dev", "hello"]);
    let meta = &obj["metadata"];
    for field in ["uid", "resourceVersion", "creationTimestamp"] {
        assert!(
            meta[field].as_str().is_some_and(|s| !s.is_empty()),
            "{field} in {meta}"
        );
    }
    assert_eq!(meta["generation"], 1);
    // Knative defaulting ran at admission.
    assert_eq!(obj["spec"]["traffic"][0]["percent"], 100);
    assert_eq!(obj["spec"]["traffic"][0]["latestRevision"], true);
    assert_eq!(
        obj["spec"]["template"]["spec"]["containers"][0]["name"],
        "user-container"
    );
    assert_eq!(obj["spec"]["template"]["spec"]["timeoutSeconds"], 300);

    // The short names resolve through discovery.
    for name in ["kservice", "ksvc", "services.serving.knative.dev"] {
        assert!(
            f.kubectl_ok(&["get", name, "hello", "-o", "name"])
                .contains("hello")
        );
    }

    let out = f.kubectl_ok(&["label", "ksvc", "hello", "team=blue"]);
    assert!(out.contains("labeled"), "{out}");
    let obj = f.get_json(&["get", "ksvc", "hello"]);
    assert_eq!(obj["metadata"]["labels"]["team"], "blue");
    assert_eq!(
        obj["metadata"]["generation"], 1,
        "a label is not a spec change"
    );

    let out = f.kubectl_ok(&["apply", "--server-side", "-f", &example("hello.yaml")]);
    assert!(out.contains("serverside-applied"), "{out}");
    let changed = std::fs::read_to_string(example("hello.yaml"))
        .expect("read example")
        .replace("value: fnmesh", "value: world");
    let out = f.kubectl_stdin(&["apply", "--server-side", "-f", "-"], &changed);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let obj = f.get_json(&["get", "ksvc", "hello", "--show-managed-fields"]);
    assert_eq!(
        obj["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"],
        "world"
    );
    assert_eq!(obj["metadata"]["generation"], 2);
    assert_eq!(
        obj["metadata"]["labels"]["team"], "blue",
        "apply keeps others' fields"
    );
    let managers: Vec<String> = obj["metadata"]["managedFields"]
        .as_array()
        .expect("managedFields")
        .iter()
        .map(|m| m["manager"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(managers.iter().any(|m| m == "kubectl"), "{managers:?}");
    assert!(
        managers.iter().any(|m| m == "kubectl-label"),
        "{managers:?}"
    );

    let out = f.kubectl_ok(&["delete", "ksvc", "hello"]);
    assert!(out.contains("deleted"), "{out}");
    let gone = f.kubectl(&["get", "ksvc", "hello"]);
    assert!(!gone.status.success());
    assert!(String::from_utf8_lossy(&gone.stderr).contains("NotFound"));
}

#[test]
fn kubectl_watch_sees_a_new_service() {
    let f = Fnmesh::start();
    f.kubectl_ok(&["apply", "-f", &example("hello.yaml")]);
    let mut watch = Command::new(common::kubectl_bin())
        .arg("--kubeconfig")
        .arg(f.kubeconfig())
        .args(["get", "ksvc", "--watch", "-o", "name"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("kubectl get --watch");
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = watch.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // The initial list comes first…
    let first = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("initial list");
    assert!(first.contains("hello"), "{first}");
    // …then the new object, as it is created.
    let out = f.kubectl_stdin(&["apply", "-f", "-"], &service_yaml("hello-two", ""));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen = eventually(Duration::from_secs(30), "watch event for hello-two", || {
        rx.recv_timeout(Duration::from_millis(200))
            .ok()
            .filter(|l| l.contains("hello-two"))
    });
    assert!(
        seen.contains("service.serving.knative.dev/hello-two"),
        "{seen}"
    );
    let _ = watch.kill();
    let _ = watch.wait();
}

#[test]
fn up_shuts_down_cleanly_on_sigterm() {
    let mut f = Fnmesh::start();
    let status = f.terminate();
    assert!(status.success(), "exit status {status}");
}

#[test]
fn kubectl_imperative_creates_work_through_protobuf_bodies() {
    let f = Fnmesh::start();
    f.kubectl_ok(&["create", "namespace", "team-a"]);
    f.kubectl_ok(&[
        "-n",
        "team-a",
        "create",
        "configmap",
        "settings",
        "--from-literal=k=v",
    ]);
    f.kubectl_ok(&[
        "-n",
        "team-a",
        "create",
        "secret",
        "generic",
        "creds",
        "--from-literal=user=me",
    ]);
    f.kubectl_ok(&[
        "-n",
        "team-a",
        "create",
        "deployment",
        "web",
        "--image=nginx",
        "--replicas=2",
    ]);
    let cm = f.get_json(&["-n", "team-a", "get", "configmap", "settings"]);
    assert_eq!(cm["data"]["k"], "v");
    let secret = f.get_json(&["-n", "team-a", "get", "secret", "creds"]);
    assert_eq!(secret["data"]["user"], "bWU=");
    let out = f.kubectl_ok(&["-n", "team-a", "scale", "deployment", "web", "--replicas=3"]);
    assert!(out.contains("scaled"), "{out}");
    let d = f.get_json(&["-n", "team-a", "get", "deployment", "web"]);
    assert_eq!(d["spec"]["replicas"], 3);
    // Deleting the namespace takes its contents with it.
    f.kubectl_ok(&["delete", "namespace", "team-a"]);
    let gone = f.kubectl(&["-n", "team-a", "get", "configmap", "settings"]);
    assert!(!gone.status.success());
}

#[test]
fn a_token_protected_api_serves_https_and_refuses_anonymous_requests() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let f = Fnmesh::start_with(tmp.path(), &["--token", "s3cret"]);
    // Clients do not send bearer tokens in the clear, so a token means HTTPS.
    assert!(f.api_url.starts_with("https://"), "{}", f.api_url);
    let curl = |extra: &[&str]| {
        let out = Command::new("curl")
            .args(["-sk", "-o", "/dev/null", "-w", "%{http_code}"])
            .args(extra)
            .arg(format!("{}/api/v1/namespaces", f.api_url))
            .output()
            .expect("curl");
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    assert_eq!(curl(&[]), "401");
    assert_eq!(curl(&["-H", "Authorization: Bearer wrong"]), "401");
    assert_eq!(curl(&["-H", "Authorization: Bearer s3cret"]), "200");
    // The kubeconfig fnmesh wrote carries the token and the certificate to trust.
    let kubeconfig = std::fs::read_to_string(f.kubeconfig()).expect("kubeconfig");
    assert!(kubeconfig.contains("token: s3cret"));
    assert!(kubeconfig.contains("certificate-authority-data:"));
    assert!(f.kubectl_ok(&["get", "namespaces"]).contains("default"));
    // The in-process components reach the API over the same TLS.
    f.kubectl_ok(&["apply", "-f", &example("hello.yaml")]);
    eventually(
        Duration::from_secs(30),
        "the controller to create a revision",
        || {
            let out = f.kubectl(&["get", "revision", "hello-00001", "-o", "name"]);
            out.status.success().then_some(())
        },
    );
}
