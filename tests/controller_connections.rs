//! The controller's connections to the API stay bounded by its watches and its workers,
//! not by how many objects it reconciles at once (issue 9: unbounded reconciles held
//! one HTTP/1 connection each, ~700 at 200 Services and ~3,000 at 1,000, and the API
//! spent ~36 KiB on each).
//!
//! The burst is made deterministic: the Services exist before the controller starts,
//! so its first list hands every reconciler all of them at once.

mod common;

use std::time::Duration;

use common::eventually;
use common::processes::connections_to;
use common::split::Split;

const SERVICES: usize = 120;

/// Long-lived watches `fnmesh controller` holds (each its own connection over HTTP/1):
/// Service 3, Configuration 2, Revision 3, Route 5 (with `config-domain` and
/// `config-network`), revision lifecycle 4 (with `config-gc`), endpoints 4.
const WATCHES: usize = 21;
/// Reconcilers run as kube-runtime Controllers, each with a bounded number of workers.
const CONTROLLERS: usize = 4;
/// Knative's default of two workers per reconciler (`controller.DefaultThreadsPerController`).
const WORKERS: usize = 2;
/// One request at a time each: the Lease elector, the Event writer, the routing-state
/// labeler and GC, the EndpointSlice the controller publishes for its xDS port; plus a
/// watch being re-established while its old connection has not closed yet.
const OTHERS: usize = 8;

/// No runner runs, so nothing starts: the reconcilers only write objects.
fn manifest() -> String {
    (0..SERVICES)
        .map(|i| {
            format!(
                "apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata:\n  name: c{i}\nspec:\n  template:\n    spec:\n      containers:\n        - image: example.com/hello\n"
            )
        })
        .collect::<Vec<_>>()
        .join("---\n")
}

/// How many of `kind` the API holds, or `with_status` of them that have a status.
fn count(cluster: &Split, kind: &str, with_status: bool) -> usize {
    let list = cluster.api.get_json(&["get", kind]);
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|o| !with_status || o["status"]["observedGeneration"].is_number())
        .count()
}

#[test]
fn a_burst_of_services_does_not_open_a_connection_per_reconcile() {
    let mut cluster = Split::api_only();
    cluster.api.apply(&manifest());
    let api_port: u16 = cluster
        .api
        .api_url
        .rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse().ok())
        .expect("the API's port from its banner");

    cluster.start_component("controller");
    let controller = cluster.pid("controller");
    let bound = WATCHES + CONTROLLERS * WORKERS + OTHERS;
    let mut most = 0;
    // Every Service reconciled down to its Revision's Deployment, and every Route's
    // status written: the whole burst went through all four reconcilers.
    eventually(Duration::from_secs(120), "every Service reconciled", || {
        most = most.max(connections_to(controller, api_port));
        (count(&cluster, "deployments", false) == SERVICES
            && count(&cluster, "routes.serving.knative.dev", true) == SERVICES)
            .then_some(())
    });
    most = most.max(connections_to(controller, api_port));
    eprintln!("the controller held at most {most} connections to the API (bound {bound})");
    assert!(
        most <= bound,
        "the controller held {most} connections to the API during a burst of {SERVICES} \
         Services; watches and workers allow {bound}"
    );
    assert!(
        most >= WATCHES,
        "counted {most} connections: fewer than the watches"
    );
}
