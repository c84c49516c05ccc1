//! The shared hostile-client corpus (`tests/common/hostile.rs`) against both request
//! paths: smuggling shapes, header floods, oversized heads, slowloris and a client that
//! never reads, each answered with the right 4xx or a closed connection, the gateway
//! serving a normal request after every one.

use std::time::Duration;

use crate::support::*;

#[path = "../../../tests/common/hostile.rs"]
mod corpus;

/// Short, so the slowloris case ends in seconds.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(1);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_clients_get_a_4xx_or_a_closed_connection_on_both_paths() {
    for path in Path::BOTH {
        let table = single_revision_table("hello-00001").await;
        let gateway = RunningGateway::start_configured(table, None, path, |config| {
            config.with_header_read_timeout(HEADER_READ_TIMEOUT)
        })
        .await;
        let target = corpus::Target {
            name: format!("gateway ({path:?} path)"),
            addr: gateway.addr,
            host: "hello.default.example.com".into(),
            path: "/".into(),
            extra: String::new(),
            normal_status: 200,
            body_limit: None,
            header_read_timeout: HEADER_READ_TIMEOUT,
            pid: None,
            refuses_length_with_chunked: true,
        };
        tokio::task::spawn_blocking(move || target.check_all())
            .await
            .unwrap();
        gateway.stop().await;
    }
}
