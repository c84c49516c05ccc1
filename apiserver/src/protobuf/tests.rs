//! Fixtures are request bodies captured from kubectl v1.32 (`kubectl create …`
//! through a logging proxy); the expected JSON is the same command's
//! `--dry-run=client -o json` output.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;

fn fixture(name: &str) -> (Vec<u8>, Value) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/protobuf/fixtures/");
    let body = std::fs::read(format!("{dir}{name}.bin")).unwrap();
    let expected = std::fs::read_to_string(format!("{dir}{name}.json")).unwrap();
    (body, serde_json::from_str(&expected).unwrap())
}

fn assert_fixture(name: &str) {
    let (body, expected) = fixture(name);
    assert_eq!(decode(&body).unwrap(), expected, "{name}");
}

#[test]
fn kubectl_create_configmap() {
    assert_fixture("configmap_literals");
    assert_fixture("configmap_single");
    assert_fixture("configmap_kube_system");
}

#[test]
fn kubectl_create_configmap_with_binary_data() {
    assert_fixture("configmap_binary");
}

#[test]
fn kubectl_create_secret() {
    assert_fixture("secret_generic");
    assert_fixture("secret_basic_auth");
}

#[test]
fn kubectl_create_namespace() {
    assert_fixture("namespace");
}

#[test]
fn kubectl_create_deployment() {
    assert_fixture("deployment_simple");
    assert_fixture("deployment_full");
}

#[test]
fn kubectl_create_service_and_serviceaccount() {
    assert_fixture("service_clusterip");
    assert_fixture("serviceaccount");
}

// === hand-built bodies ===

/// A minimal protobuf writer for building test bodies.
#[derive(Default)]
struct Writer(Vec<u8>);

impl Writer {
    fn varint(mut self, number: u32, value: u64) -> Self {
        put_varint(&mut self.0, u64::from(number) << 3);
        put_varint(&mut self.0, value);
        self
    }

    fn bytes(mut self, number: u32, value: &[u8]) -> Self {
        put_varint(&mut self.0, (u64::from(number) << 3) | 2);
        put_varint(&mut self.0, value.len() as u64);
        self.0.extend_from_slice(value);
        self
    }

    fn str(self, number: u32, value: &str) -> Self {
        self.bytes(number, value.as_bytes())
    }

    fn msg(self, number: u32, value: Writer) -> Self {
        self.bytes(number, &value.0)
    }

    fn entry(self, number: u32, key: &str, value: Writer) -> Self {
        self.msg(number, Writer::default().str(1, key).msg(2, value))
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn envelope(api_version: &str, kind: &str, raw: Writer) -> Vec<u8> {
    let unknown = Writer::default()
        .msg(1, Writer::default().str(1, api_version).str(2, kind))
        .msg(2, raw);
    [&MAGIC[..], &unknown.0].concat()
}

#[test]
fn object_meta_fields_and_timestamps() {
    let owner = Writer::default()
        .str(5, "apps/v1")
        .str(1, "ReplicaSet")
        .str(3, "rs")
        .str(4, "u-1")
        .varint(6, 1);
    let meta = Writer::default()
        .str(1, "cm")
        .str(3, "ns")
        .varint(7, 3)
        .msg(8, Writer::default().varint(1, 1_700_000_000).varint(2, 5))
        .msg(9, Writer::default().varint(1, 0))
        .varint(10, 0)
        .entry(11, "app", Writer(b"web".to_vec()))
        .entry(12, "note", Writer(b"x".to_vec()))
        .msg(13, owner)
        .str(14, "example.com/f");
    // Map values are written raw: `entry` wraps Writer bytes as field 2.
    let body = envelope(
        "v1",
        "ConfigMap",
        Writer::default().msg(1, meta).varint(4, 0),
    );
    assert_eq!(
        decode(&body).unwrap(),
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "immutable": false,
            "metadata": {
                "name": "cm",
                "namespace": "ns",
                "generation": 3,
                "creationTimestamp": "2023-11-14T22:13:20Z",
                "deletionTimestamp": "1970-01-01T00:00:00Z",
                "deletionGracePeriodSeconds": 0,
                "labels": {"app": "web"},
                "annotations": {"note": "x"},
                "ownerReferences": [{
                    "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u-1",
                    "controller": true,
                }],
                "finalizers": ["example.com/f"],
            },
        })
    );
}

#[test]
fn int_or_string_quantities_probes_and_negative_ints() {
    let probe = Writer::default()
        .msg(
            1,
            Writer::default().msg(
                2,
                Writer::default()
                    .str(1, "/healthz")
                    .msg(2, Writer::default().varint(1, 1).str(3, "http")),
            ),
        )
        .varint(2, 5);
    let resources = Writer::default()
        .entry(1, "cpu", Writer::default().str(1, "500m"))
        .entry(2, "memory", Writer::default());
    let env = Writer::default().str(1, "FROM").msg(
        3,
        Writer::default().msg(
            4,
            Writer::default()
                .msg(1, Writer::default().str(1, "s"))
                .str(2, "k"),
        ),
    );
    let container = Writer::default()
        .str(2, "img")
        .msg(7, env)
        .msg(8, resources)
        .msg(10, probe);
    let strategy = Writer::default().str(1, "RollingUpdate").msg(
        2,
        Writer::default()
            .msg(1, Writer::default().varint(1, 1).str(3, "25%"))
            .msg(2, Writer::default().varint(2, 2)),
    );
    let spec = Writer::default()
        .varint(1, u64::MAX) // int32 -1, sign-extended to ten bytes
        .msg(
            3,
            Writer::default().msg(2, Writer::default().msg(2, container)),
        )
        .msg(4, strategy);
    let body = envelope("apps/v1", "Deployment", Writer::default().msg(2, spec));
    assert_eq!(
        decode(&body).unwrap(),
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            // A non-pointer struct: Go emits it even when the wire omits it.
            "metadata": {"creationTimestamp": null},
            "spec": {
                "replicas": -1,
                "template": {"metadata": {"creationTimestamp": null}, "spec": {"containers": [{
                    "name": "",
                    "image": "img",
                    "env": [{"name": "FROM", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}],
                    "resources": {"limits": {"cpu": "500m"}, "requests": {"memory": "0"}},
                    "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "initialDelaySeconds": 5},
                }]}},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": 2}},
            },
            "status": {},
        })
    );
}

#[test]
fn unsupported_kind_asks_for_json() {
    let body = envelope("batch/v1", "Job", Writer::default());
    let err = decode(&body).unwrap_err();
    assert!(matches!(
        &err,
        ProtobufError::UnsupportedKind { api_version, kind, .. } if api_version == "batch/v1" && kind == "Job"
    ));
    assert!(err.to_string().contains("application/json"), "{err}");
}

#[test]
fn unmodelled_content_is_refused_not_dropped() {
    let pod_spec = Writer::default().msg(18, Writer::default().msg(1, Writer::default()));
    let template = Writer::default().msg(2, pod_spec);
    let body = envelope(
        "apps/v1",
        "Deployment",
        Writer::default().msg(2, Writer::default().msg(3, template)),
    );
    let err = decode(&body).unwrap_err();
    assert_eq!(
        err,
        ProtobufError::UnsupportedField {
            field: "PodSpec.affinity".to_owned(),
            message_type: "Affinity"
        }
    );
}

#[test]
fn rejects_bad_envelopes() {
    assert_eq!(decode(b"{}"), Err(ProtobufError::MissingMagic));
    assert_eq!(decode(MAGIC), Err(ProtobufError::MissingKind));
    let gz = [&MAGIC[..], &Writer::default().str(3, "gzip").0].concat();
    assert_eq!(
        decode(&gz),
        Err(ProtobufError::UnsupportedEncoding("gzip".to_owned()))
    );
    let (body, _) = fixture("deployment_full");
    let truncated = decode(&body[..body.len() - 3]).unwrap_err();
    assert!(
        matches!(truncated, ProtobufError::Malformed(_)),
        "{truncated}"
    );
}

#[test]
fn wrong_wire_type_names_the_field() {
    let body = envelope("v1", "Secret", Writer::default().varint(3, 1));
    let err = decode(&body).unwrap_err().to_string();
    assert!(err.contains("Secret.type (field 3)"), "{err}");
}

#[test]
fn content_type_matching() {
    assert!(is_protobuf_content_type(
        "application/vnd.kubernetes.protobuf"
    ));
    assert!(is_protobuf_content_type(
        "Application/VND.kubernetes.protobuf; charset=utf-8"
    ));
    assert!(!is_protobuf_content_type("application/json"));
    assert!(!is_protobuf_content_type(
        "application/vnd.kubernetes.protobuf+json"
    ));
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode(&body);
        let _ = decode(&[&MAGIC[..], &body].concat());
    }

    #[test]
    fn mutated_fixtures_never_panic(
        name in prop::sample::select(vec!["deployment_full", "secret_generic", "namespace", "service_clusterip"]),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let (mut body, _) = fixture(name);
        for (at, byte) in flips {
            let i = at.index(body.len());
            body[i] = byte;
        }
        let _ = decode(&body);
    }
}

#[test]
fn decoded_fixtures_deserialize_as_their_k8s_openapi_types() {
    use k8s_openapi::api::{apps::v1 as apps, core::v1 as core};
    fn check<T: serde::de::DeserializeOwned>(name: &str) {
        let (body, _) = fixture(name);
        if let Err(e) = serde_json::from_value::<T>(decode(&body).unwrap()) {
            panic!("{name}: {e}");
        }
    }
    check::<core::ConfigMap>("configmap_binary");
    check::<core::Secret>("secret_basic_auth");
    check::<core::Namespace>("namespace");
    check::<apps::Deployment>("deployment_full");
    check::<core::Service>("service_clusterip");
    check::<core::ServiceAccount>("serviceaccount");
}
