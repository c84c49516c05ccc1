//! The runner against the embedded API server with real processes:
//! Deployments in, processes, `/status` and EndpointSlices out.

#[path = "support/fixture.rs"]
mod fixture;
#[path = "support/kube.rs"]
mod kube_support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use fixture::{fixture_script, get, pids_in, wait_dead};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, DeleteParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube_support::{
    Cluster, Runner, cluster, condition, create, create_deployment, create_service, deployment,
    eventually, get_deployment, ports, ready_and_slices, service_for, slices, start_runner,
    try_get,
};
use serde_json::json;

fn fixture_container(pid_dir: &std::path::Path) -> serde_json::Value {
    json!({
        "name": "user-container",
        "image": "ignored",
        "command": ["python3", fixture_script().display().to_string()],
        "ports": [{"name": "http1", "containerPort": 8080}],
        "env": [
            {"name": "GREETING", "value": "hello"},
            {"name": "PORT", "value": "8080"},
            {"name": "FIXTURE_PID_DIR", "value": pid_dir.display().to_string()},
            {"name": "FROM_CM", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "colour"}}},
        ],
        "readinessProbe": {"httpGet": {"path": "/", "port": 0}, "periodSeconds": 1},
    })
}

async fn create_config_map(client: &kube::Client) {
    let api: Api<ConfigMap> = Api::default_namespaced(client.clone());
    let cm = ConfigMap {
        metadata: ObjectMeta {
            name: Some("settings".into()),
            ..ObjectMeta::default()
        },
        data: Some(BTreeMap::from([("colour".into(), "blue".into())])),
        ..ConfigMap::default()
    };
    api.create(&PostParams::default(), &cm).await.unwrap();
}

async fn scale(client: &kube::Client, name: &str, replicas: i32) {
    let api: Api<Deployment> = Api::default_namespaced(client.clone());
    api.patch_scale(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": replicas}})),
    )
    .await
    .unwrap();
}

/// A cluster and a runner with Deployment `name` (the fixture container, its pid files
/// in the returned directory) up: one ready replica, one EndpointSlice.
async fn one_ready_replica(name: &str) -> (Cluster, tempfile::TempDir, Runner) {
    let c = cluster().await;
    let pid_dir = tempfile::tempdir().unwrap();
    create_config_map(&c.client).await;
    let runner = start_runner(&c.client);
    create(
        &c.client,
        &deployment(name, 1, fixture_container(pid_dir.path())),
    )
    .await;
    eventually("1 ready replica and 1 slice", || async {
        (ready_and_slices(&c.client, name).await? == (1, 1)).then_some(())
    })
    .await;
    (c, pid_dir, runner)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_runs_scales_and_is_deleted() {
    let (c, pid_dir, runner) = one_ready_replica("hello").await;
    let d = get_deployment(&c.client, "hello").await;
    assert_eq!(condition(&d, "Available").unwrap().0, "True");
    assert!(condition(&d, "ReplicaFailure").is_none());
    let status = d.status.as_ref().unwrap();
    assert_eq!(
        (status.available_replicas, status.updated_replicas),
        (Some(1), Some(1))
    );

    let slice = &slices(&c.client, "hello").await[0];
    let port = ports(std::slice::from_ref(slice))[0];
    assert_eq!(
        slice.metadata.name.as_deref(),
        Some(format!("hello-{port}").as_str())
    );
    let labels = slice.metadata.labels.as_ref().unwrap();
    assert_eq!(labels["copied"], "yes", "the Service's labels");
    assert_eq!(labels["kubernetes.io/service-name"], "hello");
    assert_eq!(
        labels["endpointslice.kubernetes.io/managed-by"],
        "runner.fnmesh.dev"
    );
    assert_eq!(
        slice.ports.as_ref().unwrap()[0].name.as_deref(),
        Some("http")
    );
    let owner = &slice.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str()),
        ("Service", "hello")
    );
    let endpoint = &slice.endpoints.as_ref().unwrap()[0];
    assert_eq!(endpoint.addresses, ["127.0.0.1"]);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    assert_eq!(get(addr, "/env/GREETING").await, (200, "hello".into()));
    assert_eq!(get(addr, "/env/FROM_CM").await, (200, "blue".into()));
    assert_eq!(get(addr, "/env/PORT").await, (200, port.to_string()));

    scale(&c.client, "hello", 2).await;
    eventually("2 ready replicas and 2 slices", || async {
        (ready_and_slices(&c.client, "hello").await? == (2, 2)).then_some(())
    })
    .await;
    for port in ports(&slices(&c.client, "hello").await) {
        assert_eq!(
            get(SocketAddr::from(([127, 0, 0, 1], port)), "/").await.0,
            200
        );
    }
    let pids = pids_in(pid_dir.path());
    assert_eq!(pids.len(), 2, "{pids:?}");

    scale(&c.client, "hello", 0).await;
    eventually("no replicas and no slices", || async {
        (ready_and_slices(&c.client, "hello").await? == (0, 0)).then_some(())
    })
    .await;
    for pid in pids {
        wait_dead(pid, Duration::from_secs(10)).await;
    }

    scale(&c.client, "hello", 1).await;
    eventually("a replica again", || async {
        (ready_and_slices(&c.client, "hello").await? == (1, 1)).then_some(())
    })
    .await;
    let pid = *pids_in(pid_dir.path()).last().unwrap();
    let api: Api<Deployment> = Api::default_namespaced(c.client.clone());
    api.delete("hello", &DeleteParams::default()).await.unwrap();
    wait_dead(pid, Duration::from_secs(10)).await;
    eventually("slices garbage-collected", || async {
        slices(&c.client, "hello").await.is_empty().then_some(())
    })
    .await;
    runner.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashing_command_reports_its_exit_code_and_stderr() {
    let c = cluster().await;
    let runner = start_runner(&c.client);
    let container = json!({
        "name": "user-container", "image": "ignored",
        "command": ["sh", "-c"], "args": ["echo starting; echo 'cannot bind: boom' >&2; exit 3"],
    });
    create(&c.client, &deployment("crash", 1, container)).await;
    let (_, reason, message) = eventually("ReplicaFailure", || async {
        condition(&get_deployment(&c.client, "crash").await, "ReplicaFailure")
    })
    .await;
    assert_eq!(reason, "ExitCode3");
    assert_eq!(
        message,
        "container user-container exited with code 3: cannot bind: boom"
    );
    let d = get_deployment(&c.client, "crash").await;
    assert_eq!(condition(&d, "Available").unwrap().0, "False");
    assert!(slices(&c.client, "crash").await.is_empty());
    runner.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_without_command_is_not_runnable() {
    let c = cluster().await;
    let runner = start_runner(&c.client);
    let container =
        json!({"name": "user-container", "image": "gcr.io/knative-samples/helloworld-go"});
    create(&c.client, &deployment("image-only", 1, container)).await;
    let (status, reason, message) = eventually("ContainerNotRunnable", || async {
        condition(
            &get_deployment(&c.client, "image-only").await,
            "ReplicaFailure",
        )
    })
    .await;
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("True", "ContainerNotRunnable")
    );
    assert!(message.contains("has no command"), "{message}");
    assert!(message.contains("local processes"), "{message}");
    assert!(runner.supervisor.keys().is_empty(), "nothing runs");
    runner.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_config_map_blocks_until_it_exists() {
    let c = cluster().await;
    let pid_dir = tempfile::tempdir().unwrap();
    let runner = start_runner(&c.client);
    create(
        &c.client,
        &deployment("needs-cm", 1, fixture_container(pid_dir.path())),
    )
    .await;
    let (_, reason, message) = eventually("CreateContainerConfigError", || async {
        condition(
            &get_deployment(&c.client, "needs-cm").await,
            "ReplicaFailure",
        )
    })
    .await;
    assert_eq!(reason, "CreateContainerConfigError");
    assert!(
        message.contains("configmap \"settings\" not found"),
        "{message}"
    );

    create_config_map(&c.client).await;
    eventually("ready once the ConfigMap exists", || async {
        (ready_and_slices(&c.client, "needs-cm").await? == (1, 1)).then_some(())
    })
    .await;
    assert!(
        condition(
            &get_deployment(&c.client, "needs-cm").await,
            "ReplicaFailure"
        )
        .is_none()
    );
    runner.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_runner_replaces_stale_slices_and_replicas() {
    let (c, pid_dir, first) = one_ready_replica("survivor").await;
    let old_pid = pids_in(pid_dir.path())[0];
    let old_slice = slices(&c.client, "survivor").await[0]
        .metadata
        .name
        .clone()
        .unwrap();

    // A slice of a replica nobody runs, as a killed runner leaves behind.
    let api: Api<EndpointSlice> = Api::default_namespaced(c.client.clone());
    let mut ghost = slices(&c.client, "survivor").await.remove(0);
    ghost.metadata = ObjectMeta {
        name: Some("survivor-1".into()),
        labels: ghost.metadata.labels.clone(),
        ..ObjectMeta::default()
    };
    ghost.ports.as_mut().unwrap()[0].port = Some(1);
    api.create(&PostParams::default(), &ghost).await.unwrap();

    // "Kill" the runner: its task and supervisor go without a graceful stop.
    first.task.abort();
    drop(first.supervisor);
    wait_dead(old_pid, Duration::from_secs(10)).await;

    let second = start_runner(&c.client);
    let port = eventually("one fresh, answering slice", || async {
        let current = slices(&c.client, "survivor").await;
        let names: Vec<_> = current
            .iter()
            .filter_map(|s| s.metadata.name.clone())
            .collect();
        if names.len() != 1 || names[0] == "survivor-1" {
            return None;
        }
        let port = ports(&current)[0];
        let fresh = pids_in(pid_dir.path()).len() == 2;
        let ready = ready_and_slices(&c.client, "survivor").await == Some((1, 1));
        (fresh && ready && get_ok(port).await).then_some(port)
    })
    .await;
    if slices(&c.client, "survivor").await[0]
        .metadata
        .name
        .as_deref()
        != Some(old_slice.as_str())
    {
        assert!(api.get_opt(&old_slice).await.unwrap().is_none());
    }
    assert_eq!(
        get(SocketAddr::from(([127, 0, 0, 1], port)), "/env/FROM_CM")
            .await
            .1,
        "blue"
    );
    second.stop().await;
    assert!(
        slices(&c.client, "survivor").await.is_empty(),
        "unpublished on shutdown"
    );
    let pids = pids_in(pid_dir.path());
    wait_dead(*pids.last().unwrap(), Duration::from_secs(10)).await;
}

async fn get_ok(port: u16) -> bool {
    try_get(port, "/").await.is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_change_rolls_out_new_env() {
    let (c, pid_dir, runner) = one_ready_replica("rolling").await;

    let api: Api<Deployment> = Api::default_namespaced(c.client.clone());
    let mut container = fixture_container(pid_dir.path());
    container["env"][0]["value"] = json!("bonjour");
    let patch = json!({"spec": {"template": {"spec": {"containers": [container]}}}});
    api.patch("rolling", &PatchParams::default(), &Patch::Strategic(patch))
        .await
        .unwrap();
    eventually("only the new env is served", || async {
        if ready_and_slices(&c.client, "rolling").await? != (1, 1) {
            return None;
        }
        let port = ports(&slices(&c.client, "rolling").await)
            .first()
            .copied()?;
        let greeting = try_get(port, "/env/GREETING").await?;
        (greeting == "bonjour").then_some(())
    })
    .await;
    runner.stop().await;
}

/// As Kubernetes' EndpointSlice controller: a ready replica gets a slice only while a
/// Service selects its pods, one per selecting Service.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slices_follow_the_services_selecting_the_pods() {
    let c = cluster().await;
    let pid_dir = tempfile::tempdir().unwrap();
    create_config_map(&c.client).await;
    let runner = start_runner(&c.client);
    let d = deployment("lonely", 1, fixture_container(pid_dir.path()));
    create_deployment(&c.client, &d).await;
    eventually("a ready replica without a slice", || async {
        (ready_and_slices(&c.client, "lonely").await? == (1, 0)).then_some(())
    })
    .await;
    let all: Api<EndpointSlice> = Api::default_namespaced(c.client.clone());
    assert!(
        all.list(&Default::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );

    create_service(&c.client, &service_for(&d)).await;
    let mut second = service_for(&d);
    second.metadata.name = Some("lonely-too".into());
    create_service(&c.client, &second).await;
    let mut other = service_for(&d);
    other.metadata.name = Some("elsewhere".into());
    other.spec.as_mut().unwrap().selector = Some(BTreeMap::from([("app".into(), "x".into())]));
    create_service(&c.client, &other).await;
    eventually("one slice per selecting Service", || async {
        let mine = slices(&c.client, "lonely").await.len();
        let too = slices(&c.client, "lonely-too").await.len();
        ((mine, too) == (1, 1)).then_some(())
    })
    .await;
    assert!(slices(&c.client, "elsewhere").await.is_empty());

    let services: Api<Service> = Api::default_namespaced(c.client.clone());
    services
        .delete("lonely", &DeleteParams::default())
        .await
        .unwrap();
    eventually("the deleted Service's slice goes", || async {
        slices(&c.client, "lonely").await.is_empty().then_some(())
    })
    .await;
    assert_eq!(slices(&c.client, "lonely-too").await.len(), 1);
    runner.stop().await;
}
