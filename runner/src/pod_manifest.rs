//! The Pod the runner publishes for a replica, as a ReplicaSet would have made it:
//! named `<deployment>-<pod-template-hash>-<replica>`, the template's labels plus
//! `pod-template-hash`, its annotations, an ownerReference to the Deployment
//! (`controller: true`, so deleting the Deployment collects its Pods) and the
//! template's spec bound to this node. Pure.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;

/// The label a ReplicaSet puts on its Pods: the hash of their template.
pub(crate) const POD_TEMPLATE_HASH: &str = "pod-template-hash";
/// The loopback port the replica listens on (its `PORT`), for a user who wants to
/// reach one replica directly.
pub(crate) const PORT_ANNOTATION: &str = "fnmesh.dev/port";

/// The alphabet of Kubernetes' `rand.SafeEncodeString`.
const SAFE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
/// Kubernetes keeps generated names' prefixes to this many characters.
const MAX_PREFIX: usize = 58;

/// The template hash of `deployment`: FNV-32a of its pod template, spelled the way
/// the Deployment controller spells it (the decimal digits mapped onto the safe
/// alphabet), so the Pod names look like a ReplicaSet's.
pub(crate) fn template_hash(deployment: &Deployment) -> String {
    let bytes = serde_json::to_vec(&deployment.spec.template).unwrap_or_default();
    let hash = bytes.iter().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    });
    hash.to_string()
        .bytes()
        .map(|d| char::from(SAFE_ALPHABET[usize::from(d) % SAFE_ALPHABET.len()]))
        .collect()
}

/// `<deployment>-<hash>-<replica>`, the prefix cut as a generated name's would be.
pub(crate) fn pod_name(deployment: &str, hash: &str, replica: &str) -> String {
    let prefix: String = format!("{deployment}-{hash}-")
        .chars()
        .take(MAX_PREFIX)
        .collect();
    format!("{prefix}{replica}")
}

/// The Pod to create for a replica of `deployment` on `node`.
pub(crate) fn pod(deployment: &Deployment, name: &str, hash: &str, port: u16, node: &str) -> Pod {
    let template = &deployment.spec.template;
    let template_meta = template.metadata.clone().unwrap_or_default();
    let mut labels = template_meta.labels.unwrap_or_default();
    labels.insert(POD_TEMPLATE_HASH.into(), hash.into());
    let mut annotations = template_meta.annotations.unwrap_or_default();
    annotations.insert(PORT_ANNOTATION.into(), port.to_string());
    let owner = deployment.controller_owner_ref(&()).map(|mut owner| {
        owner.block_owner_deletion = Some(true);
        owner
    });
    let mut spec = template.spec.clone().unwrap_or_default();
    spec.node_name = Some(node.to_owned());
    Pod {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            namespace: deployment.metadata.namespace.clone(),
            labels: Some(labels),
            annotations: Some(annotations),
            owner_references: owner.map(|o| vec![o]),
            ..ObjectMeta::default()
        },
        spec: Some(spec),
        status: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment() -> Deployment {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "hello-00001-deployment", "namespace": "ns", "uid": "u-1"},
            "spec": {
                "selector": {},
                "template": {
                    "metadata": {
                        "labels": {
                            "serving.knative.dev/revision": "hello-00001",
                            "serving.knative.dev/service": "hello",
                        },
                        "annotations": {"fnmesh.dev/timeout-seconds": "300"},
                    },
                    "spec": {"containers": [{"name": "user-container", "image": "fn"}]},
                },
            },
        }))
        .unwrap()
    }

    #[test]
    fn the_hash_follows_the_template_and_looks_like_kubernetes() {
        let d = deployment();
        let hash = template_hash(&d);
        assert!((1..=10).contains(&hash.len()), "{hash}");
        assert!(hash.bytes().all(|b| SAFE_ALPHABET.contains(&b)), "{hash}");
        assert_eq!(template_hash(&d), hash);
        let mut changed = d.clone();
        changed.spec.replicas = Some(3);
        assert_eq!(
            template_hash(&changed),
            hash,
            "replicas are not the template"
        );
        changed.spec.template.spec.as_mut().unwrap().containers[0].image = Some("fn:2".into());
        assert_ne!(template_hash(&changed), hash);
    }

    #[test]
    fn the_pod_carries_the_template_an_owner_and_the_node() {
        let d = deployment();
        let name = pod_name("hello-00001-deployment", "7d4b9c8f6", "x2k9p");
        assert_eq!(name, "hello-00001-deployment-7d4b9c8f6-x2k9p");
        let pod = pod(&d, &name, "7d4b9c8f6", 40123, "host-a");
        let meta = &pod.metadata;
        assert_eq!(meta.namespace.as_deref(), Some("ns"));
        let labels = meta.labels.as_ref().unwrap();
        assert_eq!(labels["serving.knative.dev/service"], "hello");
        assert_eq!(labels[POD_TEMPLATE_HASH], "7d4b9c8f6");
        let annotations = meta.annotations.as_ref().unwrap();
        assert_eq!(annotations["fnmesh.dev/timeout-seconds"], "300");
        assert_eq!(annotations[PORT_ANNOTATION], "40123");
        let owner = &meta.owner_references.as_ref().unwrap()[0];
        assert_eq!(
            (
                owner.kind.as_str(),
                owner.uid.as_str(),
                owner.controller,
                owner.block_owner_deletion
            ),
            ("Deployment", "u-1", Some(true), Some(true))
        );
        let spec = pod.spec.as_ref().unwrap();
        assert_eq!(spec.node_name.as_deref(), Some("host-a"));
        assert_eq!(spec.containers[0].name, "user-container");
    }

    #[test]
    fn long_names_keep_the_replica_suffix() {
        let long = "d".repeat(70);
        let name = pod_name(&long, "abc", "x2k9p");
        assert_eq!(name.len(), MAX_PREFIX + 5);
        assert!(name.ends_with("x2k9p"));
    }
}
