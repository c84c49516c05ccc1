//! The activator's shell against the embedded API server: Revisions and EndpointSlices
//! in, held requests proxied to a loopback replica (or refused with the right status),
//! cold and periodic reports sent to a real stat stream, Prometheus metrics kept, and
//! the activator's own EndpointSlice published.

mod shell_support;

use std::time::Duration;

use activator::ActivatorConfig;
use bytes::Bytes;
use crds::Revision;
use http::{Request, StatusCode, Version};
use http_body_util::{BodyExt, Full};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, DeleteParams};
use shell_support::{Activator, Cluster, HOST, Upstream, config, eventually, within};
use stat_stream::{StatReport, StatSource};
use tokio::time::Instant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cold_request_is_held_until_a_replica_is_published() {
    let cluster = Cluster::start().await;
    cluster.revision("hello-00001", serde_json::json!({})).await;
    let mut activator = Activator::start(&cluster, config("activator-cold")).await;

    let request = Request::get("/greet?who=you")
        .header("host", HOST)
        .header("knative-serving-namespace", "default")
        .header("knative-serving-revision", "hello-00001")
        // Hop-by-hop: neither field may reach the replica.
        .header("connection", "x-per-hop")
        .header("x-per-hop", "1")
        .header("x-end-to-end", "2")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let reply = tokio::spawn(activator.send(request));
    let cold = activator.next_cold().await;
    assert_eq!(cold, ("default".into(), "hello-00001".into(), 1));

    let upstream = Upstream::open().await;
    cluster
        .publish_replica("hello-00001", upstream.addr, "http")
        .await;
    let reply = within("the held request's answer", reply).await.unwrap();
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.body, "hello");

    let seen = upstream.seen();
    assert_eq!(seen.len(), 1);
    let headers = &seen[0].headers;
    assert_eq!(headers["host"], HOST);
    assert_eq!(headers["k-proxy-request"], "activator");
    assert_eq!(headers["x-end-to-end"], "2");
    assert!(!headers.contains_key("x-per-hop"), "{headers:?}");
    activator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn container_concurrency_one_lets_one_request_at_a_time_through() {
    let cluster = Cluster::start().await;
    cluster
        .revision(
            "hello-00001",
            serde_json::json!({"containerConcurrency": 1}),
        )
        .await;
    let upstream = Upstream::gated().await;
    cluster
        .publish_replica("hello-00001", upstream.addr, "http")
        .await;
    let activator = Activator::start(&cluster, config("activator-cc1")).await;

    let replies: Vec<_> = (0..5)
        .map(|_| tokio::spawn(activator.get("hello-00001", "/")))
        .collect();
    let mut load = upstream.load.clone();
    for answered in 0..5 {
        // One request reaches the replica; the others wait in the activator.
        within(
            "the next request at the replica",
            load.wait_for(|l| l.answered == answered && l.in_flight == 1),
        )
        .await
        .unwrap();
        upstream.release();
    }
    for reply in replies {
        let reply = within("every answer", reply).await.unwrap();
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    }
    assert_eq!(upstream.seen().len(), 5);
    assert_eq!(upstream.most_in_flight(), 1);
    activator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_slot_is_held_until_the_response_body_ends() {
    let cluster = Cluster::start().await;
    cluster
        .revision(
            "hello-00001",
            serde_json::json!({"containerConcurrency": 1}),
        )
        .await;
    let upstream = Upstream::streaming().await;
    cluster
        .publish_replica("hello-00001", upstream.addr, "http")
        .await;
    let activator = Activator::start(
        &cluster,
        ActivatorConfig {
            queue_capacity: 1,
            ..config("activator-body")
        },
    )
    .await;

    let first = within("the first head", activator.get_head("hello-00001")).await;
    assert_eq!(first.status(), StatusCode::OK);
    // The first body is still open, so its slot is taken: of two more requests one
    // queues and the other finds the queue (of 1) full.
    let mut second = tokio::spawn(activator.get("hello-00001", "/"));
    let mut third = tokio::spawn(activator.get("hello-00001", "/"));
    let (refused, queued) = within("one refusal", async {
        tokio::select! {
            r = &mut second => (r.unwrap(), third),
            r = &mut third => (r.unwrap(), second),
        }
    })
    .await;
    assert_eq!(
        refused.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{refused:?}"
    );

    upstream.release();
    let body = within("the first body", first.into_body().collect())
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(&body[..], b"hello");
    upstream.release();
    let reply = within("the queued request", queued).await.unwrap();
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, "hello")
    );
    assert_eq!(upstream.seen().len(), 2);
    activator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_still_streaming_at_the_timeout_is_cut_and_its_slot_freed() {
    let cluster = Cluster::start().await;
    cluster
        .revision(
            "hello-00001",
            serde_json::json!({"containerConcurrency": 1, "timeoutSeconds": 1}),
        )
        .await;
    let upstream = Upstream::streaming().await;
    cluster
        .publish_replica("hello-00001", upstream.addr, "http")
        .await;
    let activator = Activator::start(&cluster, config("activator-cut")).await;

    let first = within("the first head", activator.get_head("hello-00001")).await;
    assert_eq!(first.status(), StatusCode::OK);
    let cut = within("the cut", first.into_body().collect()).await;
    assert!(
        cut.is_err(),
        "the body should end in an error at the timeout"
    );
    // The slot came back with the cut: the next request reaches the replica.
    let second = within("the second head", activator.get_head("hello-00001")).await;
    assert_eq!(second.status(), StatusCode::OK);
    drop(second);
    activator.stop().await;
}

// Single-threaded on purpose: the activator then runs a request from its cold signal
// to its place in the queue without the test running in between, so when the test
// has seen a request's signal, that request is queued.
#[tokio::test]
async fn a_full_queue_refuses_with_503_and_retry_after() {
    let cluster = Cluster::start().await;
    cluster.revision("hello-00001", serde_json::json!({})).await;
    let mut activator = Activator::start(
        &cluster,
        ActivatorConfig {
            queue_capacity: 2,
            ..config("activator-full")
        },
    )
    .await;

    let held: Vec<_> = (0..2)
        .map(|_| tokio::spawn(activator.get("hello-00001", "/")))
        .collect();
    for _ in 0..2 {
        activator.next_cold().await;
    }
    for _ in 0..2 {
        let reply = within("the overflow's answer", activator.get("hello-00001", "/")).await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{reply:?}");
        assert_eq!(reply.headers["retry-after"], "1");
        assert!(reply.body.contains("queue"), "{}", reply.body);
        assert!(reply.body.contains("full"), "{}", reply.body);
        // Two waiting plus the newcomer: the refused ones did not join.
        let (_, _, waiting) = activator.next_cold().await;
        assert_eq!(waiting, 3);
    }
    for h in &held {
        assert!(!h.is_finished(), "a queued request was answered");
        // Clients giving up leave the queue, so shutdown need not wait for them.
        h.abort();
    }
    activator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revision_that_fails_to_start_fails_its_waiting_requests_with_502() {
    let cluster = Cluster::start().await;
    cluster.revision("hello-00001", serde_json::json!({})).await;
    let mut activator = Activator::start(&cluster, config("activator-failed")).await;

    let held: Vec<_> = (0..2)
        .map(|_| tokio::spawn(activator.get("hello-00001", "/")))
        .collect();
    for _ in 0..2 {
        activator.next_cold().await;
    }
    cluster
        .fail_revision(
            "hello-00001",
            "ContainerHealthy",
            "ExitCode1",
            "container user-container exited with code 1: no such module",
        )
        .await;
    // Well inside the revision's 300 s timeout.
    for reply in held {
        let reply = within("the failed revision's answer", reply).await.unwrap();
        assert_eq!(reply.status, StatusCode::BAD_GATEWAY, "{reply:?}");
        assert!(reply.body.contains("failed to start"), "{}", reply.body);
        assert!(reply.body.contains("ExitCode1"), "{}", reply.body);
        assert!(reply.body.contains("no such module"), "{}", reply.body);
    }
    // While it stays failed (and without replicas), newcomers are told at once.
    let reply = within("a newcomer's answer", activator.get("hello-00001", "/")).await;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY, "{reply:?}");
    assert!(reply.body.contains("ExitCode1"), "{}", reply.body);
    activator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_replica_within_the_timeout_is_504() {
    let cluster = Cluster::start().await;
    cluster
        .revision("hello-00001", serde_json::json!({"timeoutSeconds": 1}))
        .await;
    let activator = Activator::start(&cluster, config("activator-timeout")).await;
    let reply = within("the timeout", activator.get("hello-00001", "/")).await;
    assert_eq!(reply.status, StatusCode::GATEWAY_TIMEOUT, "{reply:?}");
    assert!(reply.body.contains("timeout (1s)"), "{}", reply.body);
    activator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_h2c_revision_is_spoken_to_over_http2_with_the_host_as_authority() {
    let cluster = Cluster::start().await;
    let h2c_port = serde_json::json!({"containers": [{
        "image": "example.com/hello",
        "command": ["hello"],
        "ports": [{"name": "h2c", "containerPort": 8080}],
    }]});
    cluster.revision("hello-00001", h2c_port).await;
    let upstream = Upstream::open().await;
    cluster
        .publish_replica("hello-00001", upstream.addr, "h2c")
        .await;
    let activator = Activator::start(&cluster, config("activator-h2c")).await;
    let reply = within("the h2c answer", activator.get("hello-00001", "/")).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    let seen = upstream.seen();
    assert_eq!(seen[0].version, Version::HTTP_2);
    assert_eq!(seen[0].authority.as_deref(), Some(HOST));
    assert!(!seen[0].headers.contains_key("host"));
    assert_eq!(seen[0].headers["k-proxy-request"], "activator");
    activator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_bad_requests_and_unknown_revisions_are_answered_directly() {
    let cluster = Cluster::start().await;
    cluster.revision("hello-00001", serde_json::json!({})).await;
    let mut activator = Activator::start(
        &cluster,
        ActivatorConfig {
            report_period: Duration::from_millis(50),
            ..config("activator-direct")
        },
    )
    .await;

    let probe = Request::get("/")
        .header("k-network-probe", "probe")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let reply = within("the probe", activator.send(probe)).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, "activator")
    );

    let no_revision = Request::get("/")
        .header("knative-serving-namespace", "default")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let reply = within("the bad request", activator.send(no_revision)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        reply.body.contains("knative-serving-revision"),
        "{}",
        reply.body
    );

    let reply = within("the unknown revision", activator.get("nope-00001", "/")).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(reply.body.contains("default/nope-00001"), "{}", reply.body);

    // Neither reported cold nor counted: reports arrive in the order they were sent,
    // so a later request's cold report comes first, and once a periodic report has
    // counted that one, earlier requests would have been counted too.
    let held = tokio::spawn(activator.get("hello-00001", "/"));
    let cold = activator.next_cold().await;
    assert_eq!(cold, ("default".into(), "hello-00001".into(), 1));
    loop {
        let report = activator.next_periodic().await;
        let revisions: Vec<&str> = report.stats.iter().map(|s| s.revision.as_str()).collect();
        assert!(revisions.iter().all(|r| *r == "hello-00001"), "{report:?}");
        if !revisions.is_empty() {
            break;
        }
    }
    held.abort();
    activator.stop().await;
}

/// A short period, so the tests see several reports within a second.
const REPORT_PERIOD: Duration = Duration::from_millis(200);

/// The concurrency `report` gives `revision`, if it has a stat for it.
fn concurrency_of(report: &StatReport, revision: &str) -> Option<f64> {
    report
        .stats
        .iter()
        .find(|s| s.revision == revision)
        .map(|s| s.concurrency)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_request_counts_as_concurrency_until_its_response_ends() {
    let cluster = Cluster::start().await;
    cluster.revision("hello-00001", serde_json::json!({})).await;
    let mut activator = Activator::start(
        &cluster,
        ActivatorConfig {
            report_period: REPORT_PERIOD,
            ..config("activator-counts")
        },
    )
    .await;

    let sent = Instant::now();
    let reply = tokio::spawn(activator.get("hello-00001", "/"));
    activator.next_cold().await;
    // Held with no replica, it is one request in flight for the autoscaler: demand
    // the revision must scale up for.
    let mut in_flight_seconds = 0.0;
    loop {
        let report = activator.next_periodic().await;
        assert_eq!(report.source, i32::from(StatSource::Activator));
        assert_eq!(report.reporter, "activator-counts");
        let concurrency = concurrency_of(&report, "hello-00001").unwrap_or(0.0);
        in_flight_seconds += concurrency * REPORT_PERIOD.as_secs_f64();
        if concurrency > 0.95 {
            break;
        }
    }

    let upstream = Upstream::open().await;
    cluster
        .publish_replica("hello-00001", upstream.addr, "http")
        .await;
    let reply = within("the held request's answer", reply).await.unwrap();
    let held_for = sent.elapsed().as_secs_f64();
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    // Reported until a period in which it was no longer in flight at all.
    loop {
        let report = activator.next_periodic().await;
        let Some(concurrency) = concurrency_of(&report, "hello-00001") else {
            break;
        };
        in_flight_seconds += concurrency * REPORT_PERIOD.as_secs_f64();
    }
    // The averages add up to the time it was held: within a period (the first one is
    // short, from the counter's creation, but weighs as a whole one) and some jitter.
    let slack = REPORT_PERIOD.as_secs_f64() + 0.25 * held_for;
    assert!(
        (in_flight_seconds - held_for).abs() <= slack,
        "reported {in_flight_seconds:.3} s in flight for a request held {held_for:.3} s"
    );
    activator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cold_request_records_one_cold_start_and_series_go_with_the_revision() {
    let cluster = Cluster::start().await;
    cluster.revision("hello-00001", serde_json::json!({})).await;
    let mut activator = Activator::start(&cluster, config("activator-cold-start")).await;
    const COLD_STARTS: &str = "fnmesh_activator_cold_start_seconds";
    const REQUESTS: &str = "fnmesh_activator_requests_total";

    let reply = tokio::spawn(activator.get("hello-00001", "/"));
    activator.next_cold().await;
    let upstream = Upstream::open().await;
    cluster
        .publish_replica("hello-00001", upstream.addr, "http")
        .await;
    let reply = within("the held request's answer", reply).await.unwrap();
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(activator.metric(COLD_STARTS, "hello-00001", &[]), Some(1.0));

    // The replica is known now: the next request did not wait for one.
    let reply = within("the warm answer", activator.get("hello-00001", "/")).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(activator.metric(COLD_STARTS, "hello-00001", &[]), Some(1.0));
    let ok = [("code_class", "2xx")];
    assert_eq!(activator.metric(REQUESTS, "hello-00001", &ok), Some(2.0));

    Api::<Revision>::namespaced(cluster.client.clone(), "default")
        .delete("hello-00001", &DeleteParams::default())
        .await
        .unwrap();
    eventually("the revision's series to go", || async {
        let families = [COLD_STARTS, REQUESTS, "fnmesh_activator_queue_depth"];
        families
            .iter()
            .all(|f| activator.metric(f, "hello-00001", &[]).is_none())
            .then_some(())
    })
    .await;
    activator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_depth_gauge_counts_waiting_requests_and_returns_to_zero() {
    let cluster = Cluster::start().await;
    cluster.revision("hello-00001", serde_json::json!({})).await;
    let mut activator = Activator::start(&cluster, config("activator-depth")).await;
    const DEPTH: &str = "fnmesh_activator_queue_depth";

    let held: Vec<_> = (0..2)
        .map(|_| tokio::spawn(activator.get("hello-00001", "/")))
        .collect();
    for _ in 0..2 {
        activator.next_cold().await;
    }
    // A cold report is sent just before its request joins the queue.
    eventually("two requests waiting", || async {
        (activator.metric(DEPTH, "hello-00001", &[]) == Some(2.0)).then_some(())
    })
    .await;

    let upstream = Upstream::open().await;
    cluster
        .publish_replica("hello-00001", upstream.addr, "http")
        .await;
    for reply in held {
        let reply = within("a held request's answer", reply).await.unwrap();
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    }
    assert_eq!(activator.metric(DEPTH, "hello-00001", &[]), Some(0.0));
    activator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_activator_publishes_its_endpoint_slice_and_withdraws_it_on_shutdown() {
    let cluster = Cluster::start().await;
    let activator = Activator::start(&cluster, config("activator-1234")).await;
    let slices: Api<EndpointSlice> = Api::namespaced(cluster.client.clone(), "knative-serving");
    // The watch says when it is there.
    let slice = within(
        "the activator's EndpointSlice",
        kube::runtime::wait::await_condition(
            slices.clone(),
            "activator-1234",
            |s: Option<&EndpointSlice>| s.is_some(),
        ),
    )
    .await
    .unwrap()
    .expect("the slice that met the condition");
    let labels = slice.metadata.labels.clone().unwrap_or_default();
    assert_eq!(labels["kubernetes.io/service-name"], "activator-service");
    assert_eq!(
        labels["endpointslice.kubernetes.io/managed-by"],
        "fnmesh-activator"
    );
    assert_eq!(slice.address_type, "IPv4");
    let endpoint = &slice.endpoints.as_ref().unwrap()[0];
    assert_eq!(endpoint.addresses, ["127.0.0.1"]);
    assert_eq!(endpoint.conditions.as_ref().unwrap().ready, Some(true));
    let port = &slice.ports.as_ref().unwrap()[0];
    assert_eq!(port.name.as_deref(), Some("http"));
    assert_eq!(port.port, Some(i32::from(activator.addr.port())));

    activator.stop().await;
    assert!(slices.get_opt("activator-1234").await.unwrap().is_none());
}

#[test]
fn the_default_config_is_knatives() {
    let config = ActivatorConfig::default();
    assert_eq!(config.queue_capacity, activator::DEFAULT_QUEUE_CAPACITY);
    assert_eq!(config.namespace, "knative-serving");
}
