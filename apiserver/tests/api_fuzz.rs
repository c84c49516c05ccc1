//! Property-based fuzzing of the API's object decoding and write paths (JSON, YAML and
//! protobuf bodies; JSON, merge, strategic-merge and apply patches; label and field
//! selectors; Knative admission), in process through the same functions the HTTP
//! handlers call. The properties are in `fuzzing/mod.rs`; the coverage-guided AFL
//! targets in `fuzz/` drive the same harness.
//!
//! Inputs are structure-aware (manifests of every served kind with random edits,
//! patches built from Kubernetes' own field names and directives, selector token soup,
//! mutated kubectl protobuf captures) plus raw bytes. Each test runs
//! `FNMESH_FUZZ_CASES` cases (default 200, a few seconds in CI); a long run sets it
//! higher.

mod fuzzing;

use std::sync::LazyLock;

use base64::Engine;
use fuzzing::{BodyRequest, Encoding, Harness, PatchRequest, TARGETS};
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Map, Value, json};

static HARNESS: LazyLock<Harness> = LazyLock::new(Harness::new);

fn cases() -> u32 {
    std::env::var("FNMESH_FUZZ_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(200)
}

fn config() -> Config {
    Config {
        cases: cases(),
        // A failure is reported with its input and written nowhere: regressions are
        // named tests below.
        failure_persistence: None,
        ..Config::default()
    }
}

// === strategies ===

/// Field names that Kubernetes objects and patches use, so random trees hit real code.
const KEYS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "name",
    "generateName",
    "namespace",
    "labels",
    "annotations",
    "finalizers",
    "ownerReferences",
    "uid",
    "resourceVersion",
    "generation",
    "managedFields",
    "deletionTimestamp",
    "creationTimestamp",
    "spec",
    "status",
    "data",
    "binaryData",
    "stringData",
    "type",
    "immutable",
    "template",
    "containers",
    "initContainers",
    "image",
    "env",
    "value",
    "valueFrom",
    "ports",
    "containerPort",
    "volumeMounts",
    "mountPath",
    "volumes",
    "traffic",
    "percent",
    "tag",
    "revisionName",
    "configurationName",
    "latestRevision",
    "conditions",
    "replicas",
    "selector",
    "matchLabels",
    "timeoutSeconds",
    "containerConcurrency",
    "readinessProbe",
    "httpGet",
    "path",
    "port",
    "resources",
    "limits",
    "cpu",
    "memory",
    "args",
    "command",
    "$patch",
    "$retainKeys",
    "$setElementOrder/containers",
    "$setElementOrder/env",
    "$deleteFromPrimitiveList/finalizers",
    "$deleteFromPrimitiveList/args",
    "x",
    "",
];

const STRINGS: &[&str] = &[
    "",
    "seed",
    "default",
    "v1",
    "apps/v1",
    "serving.knative.dev/v1",
    "ConfigMap",
    "Service",
    "Deployment",
    "replace",
    "merge",
    "delete",
    "retainKeys",
    "100",
    "-1",
    "1.5",
    "true",
    "null",
    "example.com/fn:1",
    "A",
    "B",
    "x/y",
    "latest",
    "100m",
    "1Gi",
    "a-b.c",
    "2024-05-01T12:00:00Z",
    "~",
    "\u{0}",
    "é",
    "../..",
    "*",
    "&a",
    "*a",
    "<<",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-3i64..200).prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        proptest::sample::select(STRINGS).prop_map(Value::from),
        "[a-z0-9.-]{0,12}".prop_map(Value::from),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(KEYS).prop_map(str::to_owned),
        1 => "[a-zA-Z$/.-]{0,10}",
    ]
}

/// A random JSON tree of Kubernetes-ish keys and values.
fn tree() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::btree_map(key(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A path into an object: existing fields mostly, invented ones too.
fn pointer() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec(
        prop_oneof![
            3 => key(),
            1 => (0usize..3).prop_map(|i| i.to_string()),
            1 => Just("-".to_owned()),
        ],
        0..6,
    )
}

/// Sets (or with None removes) the value at `path`, creating objects on the way.
fn edit(obj: &mut Value, path: &[String], value: Option<Value>) {
    let Some((last, parents)) = path.split_last() else {
        if let Some(v) = value {
            *obj = v;
        }
        return;
    };
    let mut at = obj;
    for seg in parents {
        at = match at {
            Value::Array(items) => match seg.parse::<usize>().ok().filter(|i| *i < items.len()) {
                Some(i) => &mut items[i],
                None => return,
            },
            Value::Object(m) => m.entry(seg.clone()).or_insert_with(|| json!({})),
            _ => return,
        };
    }
    match (at, value) {
        (Value::Object(m), Some(v)) => {
            m.insert(last.clone(), v);
        }
        (Value::Object(m), None) => {
            m.remove(last);
        }
        (Value::Array(items), Some(v)) => match last.parse::<usize>() {
            Ok(i) if i < items.len() => items[i] = v,
            _ => items.push(v),
        },
        (Value::Array(items), None) => {
            if let Ok(i) = last.parse::<usize>()
                && i < items.len()
            {
                items.remove(i);
            }
        }
        _ => {}
    }
}

/// A seed manifest of target `t` with a few random edits.
fn manifest() -> impl Strategy<Value = (usize, Value)> {
    (
        0..TARGETS.len(),
        proptest::collection::vec((pointer(), proptest::option::of(tree())), 0..4),
    )
        .prop_map(|(t, edits)| {
            let mut obj: Value = serde_json::from_str(TARGETS[t].1).expect("seed");
            // Mostly a new object: creates that collide with the seed stop at 409.
            obj["metadata"]["name"] = json!(format!("fuzz-{t}"));
            for (path, value) in edits {
                edit(&mut obj, &path, value);
            }
            (t, obj)
        })
}

fn yaml(v: &Value) -> Vec<u8> {
    serde_saphyr::to_string(v)
        .map(String::into_bytes)
        .unwrap_or_default()
}

/// A body: a manifest as JSON or YAML, or raw bytes, with occasional byte damage.
fn body() -> impl Strategy<Value = (u8, u8, Vec<u8>)> {
    let structured =
        (manifest(), any::<u8>(), any::<bool>()).prop_map(|((t, obj), flags, as_yaml)| {
            let encoding = if as_yaml { 1 } else { 0 };
            let bytes = if as_yaml {
                yaml(&obj)
            } else {
                serde_json::to_vec(&obj).unwrap()
            };
            (t as u8, (flags & !3) | encoding, bytes)
        });
    let raw = (
        any::<u8>(),
        any::<u8>(),
        proptest::collection::vec(any::<u8>(), 0..256),
    );
    prop_oneof![6 => structured, 1 => raw]
}

fn damage() -> impl Strategy<Value = Vec<(prop::sample::Index, u8, u8)>> {
    proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 0..4)
}

/// Overwrites, inserts or deletes single bytes.
fn apply_damage(mut bytes: Vec<u8>, damage: &[(prop::sample::Index, u8, u8)]) -> Vec<u8> {
    for (at, byte, how) in damage {
        if bytes.is_empty() {
            bytes.push(*byte);
            continue;
        }
        let i = at.index(bytes.len());
        match how {
            0 => bytes[i] = *byte,
            1 => bytes.insert(i, *byte),
            _ => {
                bytes.remove(i);
            }
        }
    }
    bytes
}

const PROTOBUF_FIXTURES: &[&[u8]] = &[
    include_bytes!("../src/protobuf/fixtures/configmap_binary.bin"),
    include_bytes!("../src/protobuf/fixtures/configmap_literals.bin"),
    include_bytes!("../src/protobuf/fixtures/deployment_full.bin"),
    include_bytes!("../src/protobuf/fixtures/deployment_simple.bin"),
    include_bytes!("../src/protobuf/fixtures/namespace.bin"),
    include_bytes!("../src/protobuf/fixtures/secret_generic.bin"),
    include_bytes!("../src/protobuf/fixtures/service_clusterip.bin"),
    include_bytes!("../src/protobuf/fixtures/serviceaccount.bin"),
];

/// A JSON patch: a list of operations on paths into the seed.
fn json_patch() -> impl Strategy<Value = Value> {
    let op = (
        proptest::sample::select(&["add", "remove", "replace", "move", "copy", "test", "x"][..]),
        pointer(),
        pointer(),
        tree(),
    )
        .prop_map(|(op, path, from, value)| {
            let ptr = |p: Vec<String>| {
                p.iter()
                    .map(|s| format!("/{}", s.replace('~', "~0").replace('/', "~1")))
                    .collect::<String>()
            };
            json!({"op": op, "path": ptr(path), "from": ptr(from), "value": value})
        });
    proptest::collection::vec(op, 0..5).prop_map(Value::Array)
}

/// A strategic merge patch: random edits laid over a copy of the seed's shape, so the
/// keyed lists (containers, env, ports, …) meet patches that name their items.
fn strategic_patch() -> impl Strategy<Value = Value> {
    (
        0..TARGETS.len(),
        proptest::collection::vec((pointer(), proptest::option::of(tree())), 1..5),
        any::<bool>(),
    )
        .prop_map(|(t, edits, from_seed)| {
            let mut patch: Value = if from_seed {
                serde_json::from_str(TARGETS[t].1).expect("seed")
            } else {
                json!({})
            };
            for (path, value) in edits {
                edit(&mut patch, &path, Some(value.unwrap_or(Value::Null)));
            }
            patch
        })
}

fn patch() -> impl Strategy<Value = (u8, u8, Vec<u8>)> {
    let doc = prop_oneof![
        json_patch(),
        strategic_patch(),
        tree(),
        manifest().prop_map(|(_, m)| m),
    ];
    (any::<u8>(), any::<u8>(), doc, any::<bool>(), damage()).prop_map(
        |(t, flags, doc, as_yaml, damage)| {
            let bytes = if as_yaml {
                yaml(&doc)
            } else {
                serde_json::to_vec(&doc).unwrap()
            };
            (t, flags, apply_damage(bytes, &damage))
        },
    )
}

/// Selector-ish text: label keys and values, operators and separators in any order.
fn selector_text() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        proptest::sample::select(
            &[
                "app",
                "tier",
                "seed",
                "1",
                "-1",
                "=",
                "==",
                "!=",
                "!",
                "in",
                "notin",
                "(",
                ")",
                ",",
                " ",
                "<",
                ">",
                "metadata.name",
                "metadata.namespace",
                "spec.nodeName",
                "status.phase",
                "involvedObject.name",
                "type",
                "\\",
                "\\,",
                "\\=",
                "a/b",
                "example.com/app",
                "é",
                "",
            ][..]
        )
        .prop_map(str::to_owned),
        "[a-z0-9./_-]{0,70}",
    ];
    proptest::collection::vec(token, 0..12).prop_map(|t| t.concat())
}

// === the properties ===

proptest! {
    #![proptest_config(config())]

    /// Create and update bodies of every served kind, as JSON, YAML and protobuf.
    #[test]
    fn create_and_update_bodies((target, flags, bytes) in body(), damage in damage()) {
        let req = BodyRequest::from_bytes(target, flags);
        HARNESS.body(req, &bytes);
        HARNESS.body(req, &apply_damage(bytes, &damage));
    }

    /// kubectl's protobuf bodies with bytes overwritten, inserted and deleted.
    #[test]
    fn protobuf_bodies(
        fixture in proptest::sample::select(PROTOBUF_FIXTURES),
        damage in damage(),
        target in any::<u8>(),
        flags in any::<u8>(),
    ) {
        let req = BodyRequest { encoding: Encoding::Protobuf, ..BodyRequest::from_bytes(target, flags) };
        HARNESS.body(req, &apply_damage(fixture.to_vec(), &damage));
    }

    /// JSON, merge, strategic-merge and apply patches of every seed.
    #[test]
    fn patches((target, flags, bytes) in patch()) {
        HARNESS.patch(PatchRequest::from_bytes(target, flags), &bytes);
    }

    /// Label and field selectors (and continue tokens) on lists of every kind.
    #[test]
    fn selectors(target in any::<u8>(), text in selector_text()) {
        HARNESS.selector(target, &text);
    }

    /// An equality selector built from labels selects an object carrying them, through
    /// the same parse the list handler uses.
    #[test]
    fn label_equality_selects_its_labels(
        labels in proptest::collection::btree_map("([a-z0-9]{1,8}\\.)?[a-z]{1,8}/[a-z][a-z0-9_.-]{0,10}[a-z0-9]", "([a-z0-9][a-z0-9_.-]{0,10}[a-z0-9])?", 0..4),
    ) {
        let text = labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",");
        let selector = apiserver::selector::LabelSelector::parse(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        let map: Map<String, Value> = labels.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        prop_assert!(selector.matches(Some(&map)), "{} does not select {:?}", text, map);
    }

    /// A ConfigMap encoded as kubectl would send it in protobuf decodes to its JSON.
    #[test]
    fn protobuf_config_map_round_trip(
        name in "[a-z][a-z0-9-]{0,20}",
        labels in proptest::collection::btree_map("[a-z]{1,5}", "[a-z0-9]{0,5}", 0..3),
        data in proptest::collection::btree_map("[a-zA-Z0-9._-]{1,8}", "\\PC{0,20}", 0..4),
        binary in proptest::collection::btree_map("[a-z]{1,5}", proptest::collection::vec(any::<u8>(), 0..16), 0..3),
        immutable in proptest::option::of(any::<bool>()),
    ) {
        let body = protobuf_config_map(&name, &labels, &data, &binary, immutable);
        let decoded = apiserver::protobuf::decode(&body).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut want = json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "creationTimestamp": null},
        });
        if !labels.is_empty() { want["metadata"]["labels"] = json!(labels); }
        if !data.is_empty() { want["data"] = json!(data); }
        if !binary.is_empty() {
            let b64 = |v: &Vec<u8>| base64::engine::general_purpose::STANDARD.encode(v);
            want["binaryData"] = binary.iter().map(|(k, v)| (k.clone(), json!(b64(v)))).collect::<Map<_, _>>().into();
        }
        if let Some(i) = immutable { want["immutable"] = json!(i); }
        prop_assert_eq!(&decoded, &want);
        let req = BodyRequest { encoding: Encoding::Protobuf, create: true, ..BodyRequest::from_bytes(0, 0) };
        HARNESS.body(req, &body);
    }
}

// === a protobuf writer (the wire format, for the round trip above) ===

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_bytes(out: &mut Vec<u8>, number: u32, bytes: &[u8]) {
    put_varint(out, (u64::from(number) << 3) | 2);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn put_entry(out: &mut Vec<u8>, number: u32, key: &str, value: &[u8]) {
    let mut entry = Vec::new();
    put_bytes(&mut entry, 1, key.as_bytes());
    put_bytes(&mut entry, 2, value);
    put_bytes(out, number, &entry);
}

fn protobuf_config_map(
    name: &str,
    labels: &std::collections::BTreeMap<String, String>,
    data: &std::collections::BTreeMap<String, String>,
    binary: &std::collections::BTreeMap<String, Vec<u8>>,
    immutable: Option<bool>,
) -> Vec<u8> {
    let mut meta = Vec::new();
    put_bytes(&mut meta, 1, name.as_bytes());
    for (k, v) in labels {
        put_entry(&mut meta, 11, k, v.as_bytes());
    }
    let mut cm = Vec::new();
    put_bytes(&mut cm, 1, &meta);
    for (k, v) in data {
        put_entry(&mut cm, 2, k, v.as_bytes());
    }
    for (k, v) in binary {
        put_entry(&mut cm, 3, k, v);
    }
    if let Some(i) = immutable {
        put_varint(&mut cm, 4 << 3);
        put_varint(&mut cm, u64::from(i));
    }
    let mut type_meta = Vec::new();
    put_bytes(&mut type_meta, 1, b"v1");
    put_bytes(&mut type_meta, 2, b"ConfigMap");
    let mut unknown = Vec::new();
    put_bytes(&mut unknown, 1, &type_meta);
    put_bytes(&mut unknown, 2, &cm);
    let mut body = apiserver::protobuf::MAGIC.to_vec();
    body.extend(unknown);
    body
}
