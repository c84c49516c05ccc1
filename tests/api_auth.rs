//! API authentication and authorisation with a token file (`--token-auth-file`): an
//! unrestricted token and one scoped to namespace `team-a`, driven with the real
//! kubectl and curl against the real binary. The non-loopback rule is unit-tested in
//! the apiserver crate (`auth::requires_token`); tests bind loopback only.

// A synchronous harness (processes, kubectl, curl), with no tokio clock to pause.
#![allow(clippy::disallowed_types)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{Fnmesh, eventually, service_yaml};

const TOKENS: &str = "# fnmesh API tokens: token,user,uid,\"groups\",\"namespaces\"
root-token,root,0,\"system:masters\"

alice-token,alice,1001,\"dev,qa\",team-a
";

/// `fnmesh up` (or `--api-only`) on a fresh dir with [`TOKENS`] as its token file.
fn start(extra: &[&str]) -> (tempfile::TempDir, Fnmesh) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("tokens.csv");
    std::fs::write(&file, TOKENS).expect("write the token file");
    let file = file.to_str().expect("utf-8 path").to_string();
    let mut args = vec!["--token-auth-file", file.as_str()];
    args.extend_from_slice(extra);
    let f = Fnmesh::start_with(tmp.path(), &args);
    (tmp, f)
}

/// kubectl as alice: the written kubeconfig (server, CA) with her token.
fn alice(f: &Fnmesh, args: &[&str]) -> Output {
    let mut all = vec!["--token", "alice-token"];
    all.extend_from_slice(args);
    f.kubectl(&all)
}

fn alice_ok(f: &Fnmesh, args: &[&str]) -> String {
    let out = alice(f, args);
    assert!(
        out.status.success(),
        "alice: kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// kubectl as alice, which must be refused with exactly `message`.
fn alice_forbidden(f: &Fnmesh, args: &[&str], message: &str) {
    alice_refused(
        f,
        args,
        &format!("Error from server (Forbidden): {message}"),
    );
}

/// kubectl as alice, which must fail printing `stderr`.
fn alice_refused(f: &Fnmesh, args: &[&str], stderr: &str) {
    let out = alice(f, args);
    let printed = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "alice: kubectl {args:?} succeeded");
    assert!(
        printed.contains(stderr),
        "alice: kubectl {args:?}: {printed}"
    );
}

/// One request with curl, trusting the API's certificate: (status, body).
fn curl(f: &Fnmesh, token: Option<&str>, path: &str) -> (u16, String) {
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "--max-time", "10", "-w", "\n%{http_code}", "--cacert"])
        .arg(f.data_dir.join("tls.crt"));
    if let Some(t) = token {
        cmd.args(["-H", &format!("Authorization: Bearer {t}")]);
    }
    let out = cmd
        .arg(format!("{}{path}", f.api_url))
        .output()
        .expect("run curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

/// The admin token fnmesh wrote into its kubeconfig.
fn admin_token(f: &Fnmesh) -> String {
    let kubeconfig = std::fs::read_to_string(f.kubeconfig()).expect("kubeconfig");
    kubeconfig
        .lines()
        .find_map(|l| l.trim().strip_prefix("token: "))
        .expect("a token in the kubeconfig")
        .to_string()
}

/// Lines a long-running child prints, as they come.
fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().expect("stdout piped");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    rx
}

/// Collect lines until one contains `wanted`; panics after 20 s.
fn until(rx: &mpsc::Receiver<String>, wanted: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                let done = line.contains(wanted);
                seen.push(line);
                if done {
                    return seen;
                }
            }
            Err(_) => panic!("no line with {wanted:?}; saw {seen:?}"),
        }
    }
}

#[test]
fn a_scoped_token_works_in_its_namespace_and_is_forbidden_elsewhere() {
    let (_tmp, f) = start(&[]);
    // The kubeconfig holds the admin token: unrestricted.
    f.kubectl_ok(&["create", "namespace", "team-a"]);
    f.kubectl_ok(&["create", "namespace", "team-b"]);
    f.kubectl_ok(&["create", "configmap", "b-config", "-n", "team-b"]);

    alice_ok(
        &f,
        &[
            "create",
            "configmap",
            "a-config",
            "-n",
            "team-a",
            "--from-literal=k=v",
        ],
    );
    let value = alice_ok(
        &f,
        &[
            "get",
            "configmap",
            "a-config",
            "-n",
            "team-a",
            "-o",
            "jsonpath={.data.k}",
        ],
    );
    assert_eq!(value, "v");
    alice_ok(
        &f,
        &[
            "label",
            "configmap",
            "a-config",
            "-n",
            "team-a",
            "owner=alice",
        ],
    );
    let names = alice_ok(&f, &["get", "configmaps", "-n", "team-a", "-o", "name"]);
    assert_eq!(names.trim(), "configmap/a-config");
    assert!(alice_ok(&f, &["get", "namespace", "team-a", "-o", "name"]).contains("team-a"));

    // A Knative Service in team-a: the embedded controller (admin) reconciles it.
    let out = f.kubectl_stdin(
        &["--token", "alice-token", "apply", "-n", "team-a", "-f", "-"],
        &service_yaml("hello", ""),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eventually(
        Duration::from_secs(30),
        "the controller to create a revision",
        || {
            alice(&f, &["get", "revision", "hello-00001", "-n", "team-a"])
                .status
                .success()
                .then_some(())
        },
    );

    let user = "User \"alice\"";
    alice_forbidden(
        &f,
        &["get", "configmap", "b-config", "-n", "team-b"],
        &format!(
            "configmaps \"b-config\" is forbidden: {user} cannot get resource \"configmaps\" in API group \"\" in the namespace \"team-b\""
        ),
    );
    alice_forbidden(
        &f,
        &["get", "configmaps", "-n", "team-b"],
        &format!(
            "configmaps is forbidden: {user} cannot list resource \"configmaps\" in API group \"\" in the namespace \"team-b\""
        ),
    );
    alice_forbidden(
        &f,
        &["get", "configmaps", "-A"],
        &format!(
            "configmaps is forbidden: {user} cannot list resource \"configmaps\" in API group \"\" at the cluster scope"
        ),
    );
    alice_forbidden(
        &f,
        &["get", "ksvc", "-A"],
        &format!(
            "services.serving.knative.dev is forbidden: {user} cannot list resource \"services\" in API group \"serving.knative.dev\" at the cluster scope"
        ),
    );
    // kubectl's `create configmap` words a server error its own way.
    alice_refused(
        &f,
        &["create", "configmap", "x", "-n", "team-b"],
        &format!(
            "error: failed to create configmap: configmaps is forbidden: {user} cannot create resource \"configmaps\" in API group \"\" in the namespace \"team-b\""
        ),
    );
    alice_forbidden(
        &f,
        &["delete", "configmap", "b-config", "-n", "team-b"],
        &format!(
            "configmaps \"b-config\" is forbidden: {user} cannot delete resource \"configmaps\" in API group \"\" in the namespace \"team-b\""
        ),
    );
    alice_forbidden(
        &f,
        &["get", "namespaces"],
        &format!(
            "namespaces is forbidden: {user} cannot list resource \"namespaces\" in API group \"\" at the cluster scope"
        ),
    );
    alice_forbidden(
        &f,
        &["delete", "namespace", "team-a"],
        &format!(
            "namespaces \"team-a\" is forbidden: {user} cannot delete resource \"namespaces\" in API group \"\" in the namespace \"team-a\""
        ),
    );
    alice_forbidden(
        &f,
        &["get", "nodes"],
        &format!(
            "nodes is forbidden: {user} cannot list resource \"nodes\" in API group \"\" at the cluster scope"
        ),
    );
    // The admin still sees both namespaces.
    let all = f.kubectl_ok(&["get", "configmaps", "-A", "-o", "name"]);
    assert!(
        all.contains("configmap/a-config") && all.contains("configmap/b-config"),
        "{all}"
    );

    // A watch of team-a carries team-a's changes only: a change in team-b made just
    // before one in team-a must not show up ahead of it.
    let mut watch = Command::new(common::kubectl_bin())
        .arg("--kubeconfig")
        .arg(f.kubeconfig())
        .args([
            "--token",
            "alice-token",
            "get",
            "configmaps",
            "-n",
            "team-a",
            "--watch",
            "-o",
            "name",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("kubectl get --watch");
    let rx = lines_of(&mut watch);
    until(&rx, "configmap/a-config");
    f.kubectl_ok(&["create", "configmap", "b-watched", "-n", "team-b"]);
    f.kubectl_ok(&["create", "configmap", "a-watched", "-n", "team-a"]);
    let seen = until(&rx, "configmap/a-watched");
    let _ = watch.kill();
    let _ = watch.wait();
    assert!(!seen.iter().any(|l| l.contains("b-watched")), "{seen:?}");
}

#[test]
fn refusals_are_kubernetes_own_status_bodies() {
    let (_tmp, f) = start(&["--api-only"]);
    // A token file makes every request need a token, on loopback too.
    assert!(f.api_url.starts_with("https://127.0.0.1:"), "{}", f.api_url);
    let unauthorized = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}"#;
    for token in [None, Some("wrong-token"), Some("alice-token-")] {
        assert_eq!(
            curl(&f, token, "/api/v1/namespaces"),
            (401, unauthorized.to_string()),
            "{token:?}"
        );
    }
    assert_eq!(curl(&f, None, "/version").0, 401);

    // The generated admin token and the file's unscoped token may do anything.
    let admin = admin_token(&f);
    assert!(!admin.is_empty());
    assert_eq!(curl(&f, Some(&admin), "/api/v1/namespaces").0, 200);
    assert_eq!(curl(&f, Some("root-token"), "/api/v1/configmaps").0, 200);

    let forbidden = |path: &str| {
        let (code, body) = curl(&f, Some("alice-token"), path);
        assert_eq!(code, 403, "{path}: {body}");
        body
    };
    assert_eq!(
        forbidden("/api/v1/namespaces/other/configmaps/x"),
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"configmaps \"x\" is forbidden: User \"alice\" cannot get resource \"configmaps\" in API group \"\" in the namespace \"other\"","reason":"Forbidden","details":{"name":"x","kind":"configmaps"},"code":403}"#
    );
    assert_eq!(
        forbidden("/api/v1/namespaces/other/configmaps?watch=true"),
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"configmaps is forbidden: User \"alice\" cannot watch resource \"configmaps\" in API group \"\" in the namespace \"other\"","reason":"Forbidden","details":{"kind":"configmaps"},"code":403}"#
    );
    assert_eq!(
        forbidden("/apis/serving.knative.dev/v1/services"),
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"services.serving.knative.dev is forbidden: User \"alice\" cannot list resource \"services\" in API group \"serving.knative.dev\" at the cluster scope","reason":"Forbidden","details":{"group":"serving.knative.dev","kind":"services"},"code":403}"#
    );
    assert_eq!(
        forbidden("/api/v1/namespaces/other/pods/p/log"),
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods \"p\" is forbidden: User \"alice\" cannot get resource \"pods/log\" in API group \"\" in the namespace \"other\"","reason":"Forbidden","details":{"name":"p","kind":"pods"},"code":403}"#
    );
    assert_eq!(
        forbidden("/apis/apiextensions.k8s.io/v1/customresourcedefinitions"),
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"customresourcedefinitions.apiextensions.k8s.io is forbidden: User \"alice\" cannot list resource \"customresourcedefinitions\" in API group \"apiextensions.k8s.io\" at the cluster scope","reason":"Forbidden","details":{"group":"apiextensions.k8s.io","kind":"customresourcedefinitions"},"code":403}"#
    );
    assert_eq!(
        forbidden("/metrics"),
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"forbidden: User \"alice\" cannot get path \"/metrics\"","reason":"Forbidden","details":{},"code":403}"#
    );
    // Discovery, OpenAPI and /version are open to every authenticated user; inside
    // team-a a missing object is a 404, not a 403.
    for path in ["/version", "/api", "/apis", "/api/v1", "/openapi/v3"] {
        assert_eq!(curl(&f, Some("alice-token"), path).0, 200, "{path}");
    }
    assert_eq!(
        curl(
            &f,
            Some("alice-token"),
            "/api/v1/namespaces/team-a/configmaps/x"
        )
        .0,
        404
    );
}

#[test]
fn a_scoped_watch_replayed_from_a_resource_version_skips_other_namespaces() {
    let (_tmp, f) = start(&["--api-only"]);
    f.kubectl_ok(&["create", "namespace", "team-a"]);
    f.kubectl_ok(&["create", "namespace", "team-b"]);
    let list = curl(
        &f,
        Some("alice-token"),
        "/api/v1/namespaces/team-a/configmaps",
    )
    .1;
    let list: serde_json::Value = serde_json::from_str(&list).expect("a list");
    let rv = list["metadata"]["resourceVersion"]
        .as_str()
        .expect("rv")
        .to_string();
    f.kubectl_ok(&["create", "configmap", "in-b", "-n", "team-b"]);
    f.kubectl_ok(&["create", "configmap", "in-a", "-n", "team-a"]);
    // Watch from before both writes: the replay holds both; team-a's is all alice gets.
    let mut watch = Command::new("curl")
        .args([
            "-sN",
            "--max-time",
            "30",
            "-H",
            "Authorization: Bearer alice-token",
            "--cacert",
        ])
        .arg(f.data_dir.join("tls.crt"))
        .arg(format!(
            "{}/api/v1/namespaces/team-a/configmaps?watch=true&resourceVersion={rv}",
            f.api_url
        ))
        .stdout(Stdio::piped())
        .spawn()
        .expect("curl watch");
    let rx = lines_of(&mut watch);
    let seen = until(&rx, "\"in-a\"");
    let _ = watch.kill();
    let _ = watch.wait();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let event: serde_json::Value = serde_json::from_str(&seen[0]).expect("a watch event");
    assert_eq!(event["type"], "ADDED");
    assert_eq!(event["object"]["metadata"]["namespace"], "team-a");
}

/// Runs `fnmesh args…`, which must exit by itself within 30 s.
fn run_to_exit(args: &[&str], dir: &Path) -> Output {
    let child = Command::new(common::bin())
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn fnmesh");
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(out) => out.expect("fnmesh output"),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("fnmesh {args:?} kept running with a bad token file");
        }
    }
}

#[test]
fn a_bad_token_file_stops_startup_naming_the_line_and_the_rule() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cases = [
        ("ok,a,1\nbroken,b\n", "line 2: expected 3 to 5 columns"),
        (
            "ok,a,1,,\"team-a,Team-B\"\n",
            "line 1: namespace \"Team-B\" (column 5) is not a valid namespace name",
        ),
        (
            "t,a,1\n\nt,b,2\n",
            "line 3: the token is already given on line 1",
        ),
    ];
    for (i, (text, rule)) in cases.into_iter().enumerate() {
        let file = tmp.path().join(format!("tokens-{i}.csv"));
        std::fs::write(&file, text).expect("write the token file");
        let file = file.to_str().expect("utf-8 path");
        for command in ["apiserver", "up"] {
            let dir = tmp.path().join(format!("{command}-{i}"));
            let out = run_to_exit(
                &[
                    command,
                    "--api-addr",
                    "127.0.0.1:0",
                    "--token-auth-file",
                    file,
                ],
                &dir,
            );
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{command} started with {text:?}");
            assert!(
                stderr.contains(&format!("token file {file}, {rule}")),
                "{command}: {stderr}"
            );
            // Nothing was started: not even the data dir (state, kubeconfig) exists.
            assert!(!dir.exists(), "{command}: {} was created", dir.display());
        }
    }
}
