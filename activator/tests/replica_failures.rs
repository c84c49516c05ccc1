//! Replicas that fail under the activator: one that refuses every connection, and one
//! killed while the activator still holds idle connections to it (what is retried,
//! what fails, and that the dead replica's other sockets fail nothing more).

mod shell_support;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use shell_support::{Activator, Cluster, HOST, KillableReplica, Killed, Upstream, config, within};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connection_is_retried_then_answered_502() {
    let cluster = Cluster::start().await;
    cluster.revision("hello-00001", serde_json::json!({})).await;
    // A loopback port nobody listens on: every connect is refused.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    cluster.publish_replica("hello-00001", closed, "http").await;
    let activator = Activator::start(&cluster, config("activator-refused")).await;
    // Held until the watch has the slice, then refused on every attempt.
    let reply = within(
        "the refused request's answer",
        activator.get("hello-00001", "/"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY, "{reply:?}");
    assert!(reply.body.contains("did not answer"), "{}", reply.body);
    activator.stop().await;
}

/// A cluster whose one replica was killed while the activator held two idle keep-alive
/// connections to it (the replica answers `/pair` only when two requests are in).
async fn with_a_killed_replica(instance: &str) -> (Cluster, Activator, Killed) {
    let cluster = Cluster::start().await;
    cluster.revision("hello-00001", serde_json::json!({})).await;
    let replica = KillableReplica::start().await;
    cluster
        .publish_replica("hello-00001", replica.addr, "http")
        .await;
    let activator = Activator::start(&cluster, config(instance)).await;
    let pair = [
        activator.get("hello-00001", "/pair"),
        activator.get("hello-00001", "/pair"),
    ];
    for reply in within("the pair's answers", futures::future::join_all(pair)).await {
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    }
    (cluster, activator, replica.kill().await)
}

fn post(body: &'static str) -> Request<Full<Bytes>> {
    Request::post("/")
        .header("host", HOST)
        .header("knative-serving-namespace", "default")
        .header("knative-serving-revision", "hello-00001")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_that_reached_a_dead_replica_fails_alone() {
    let (cluster, activator, killed) = with_a_killed_replica("activator-killed-post").await;
    // Sent into one of the dead replica's sockets: it may have run, so it is not resent.
    let first = within("the POST's answer", activator.send(post("once"))).await;
    assert_eq!(first.status, StatusCode::BAD_GATEWAY, "{first:?}");
    // The next request does not find the other stale socket: it waits for a replica
    // that takes connections.
    let next = tokio::spawn(activator.send(post("next")));
    let replacement = Upstream::open().await;
    cluster
        .publish_replica("hello-00001", replacement.addr, "http")
        .await;
    let next = within("the next answer", next).await.unwrap();
    assert_eq!(next.status, StatusCode::OK, "{next:?}");
    assert_eq!(
        killed.requests_after_death(),
        1,
        "only the first reached it"
    );
    activator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_get_that_found_a_dead_replica_is_sent_once_more() {
    let (cluster, activator, killed) = with_a_killed_replica("activator-killed-get").await;
    let reply = tokio::spawn(activator.get("hello-00001", "/"));
    let replacement = Upstream::open().await;
    cluster
        .publish_replica("hello-00001", replacement.addr, "http")
        .await;
    let reply = within("the GET's answer", reply).await.unwrap();
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(replacement.seen().len(), 1);
    assert_eq!(
        killed.requests_after_death(),
        1,
        "the dead replica had it once"
    );
    activator.stop().await;
}
