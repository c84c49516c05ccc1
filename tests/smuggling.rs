//! Request smuggling through `fnmesh up`, checked the way a user would: a function that
//! records the bytes it receives (examples/record_bytes.py) behind the real gateway,
//! and requests that once slipped past it.

mod common;

use std::time::Duration;

use common::{Fnmesh, eventually, http_get, raw_http, service_yaml_running};
use serde_json::Value;

const HOST: &str = "recorder.default.example.com";

/// A request hidden in a body: it must only ever reach the function as body bytes.
const SMUGGLED: &str = "GET /smuggled HTTP/1.1\r\nHost: recorder.default.example.com\r\nKnative-Serving-Revision: evil\r\n\r\n";

fn recorded(file: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

/// The values of header `name` in a recorded request.
fn values<'a>(request: &'a Value, name: &str) -> Vec<&'a str> {
    request["headers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h[0].as_str().unwrap().eq_ignore_ascii_case(name))
        .map(|h| h[1].as_str().unwrap())
        .collect()
}

#[test]
fn connection_cannot_strip_framing_or_host_on_the_way_to_a_function() {
    let f = Fnmesh::start();
    let record = f.data_dir.join("recorded.jsonl");
    let env = format!(
        "          env:\n            - name: RECORD_FILE\n              value: {}\n",
        record.display()
    );
    f.apply(&service_yaml_running(
        "recorder",
        "examples/record_bytes.py",
        &env,
    ));
    eventually(Duration::from_secs(60), "the recorder serves", || {
        (http_get(&f.ingress, HOST).0 == 200).then_some(())
    });
    let before = recorded(&record).len();
    let ingress = format!("http://{}", f.ingress);

    // The body is itself a request; `Connection` names Content-Length.
    let smuggle = format!(
        "POST / HTTP/1.1\r\nHost: {HOST}\r\nConnection: content-length, close\r\nContent-Length: {}\r\n\r\n{SMUGGLED}",
        SMUGGLED.len()
    );
    let (status, _) = raw_http(&ingress, smuggle.as_bytes());
    assert_eq!(status, 200);
    // `Connection` names Host.
    let (status, _) = raw_http(
        &ingress,
        format!("GET /a HTTP/1.1\r\nHost: {HOST}\r\nConnection: host, close\r\n\r\n").as_bytes(),
    );
    assert_eq!(status, 200);

    let seen = recorded(&record).split_off(before);
    let lines: Vec<String> = seen
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["method"].as_str().unwrap(),
                r["target"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(lines, ["POST /", "GET /a"], "the function saw {seen:#?}");
    let post = &seen[0];
    assert_eq!(post["body"], SMUGGLED, "the body arrived whole, as a body");
    assert_eq!(values(post, "content-length"), [SMUGGLED.len().to_string()]);
    for request in &seen {
        assert_eq!(values(request, "host"), [HOST], "{request:#}");
        assert_eq!(
            values(request, "knative-serving-revision"),
            ["recorder-00001"]
        );
    }
}
