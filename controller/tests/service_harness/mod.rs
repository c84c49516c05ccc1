//! Shared by the serving reconciler tests: the embedded API server with the Service,
//! Configuration and Revision reconcilers running, plus polling helpers. Nothing runs
//! replicas: tests play the runner by writing a Deployment's `/status`.
#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use controller::{Context, RoutingTable, configuration, revision, service};
use crds::{Condition, Revision, Service};
use k8s_openapi::api::apps::v1::Deployment;
use kube::ResourceExt;
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde_json::{Value, json};

pub struct Harness {
    pub client: kube::Client,
    ctx: Arc<Context>,
    _dir: tempfile::TempDir,
}

pub async fn start() -> Harness {
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
    let ctx = Arc::new(Context {
        client: client.clone(),
        routing: RoutingTable::new(),
    });
    tokio::spawn(service::run(ctx.clone()));
    tokio::spawn(configuration::run(ctx.clone()));
    tokio::spawn(revision::run(ctx.clone()));
    Harness {
        client,
        ctx,
        _dir: dir,
    }
}

/// Polls `check` until it returns `Some`, failing after a generous deadline.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
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
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

impl Harness {
    /// The reconcilers' context, to start more of them (the Route reconciler).
    pub fn context(&self) -> Arc<Context> {
        self.ctx.clone()
    }

    pub fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
    {
        Api::namespaced(self.client.clone(), "default")
    }

    pub async fn apply_service(&self, manifest: Value) {
        self.api::<Service>()
            .patch(
                manifest["metadata"]["name"].as_str().unwrap(),
                &PatchParams::apply("test").force(),
                &Patch::Apply(&manifest),
            )
            .await
            .expect("apply service");
    }

    pub async fn get<K>(&self, name: &str) -> Option<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
    {
        self.api::<K>().get_opt(name).await.unwrap()
    }

    /// Plays the runner: writes a Deployment status.
    pub async fn deployment_status(&self, name: &str, status: Value) {
        let d = eventually(&format!("deployment {name}"), || {
            self.get::<Deployment>(name)
        })
        .await;
        let body = json!({"status": status_with_generation(status, d.metadata.generation)});
        self.api::<Deployment>()
            .patch_status(name, &PatchParams::default(), &Patch::Merge(&body))
            .await
            .expect("patch deployment status");
    }

    pub async fn revision_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .api::<Revision>()
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .iter()
            .map(ResourceExt::name_any)
            .collect();
        names.sort();
        names
    }
}

fn status_with_generation(mut status: Value, generation: Option<i64>) -> Value {
    status["observedGeneration"] = json!(generation.unwrap_or(1));
    status
}

pub fn condition<'a>(conds: Option<&'a Vec<Condition>>, t: &str) -> Option<&'a Condition> {
    conds?.iter().find(|c| c.type_ == t)
}

pub fn env_of(d: &Deployment) -> std::collections::BTreeMap<String, String> {
    d.spec.template.spec.as_ref().unwrap().containers[0]
        .env
        .iter()
        .flatten()
        .map(|e| (e.name.clone(), e.value.clone().unwrap_or_default()))
        .collect()
}
