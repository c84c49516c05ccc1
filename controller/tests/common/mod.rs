//! Shared by every integration test that runs reconcilers against the embedded API
//! server: starting it with a client and a reconciler `Context`, namespaced `Api`s, and
//! polling until the reconcilers have caught up. The harnesses add which reconcilers run.

// Each test binary uses its own subset.
#![allow(dead_code)]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use controller::{Context, RoutingTable};
use kube::api::Api;

/// An embedded API server on a temporary directory, with what reconcilers need to use it.
pub(crate) struct Cluster {
    pub(crate) client: kube::Client,
    /// One routing table for all reconcilers started with it, as in `fnmesh up`.
    pub(crate) ctx: Arc<Context>,
    addr: std::net::SocketAddr,
    /// The server's storage: removed when the test is done with the cluster.
    _dir: tempfile::TempDir,
}

impl Cluster {
    pub(crate) async fn start() -> Self {
        // `RUST_LOG=controller=debug` shows what the reconcilers did when a test fails.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let dir = tempfile::tempdir().unwrap();
        let addr = apiserver::ApiServer::start_ephemeral(dir.path())
            .await
            .unwrap();
        let config = kube::Config::new(format!("http://{addr}").parse().unwrap());
        let client = kube::Client::try_from(config).unwrap();
        let ctx = Arc::new(Context::new(
            client.clone(),
            RoutingTable::new(),
            controller::Leadership::always(),
        ));
        Self {
            client,
            ctx,
            addr,
            _dir: dir,
        }
    }

    /// Where the API server listens, for clients of a test's own.
    pub(crate) fn api_addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// The reconcilers' context, to start them (or more of them mid-test).
    pub(crate) fn context(&self) -> Arc<Context> {
        Arc::clone(&self.ctx)
    }

    /// The table the reconcilers publish to.
    pub(crate) fn routing(&self) -> &Arc<RoutingTable> {
        &self.ctx.routing
    }

    /// Objects of kind `K` in the `default` namespace, where the tests put everything.
    pub(crate) fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        K::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), "default")
    }
}

/// Polls `check` until it returns `Some`, failing after a deadline generous enough for a
/// loaded CI machine; a short interval keeps the common case fast.
pub(crate) async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
