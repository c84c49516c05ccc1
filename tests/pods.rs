//! Replicas are Pods: through the real `fnmesh up`, kubectl and function processes, a
//! Service's replica shows in `kubectl get pods` with its revision's labels, Running
//! and Ready, and goes when the Service scales to zero; `kubectl logs` shows what the
//! function printed (stdout and stderr, `--tail`, `-f`, `deploy/…`, `-l`), a crashed
//! container's output stays readable with `--previous` and its Pod counts the restart;
//! `kubectl delete pod` replaces the replica while requests keep being answered.
// Real processes and real time, measured from outside: no tokio clock to pause.
#![allow(clippy::disallowed_types)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{Fnmesh, eventually, kubectl_bin};
use serde_json::Value;

const WITHIN: Duration = Duration::from_secs(60);

/// A Service running `tests/functions/chatty.py`; `min_scale` keeps its replica up.
fn chatty(name: &str, min_scale: bool) -> String {
    let annotations = if min_scale {
        "    metadata:\n      annotations:\n        autoscaling.knative.dev/min-scale: \"1\"\n"
    } else {
        ""
    };
    format!(
        "apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: {name}
spec:
  template:
{annotations}    spec:
      containers:
        - image: example.com/fn:latest
          command: [\"python3\", \"tests/functions/chatty.py\"]
"
    )
}

fn deploy(f: &Fnmesh, name: &str, min_scale: bool) {
    f.apply(&chatty(name, min_scale));
    eventually(WITHIN, &format!("ksvc {name} ready"), || {
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

/// `GET path` for `service` through the ingress on a fresh connection: (status, body).
fn get(f: &Fnmesh, service: &str, path: &str) -> (u16, String) {
    send(f, "GET", service, path)
}

/// `method path` (no body) for `service` through the ingress on a fresh connection.
fn send(f: &Fnmesh, method: &str, service: &str, path: &str) -> (u16, String) {
    let Ok(mut stream) = TcpStream::connect(&f.ingress) else {
        return (0, String::new());
    };
    stream.set_read_timeout(Some(Duration::from_secs(30))).ok();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {service}.default.example.com\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).is_err() {
        return (0, String::new());
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// The pid the function answered with (`pid=N`).
fn pid_of(body: &str) -> String {
    body.trim()
        .strip_prefix("pid=")
        .unwrap_or_default()
        .to_owned()
}

/// The pods of `service` as `kubectl get pods` prints them: NAME READY STATUS RESTARTS.
fn pod_rows(f: &Fnmesh, service: &str) -> Vec<Vec<String>> {
    let selector = format!("serving.knative.dev/service={service}");
    let out = f.kubectl(&["get", "pods", "-l", &selector, "--no-headers"]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect()
}

/// The one pod of `service` once it is Running and 1/1 ready: its row.
fn running_pod(f: &Fnmesh, service: &str) -> Vec<String> {
    eventually(
        WITHIN,
        &format!("a running, ready pod of {service}"),
        || {
            let rows = pod_rows(f, service);
            match rows.as_slice() {
                [row] if row[1] == "1/1" && row[2] == "Running" => Some(row.clone()),
                _ => None,
            }
        },
    )
}

fn logs(f: &Fnmesh, args: &[&str]) -> String {
    let mut all = vec!["logs"];
    all.extend(args);
    f.kubectl_ok(&all)
}

#[test]
fn a_replica_is_a_ready_pod_with_its_revisions_labels_and_goes_at_scale_to_zero() {
    let f = Fnmesh::start_fast_idle();
    deploy(&f, "hello", false);
    let row = running_pod(&f, "hello");
    let name = &row[0];
    assert!(name.starts_with("hello-00001-deployment-"), "{row:?}");
    assert_eq!(row[3], "0", "restarts: {row:?}");

    let pod = f.get_json(&["get", "pod", name]);
    let labels = &pod["metadata"]["labels"];
    assert_eq!(labels["serving.knative.dev/revision"], "hello-00001");
    assert_eq!(labels["serving.knative.dev/service"], "hello");
    assert_eq!(labels["serving.knative.dev/configuration"], "hello");
    let hash = labels["pod-template-hash"].as_str().unwrap_or_default();
    assert!(
        !hash.is_empty() && name.contains(&format!("-{hash}-")),
        "{name} {hash}"
    );
    let owner = &pod["metadata"]["ownerReferences"][0];
    assert_eq!(
        (owner["kind"].as_str(), owner["name"].as_str()),
        (Some("Deployment"), Some("hello-00001-deployment"))
    );
    assert_eq!(owner["controller"], true);
    assert_eq!(pod["status"]["podIP"], "127.0.0.1");
    let ready = pod["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "Ready")
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(ready["status"], "True");
    let container = &pod["status"]["containerStatuses"][0];
    assert_eq!(
        (container["name"].as_str(), container["ready"].as_bool()),
        (Some("user-container"), Some(true))
    );
    assert!(
        container["state"]["running"]["startedAt"].is_string(),
        "{container}"
    );

    // Its node: the runner, Ready, with the pod bound to it.
    let node = pod["spec"]["nodeName"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let nodes = f.kubectl_ok(&["get", "nodes", "--no-headers"]);
    let node_row: Vec<&str> = nodes
        .lines()
        .find(|l| l.starts_with(&node))
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(node_row.get(1), Some(&"Ready"), "{nodes}");
    let wide = f.kubectl_ok(&["get", "pods", "-o", "wide", "--no-headers"]);
    assert!(wide.contains("127.0.0.1") && wide.contains(&node), "{wide}");

    // Idle: the replica stops and its Pod goes with it.
    eventually(WITHIN, "hello's pod gone after scale to zero", || {
        pod_rows(&f, "hello").is_empty().then_some(())
    });
    assert_eq!(f.revision_replicas("hello-00001").0, 0);
}

#[test]
fn kubectl_logs_shows_what_the_function_printed_and_a_crash_stays_readable() {
    let f = Fnmesh::start();
    deploy(&f, "talk", true);
    let pod = running_pod(&f, "talk")[0].clone();
    assert_eq!(get(&f, "talk", "/?say=first-request").0, 200);

    // Both streams, each in the order the function wrote it. Like a kubelet, the
    // runner reads stdout and stderr from two pipes, so a stdout line and a stderr
    // line written a moment apart may be logged in either order.
    let text = eventually(WITHIN, "the request's line in the log", || {
        let text = logs(&f, &[&pod]);
        text.contains("first-request").then_some(text)
    });
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    let stdout: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| *l != "chatty stderr says hello")
        .collect();
    assert_eq!(stdout.len(), 2, "the stderr line is logged once: {text}");
    assert!(stdout[0].starts_with("chatty starting, pid "), "{text}");
    assert_eq!(stdout[1], "first-request", "{text}");
    assert_eq!(logs(&f, &[&pod, "--tail=1"]), "first-request\n");
    let stamped = logs(&f, &[&pod, "--tail=1", "--timestamps"]);
    let (at, line) = stamped.trim_end().split_once(' ').unwrap_or_default();
    assert!(at.ends_with('Z') && at.contains('T'), "{stamped}");
    assert_eq!(line, "first-request");
    assert!(logs(&f, &["deploy/talk-00001-deployment"]).contains("first-request"));
    assert!(logs(&f, &["-l", "serving.knative.dev/service=talk"]).contains("first-request"));

    // `-f` streams a line printed after it started.
    let mut follower = Command::new(kubectl_bin())
        .arg("--kubeconfig")
        .arg(f.kubeconfig())
        .args(["logs", "-f", &pod])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("kubectl logs -f");
    let (tx, rx) = mpsc::channel();
    let stdout = follower.stdout.take().expect("piped");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let wait_for_line = |wanted: &str| {
        let deadline = Instant::now() + WITHIN;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line == wanted => return,
                Ok(_) => {}
                Err(e) => panic!("kubectl logs -f never showed {wanted:?}: {e}"),
            }
        }
    };
    wait_for_line("first-request");
    assert_eq!(get(&f, "talk", "/?say=printed-while-following").0, 200);
    wait_for_line("printed-while-following");
    let _ = follower.kill();
    let _ = follower.wait();

    // No container has ended yet.
    let out = f.kubectl(&["logs", &pod, "--previous"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "previous terminated container \"user-container\" in pod \"{pod}\" not found"
        )),
        "{err}"
    );
    let out = f.kubectl(&["logs", &pod, "-c", "queue-proxy"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("container queue-proxy is not valid for pod"),
        "{out:?}"
    );

    // A crash: the container restarts in the same Pod, which counts it.
    let (_, body) = get(&f, "talk", "/");
    let crashed_pid = pid_of(&body);
    // A POST: a GET whose replica dies before answering is sent once more (the
    // activator retries idempotent requests a broken connection lost, as nginx does),
    // which would crash the restarted container too.
    send(&f, "POST", "talk", "/crash");
    let row = eventually(WITHIN, "the restarted container ready", || {
        let rows = pod_rows(&f, "talk");
        match rows.as_slice() {
            [row] if row[1] == "1/1" && row[3] == "1" => Some(row.clone()),
            _ => None,
        }
    });
    assert_eq!(row[0], pod, "the same pod");
    assert_eq!(row[2], "Running");
    let previous = logs(&f, &[&pod, "--previous"]);
    assert!(
        previous.contains(&format!("crashing on purpose, pid {crashed_pid}")),
        "{previous}"
    );
    assert!(previous.contains("printed-while-following"), "{previous}");
    let current = logs(&f, &[&pod]);
    assert!(
        current.starts_with("chatty starting, pid ") && !current.contains("crashing"),
        "{current}"
    );
    let status = f.get_json(&["get", "pod", &pod]);
    let last = &status["status"]["containerStatuses"][0]["lastState"]["terminated"];
    assert_eq!(
        (last["exitCode"].as_i64(), last["reason"].as_str()),
        (Some(3), Some("Error")),
        "{last}"
    );

    // Unknown pods are refused the way kube-apiserver refuses them.
    let out = f.kubectl(&["logs", "no-such-pod"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("pods \"no-such-pod\" not found"),
        "{out:?}"
    );
}

#[test]
fn deleting_a_pod_replaces_its_replica_and_requests_keep_succeeding() {
    let f = Fnmesh::start();
    deploy(&f, "again", true);
    let old = running_pod(&f, "again")[0].clone();
    let (status, body) = get(&f, "again", "/");
    assert_eq!(status, 200);
    let old_pid = pid_of(&body);

    // Requests all along, until the replacement answers.
    let done = std::sync::atomic::AtomicBool::new(false);
    let (new, new_pid, statuses) = std::thread::scope(|scope| {
        let load = scope.spawn(|| {
            let mut statuses = Vec::new();
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                statuses.push(get(&f, "again", "/").0);
                std::thread::sleep(Duration::from_millis(20));
            }
            statuses
        });
        f.kubectl_ok(&["delete", "pod", &old]);
        let new = eventually(WITHIN, "a new pod in place of the deleted one", || {
            let rows = pod_rows(&f, "again");
            match rows.as_slice() {
                [row] if row[0] != old && row[1] == "1/1" => Some(row[0].clone()),
                _ => None,
            }
        });
        let new_pid = eventually(WITHIN, "a different process answering", || {
            let (status, body) = get(&f, "again", "/");
            let pid = pid_of(&body);
            (status == 200 && pid != old_pid).then_some(pid)
        });
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        (new, new_pid, load.join().expect("load thread"))
    });
    assert!(!statuses.is_empty());
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert!(new.starts_with("again-00001-deployment-"), "{new}");
    assert_ne!(new_pid, old_pid);
    let replicas = f.kubectl_ok(&[
        "get",
        "deploy",
        "again-00001-deployment",
        "-o",
        "jsonpath={.spec.replicas}",
    ]);
    assert_eq!(replicas, "1");
}
