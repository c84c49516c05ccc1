//! Two replicas of one component on one host, with no `--instance`: two `fnmesh
//! activator` processes against one `fnmesh apiserver` publish two EndpointSlices, both
//! listed; one killed with SIGKILL and started again replaces its own slice (same host
//! and port, same name), and one on an ephemeral port, whose restart gets another port,
//! deletes the slice its killed run left.
// Processes and kubectl, driven synchronously: there is no tokio clock to pause.
#![allow(clippy::disallowed_types)]

mod common;

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{Fnmesh, bin, eventually, free_port, read_banner};

const WAIT: Duration = Duration::from_secs(30);

/// `fnmesh activator` listening on `http_addr`, its instance left to the default.
fn activator(api: &Fnmesh, http_addr: &str) -> Child {
    let mut child = Command::new(bin())
        .arg("activator")
        .arg("--kubeconfig")
        .arg(api.kubeconfig())
        .args(["--http-addr", http_addr, "--metrics-addr", "127.0.0.1:0"])
        .env_remove("POD_NAME")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn fnmesh activator");
    read_banner(&mut child, "fnmesh activator");
    child
}

fn kill9(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// The activator's slices: name → the port they list.
fn slices(api: &Fnmesh) -> BTreeMap<String, i64> {
    let list = api.get_json(&[
        "get",
        "endpointslices",
        "-n",
        "knative-serving",
        "-l",
        "kubernetes.io/service-name=activator-service",
    ]);
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            (
                s["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                s["ports"][0]["port"].as_i64().unwrap_or_default(),
            )
        })
        .collect()
}

fn slices_are(api: &Fnmesh, ports: &[u16]) -> BTreeMap<String, i64> {
    let mut want: Vec<i64> = ports.iter().map(|p| i64::from(*p)).collect();
    want.sort_unstable();
    eventually(
        WAIT,
        &format!("activator slices on ports {ports:?}"),
        || {
            let slices = slices(api);
            let mut listed: Vec<i64> = slices.values().copied().collect();
            listed.sort_unstable();
            (listed == want).then_some(slices)
        },
    )
}

#[test]
fn two_activators_on_one_host_publish_two_slices_and_a_restart_replaces_its_own() {
    let api = Fnmesh::start_api_only();
    let (p1, p2) = (free_port(), free_port());
    let mut first = activator(&api, &format!("127.0.0.1:{p1}"));
    let mut second = activator(&api, &format!("127.0.0.1:{p2}"));
    let both = slices_are(&api, &[p1, p2]);
    assert_eq!(both.len(), 2, "{both:?}");

    // SIGKILL: nothing withdraws the slice; the restart on the same port takes it over.
    kill9(&mut first);
    let mut first = activator(&api, &format!("127.0.0.1:{p1}"));
    let after = slices_are(&api, &[p1, p2]);
    assert_eq!(after, both, "the restart did not replace its own slice");

    kill9(&mut first);
    kill9(&mut second);
}

#[test]
fn a_restart_on_an_ephemeral_port_deletes_the_slice_its_killed_run_left() {
    let api = Fnmesh::start_api_only();
    let fixed = free_port();
    let mut stays = activator(&api, &format!("127.0.0.1:{fixed}"));
    let mut killed = activator(&api, "127.0.0.1:0");
    let before = eventually(WAIT, "two activator slices", || {
        let slices = slices(&api);
        (slices.len() == 2).then_some(slices)
    });
    let old_port = *before.values().find(|p| **p != i64::from(fixed)).unwrap();

    kill9(&mut killed);
    let mut restarted = activator(&api, "127.0.0.1:0");
    let after = eventually(WAIT, "the dead run's slice gone", || {
        let slices = slices(&api);
        (slices.len() == 2 && !slices.values().any(|p| *p == old_port)).then_some(slices)
    });
    assert!(
        after.values().any(|p| *p == i64::from(fixed)),
        "the live replica's slice was deleted: {after:?}"
    );

    kill9(&mut stays);
    kill9(&mut restarted);
}
