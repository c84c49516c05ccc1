//! kube-rs — the client our own components use — against `fnmesh up`: watchers,
//! optimistic concurrency, server-side apply with field managers, finalizers, garbage
//! collection, selectors, paging and `/scale`.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{Fnmesh, raw_http};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use serde_json::json;

async fn client(f: &Fnmesh) -> kube::Client {
    let config = kube::Config::new(f.api_url.parse().expect("api url"));
    kube::Client::try_from(config).expect("kube client")
}

fn cm(name: &str, labels: &[(&str, &str)]) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| ((*k).into(), (*v).into()))
                    .collect(),
            ),
            ..Default::default()
        },
        data: Some(BTreeMap::from([("k".to_string(), "v".to_string())])),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn kube_runtime_watcher_sees_every_change() {
    let f = Fnmesh::start();
    let api: Api<ConfigMap> = Api::namespaced(client(&f).await, "default");
    api.create(&PostParams::default(), &cm("before", &[]))
        .await
        .expect("create");
    for config in [
        watcher::Config::default(),
        watcher::Config::default().streaming_lists(),
    ] {
        let mut events = watcher(api.clone(), config.labels("watched=yes")).boxed();
        // The initial list/stream completes before anything new happens.
        loop {
            match tokio::time::timeout(Duration::from_secs(20), events.try_next()).await {
                Ok(Ok(Some(watcher::Event::InitDone))) => break,
                Ok(Ok(Some(_))) => {}
                other => panic!("initial sync: {other:?}"),
            }
        }
        let name = format!("w-{}", rand_suffix());
        api.create(&PostParams::default(), &cm(&name, &[("watched", "yes")]))
            .await
            .expect("create");
        api.patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"k": "v2"}})),
        )
        .await
        .expect("patch");
        api.delete(&name, &DeleteParams::default())
            .await
            .expect("delete");
        let mut seen = Vec::new();
        while seen.len() < 3 {
            let ev = tokio::time::timeout(Duration::from_secs(20), events.try_next())
                .await
                .expect("event in time")
                .expect("watch ok")
                .expect("stream open");
            match ev {
                watcher::Event::Apply(o) if o.metadata.name.as_deref() == Some(&name) => {
                    seen.push(format!("apply:{}", o.data.unwrap_or_default()["k"]));
                }
                watcher::Event::Delete(o) if o.metadata.name.as_deref() == Some(&name) => {
                    seen.push("delete".into());
                }
                _ => {}
            }
        }
        assert_eq!(seen, vec!["apply:v", "apply:v2", "delete"]);
    }
}

fn rand_suffix() -> String {
    format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .subsec_nanos()
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stale_update_is_a_409_conflict() {
    let f = Fnmesh::start();
    let api: Api<ConfigMap> = Api::namespaced(client(&f).await, "default");
    let first = api
        .create(&PostParams::default(), &cm("c", &[]))
        .await
        .expect("create");
    let mut newer = first.clone();
    newer.data = Some(BTreeMap::from([("k".into(), "new".into())]));
    api.replace("c", &PostParams::default(), &newer)
        .await
        .expect("update at current version");
    let mut stale = first;
    stale.data = Some(BTreeMap::from([("k".into(), "stale".into())]));
    let err = api
        .replace("c", &PostParams::default(), &stale)
        .await
        .expect_err("stale");
    match err {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 409);
            assert_eq!(s.reason, "Conflict");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        api.get("c").await.expect("get").data.unwrap_or_default()["k"],
        "new"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn server_side_apply_tracks_field_managers() {
    let f = Fnmesh::start();
    let api: Api<ConfigMap> = Api::namespaced(client(&f).await, "default");
    let intent = |v: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": {"x": v}});
    api.patch(
        "ssa",
        &PatchParams::apply("alice"),
        &Patch::Apply(intent("1")),
    )
    .await
    .expect("create by apply");
    // Same value from another manager: shared ownership, no conflict.
    api.patch(
        "ssa",
        &PatchParams::apply("bob"),
        &Patch::Apply(intent("1")),
    )
    .await
    .expect("shared");
    let err = api
        .patch(
            "ssa",
            &PatchParams::apply("carol"),
            &Patch::Apply(intent("2")),
        )
        .await
        .expect_err("conflict");
    match err {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 409);
            assert!(
                s.message.contains("alice") || s.message.contains("bob"),
                "{}",
                s.message
            );
            assert!(s.message.contains("data.x"), "{}", s.message);
        }
        other => panic!("{other:?}"),
    }
    let forced = api
        .patch(
            "ssa",
            &PatchParams::apply("carol").force(),
            &Patch::Apply(intent("2")),
        )
        .await
        .expect("forced apply");
    assert_eq!(forced.data.unwrap_or_default()["x"], "2");
    // Dropping a field from one's intent removes it when nobody else owns it.
    api.patch("ssa", &PatchParams::apply("dave"), &Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": {"y": "1"}})))
        .await
        .expect("dave adds y");
    let now = api
        .patch(
            "ssa",
            &PatchParams::apply("dave"),
            &Patch::Apply(
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}}),
            ),
        )
        .await
        .expect("dave drops y");
    let data = now.data.unwrap_or_default();
    assert!(!data.contains_key("y"), "{data:?}");
    assert_eq!(data["x"], "2");
}

#[tokio::test(flavor = "multi_thread")]
async fn finalizers_hold_deletion_and_owners_cascade() {
    let f = Fnmesh::start();
    let c = client(&f).await;
    let cms: Api<ConfigMap> = Api::namespaced(c.clone(), "default");
    let secrets: Api<Secret> = Api::namespaced(c, "default");

    // A finalizer holds the object in deletionTimestamp until it is removed.
    let mut held = cm("held", &[]);
    held.metadata.finalizers = Some(vec!["example.com/hold".into()]);
    cms.create(&PostParams::default(), &held)
        .await
        .expect("create");
    cms.delete("held", &DeleteParams::default())
        .await
        .expect("delete");
    let pending = cms.get("held").await.expect("still there");
    assert!(pending.metadata.deletion_timestamp.is_some());
    cms.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .expect("remove finalizer");
    assert!(cms.get_opt("held").await.expect("get").is_none());

    // Background: dependents go with their owner.
    let owner = cms
        .create(&PostParams::default(), &cm("owner", &[]))
        .await
        .expect("owner");
    let owner_ref = OwnerReference {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        name: "owner".into(),
        uid: owner.metadata.uid.clone().expect("uid"),
        controller: Some(true),
        block_owner_deletion: Some(true),
    };
    let dependent = Secret {
        metadata: ObjectMeta {
            name: Some("dependent".into()),
            owner_references: Some(vec![owner_ref.clone()]),
            ..Default::default()
        },
        ..Default::default()
    };
    secrets
        .create(&PostParams::default(), &dependent)
        .await
        .expect("dependent");
    cms.delete("owner", &DeleteParams::background())
        .await
        .expect("delete owner");
    assert!(
        secrets.get_opt("dependent").await.expect("get").is_none(),
        "collected"
    );

    // Orphan: dependents stay, without the reference.
    let owner = cms
        .create(&PostParams::default(), &cm("owner2", &[]))
        .await
        .expect("owner2");
    let mut dependent2 = dependent.clone();
    dependent2.metadata.name = Some("dependent2".into());
    dependent2.metadata.owner_references = Some(vec![OwnerReference {
        name: "owner2".into(),
        uid: owner.metadata.uid.clone().expect("uid"),
        ..owner_ref
    }]);
    secrets
        .create(&PostParams::default(), &dependent2)
        .await
        .expect("dependent2");
    cms.delete("owner2", &DeleteParams::orphan())
        .await
        .expect("orphan delete");
    assert!(cms.get_opt("owner2").await.expect("get").is_none());
    let kept = secrets
        .get("dependent2")
        .await
        .expect("orphaned dependent kept");
    assert!(
        kept.metadata
            .owner_references
            .unwrap_or_default()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn selectors_and_pages() {
    let f = Fnmesh::start();
    let api: Api<ConfigMap> = Api::namespaced(client(&f).await, "default");
    for i in 0..7 {
        let tier = if i % 2 == 0 { "web" } else { "db" };
        api.create(
            &PostParams::default(),
            &cm(&format!("p{i}"), &[("tier", tier)]),
        )
        .await
        .expect("create");
    }
    let web = api
        .list(&ListParams::default().labels("tier=web"))
        .await
        .expect("list");
    assert_eq!(web.items.len(), 4);
    let not_web = api
        .list(&ListParams::default().labels("tier notin (web)"))
        .await
        .expect("list");
    assert_eq!(not_web.items.len(), 3);
    let by_name = api
        .list(&ListParams::default().fields("metadata.name=p3"))
        .await
        .expect("list");
    assert_eq!(by_name.items.len(), 1);

    let mut names = Vec::new();
    let mut params = ListParams::default().limit(3);
    loop {
        let page = api.list(&params).await.expect("page");
        assert!(page.items.len() <= 3);
        names.extend(page.items.into_iter().filter_map(|o| o.metadata.name));
        match page.metadata.continue_ {
            Some(c) if !c.is_empty() => params = params.continue_token(&c),
            _ => break,
        }
    }
    let expected: Vec<String> = (0..7).map(|i| format!("p{i}")).collect();
    assert_eq!(names, expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn deployments_scale_through_the_scale_subresource() {
    let f = Fnmesh::start();
    let api: Api<Deployment> = Api::namespaced(client(&f).await, "default");
    let d: Deployment = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {
            "selector": {"matchLabels": {"app": "d"}},
            "template": {"metadata": {"labels": {"app": "d"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}
        }
    }))
    .expect("deployment");
    let created = api
        .create(&PostParams::default(), &d)
        .await
        .expect("create");
    assert_eq!(created.spec.replicas, Some(1), "defaulted");
    let scale = api
        .patch_scale(
            "d",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 3}})),
        )
        .await
        .expect("scale");
    assert_eq!(scale.spec.and_then(|s| s.replicas), Some(3));
    assert_eq!(
        scale.status.map(|s| s.selector),
        Some(Some("app=d".to_string()))
    );
    let after = api.get("d").await.expect("get");
    assert_eq!(after.spec.replicas, Some(3));
    assert_eq!(after.metadata.generation, Some(2));
    // Status writes go through /status only and do not bump the generation.
    let st = api
        .patch_status(
            "d",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"readyReplicas": 3}})),
        )
        .await
        .expect("status");
    assert_eq!(st.status.and_then(|s| s.ready_replicas), Some(3));
    assert_eq!(st.metadata.generation, Some(2));
}

#[test]
fn a_watch_from_a_compacted_version_gets_410_gone() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut f = Fnmesh::start_in(tmp.path());
    let out = f.kubectl_stdin(
        &["apply", "-f", "-"],
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: gone-test\n",
    );
    assert!(out.status.success());
    f.kill9();
    // After a restart the change log starts afresh: older versions are gone.
    let f = Fnmesh::start_in(tmp.path());
    let req = "GET /api/v1/namespaces?watch=true&resourceVersion=1&timeoutSeconds=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let (code, body) = raw_http(&f.api_url, req.as_bytes());
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("\"type\":\"ERROR\""), "{body}");
    assert!(body.contains("\"code\":410"), "{body}");
}
