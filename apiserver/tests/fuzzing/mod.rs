//! One fuzz input → the API's decoding and write paths, in process, with the properties
//! every input must keep. Shared by the proptest suite (`tests/api_fuzz.rs`, run in CI)
//! and the coverage-guided AFL targets (`fuzz/`, run by hand).
//!
//! Properties:
//! - nothing panics;
//! - a rejected request is a 4xx `Status` with a message (a 500 means the server broke);
//! - what a decoder returns re-encodes as JSON and decodes back to itself;
//! - what create returns is accepted by create again and comes back the same
//!   (admission and defaulting are idempotent);
//! - merge, strategic-merge and apply patches applied twice are the same as once;
//! - decoding is bounded: no body turns into more than [`MAX_AMPLIFICATION`] times its
//!   size plus [`SLACK_BYTES`] of JSON.
//!
//! Writes are dry runs against seeded objects, so a case costs no fsync and leaves the
//! store as it was.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::time::Duration;

use apiserver::admission::FieldValidation;
use apiserver::api::{Api, ListOptions};
use apiserver::field_manager;
use apiserver::patch::{self, PatchKind};
use apiserver::path::{self, Endpoint, ResourcePath};
use apiserver::selector::{FieldSelector, LabelSelector};
use apiserver::status::ApiError;
use apiserver::write::{WriteOptions, decode_object};
use serde_json::{Value, json};

/// How much larger than its body a decoded object may be (JSON bytes per body byte).
pub const MAX_AMPLIFICATION: usize = 16;
pub const SLACK_BYTES: usize = 64 << 10;

/// The collections the harness writes to, each with a valid seed object named `seed`.
pub const TARGETS: &[(&str, &str)] = &[
    ("/api/v1/namespaces/default/configmaps", CONFIG_MAP),
    ("/api/v1/namespaces/default/secrets", SECRET),
    ("/api/v1/namespaces/default/services", SERVICE),
    ("/api/v1/namespaces/default/pods", POD),
    ("/api/v1/namespaces/default/events", EVENT),
    ("/api/v1/namespaces", NAMESPACE),
    ("/api/v1/nodes", NODE),
    ("/apis/apps/v1/namespaces/default/deployments", DEPLOYMENT),
    (
        "/apis/coordination.k8s.io/v1/namespaces/default/leases",
        LEASE,
    ),
    (
        "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
        ENDPOINT_SLICE,
    ),
    (
        "/apis/serving.knative.dev/v1/namespaces/default/services",
        KSVC,
    ),
    (
        "/apis/serving.knative.dev/v1/namespaces/default/configurations",
        CONFIGURATION,
    ),
    (
        "/apis/serving.knative.dev/v1/namespaces/default/routes",
        ROUTE,
    ),
    (
        "/apis/serving.knative.dev/v1/namespaces/default/revisions",
        REVISION,
    ),
];

pub const CONFIG_MAP: &str = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"seed","labels":{"app":"seed","tier":"1"},"annotations":{"a":"b"},"finalizers":["x/y"]},"data":{"k":"v","n":"1"},"binaryData":{"b":"AAE="}}"#;
pub const SECRET: &str = r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"seed"},"type":"Opaque","data":{"k":"dg=="},"stringData":{"s":"t"}}"#;
pub const SERVICE: &str = r#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"seed"},"spec":{"selector":{"app":"seed"},"ports":[{"name":"http","port":80,"targetPort":8080,"protocol":"TCP"}]}}"#;
pub const POD: &str = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"seed","labels":{"app":"seed"}},"spec":{"nodeName":"n","containers":[{"name":"c","image":"i","env":[{"name":"A","value":"1"}],"ports":[{"containerPort":8080}]}]},"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"}]}}"#;
pub const EVENT: &str = r#"{"apiVersion":"v1","kind":"Event","metadata":{"name":"seed"},"involvedObject":{"kind":"Pod","name":"seed","namespace":"default"},"reason":"Started","message":"m","type":"Normal","source":{"component":"fuzz"}}"#;
pub const NAMESPACE: &str =
    r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"seed","labels":{"team":"a"}}}"#;
pub const NODE: &str = r#"{"apiVersion":"v1","kind":"Node","metadata":{"name":"seed"},"spec":{"unschedulable":false},"status":{"conditions":[{"type":"Ready","status":"True"}]}}"#;
pub const DEPLOYMENT: &str = r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"seed","labels":{"app":"seed"}},"spec":{"replicas":1,"selector":{"matchLabels":{"app":"seed"}},"template":{"metadata":{"labels":{"app":"seed"}},"spec":{"containers":[{"name":"c","image":"i","env":[{"name":"A","value":"1"}],"volumeMounts":[{"name":"v","mountPath":"/v"}]}],"volumes":[{"name":"v","emptyDir":{}}]}}}}"#;
pub const LEASE: &str = r#"{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"seed"},"spec":{"holderIdentity":"h","leaseDurationSeconds":15}}"#;
pub const ENDPOINT_SLICE: &str = r#"{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"seed","labels":{"kubernetes.io/service-name":"seed"}},"addressType":"IPv4","endpoints":[{"addresses":["127.0.0.1"],"conditions":{"ready":true}}],"ports":[{"name":"http","port":8080}]}"#;
pub const KSVC: &str = r#"{"apiVersion":"serving.knative.dev/v1","kind":"Service","metadata":{"name":"seed","labels":{"app":"seed"},"annotations":{"a":"b"}},"spec":{"template":{"metadata":{"annotations":{"autoscaling.knative.dev/min-scale":"0"}},"spec":{"containerConcurrency":10,"timeoutSeconds":60,"containers":[{"image":"example.com/fn:1","env":[{"name":"A","value":"1"}],"ports":[{"containerPort":8080}]}]}},"traffic":[{"latestRevision":true,"percent":100}]}}"#;
pub const CONFIGURATION: &str = r#"{"apiVersion":"serving.knative.dev/v1","kind":"Configuration","metadata":{"name":"seed"},"spec":{"template":{"spec":{"containers":[{"image":"example.com/fn:1"}]}}}}"#;
pub const ROUTE: &str = r#"{"apiVersion":"serving.knative.dev/v1","kind":"Route","metadata":{"name":"seed"},"spec":{"traffic":[{"configurationName":"seed","percent":100}]}}"#;
pub const REVISION: &str = r#"{"apiVersion":"serving.knative.dev/v1","kind":"Revision","metadata":{"name":"seed"},"spec":{"containers":[{"image":"example.com/fn:1"}]}}"#;

/// The API on a scratch data dir, with every seed stored.
pub struct Harness {
    pub api: Api,
    collections: Vec<ResourcePath>,
    seeds: Vec<ResourcePath>,
    _dir: tempfile::TempDir,
}

/// What a body is sent as.
#[derive(Clone, Copy, Debug)]
pub enum Encoding {
    Json,
    Yaml,
    Protobuf,
}

impl Encoding {
    pub fn from_byte(b: u8) -> Self {
        match b % 3 {
            0 => Encoding::Json,
            1 => Encoding::Yaml,
            _ => Encoding::Protobuf,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Json => "application/json",
            Encoding::Yaml => "application/yaml",
            Encoding::Protobuf => apiserver::protobuf::CONTENT_TYPE,
        }
    }
}

/// The verb a body goes to, and how (from the control bytes of a fuzz input).
#[derive(Clone, Copy, Debug)]
pub struct BodyRequest {
    pub target: usize,
    pub encoding: Encoding,
    /// Create in the collection, else update the seed.
    pub create: bool,
    /// With an update: the body's name becomes the seed's (else most updates stop at
    /// "the name does not match").
    pub rename_to_seed: bool,
    pub status: bool,
    pub validation: FieldValidation,
}

impl BodyRequest {
    pub fn from_bytes(target: u8, flags: u8) -> Self {
        Self {
            target: target as usize % TARGETS.len(),
            encoding: Encoding::from_byte(flags & 3),
            create: flags & 4 == 0,
            rename_to_seed: flags & 8 == 0,
            status: flags & 16 != 0,
            validation: match (flags >> 5) % 3 {
                0 => FieldValidation::Warn,
                1 => FieldValidation::Strict,
                _ => FieldValidation::Ignore,
            },
        }
    }
}

/// A patch request: which seed, which patch type, on which subresource.
#[derive(Clone, Copy, Debug)]
pub struct PatchRequest {
    pub target: usize,
    pub kind: PatchKind,
    pub status: bool,
    pub force: bool,
}

impl PatchRequest {
    pub fn from_bytes(target: u8, flags: u8) -> Self {
        Self {
            target: target as usize % TARGETS.len(),
            kind: match flags & 3 {
                0 => PatchKind::Json,
                1 => PatchKind::Merge,
                2 => PatchKind::Strategic,
                _ => PatchKind::Apply,
            },
            status: flags & 4 != 0,
            force: flags & 8 != 0,
        }
    }
}

fn resource_path(api: &Api, p: &str) -> ResourcePath {
    match path::parse(&api.table, p) {
        Ok(Endpoint::Resource(rp)) => rp,
        other => panic!("{p} is a resource path: {other:?}"),
    }
}

fn options(validation: FieldValidation, force: bool) -> WriteOptions {
    WriteOptions {
        dry_run: true,
        field_manager: "fuzz".into(),
        field_validation: validation,
        force,
    }
}

/// A rejected request must be the client's fault, said so.
#[track_caller]
pub fn assert_client_error(e: &ApiError, input: &dyn std::fmt::Debug) {
    let code = e.code();
    assert!(
        (400..500).contains(&code),
        "a {code} ({e}) for {input:?}: errors from request content must be 4xx"
    );
    let status = e.to_status();
    let message = status["message"].as_str().unwrap_or_default();
    assert!(
        !message.is_empty(),
        "a {code} without a message for {input:?}"
    );
}

/// Compact JSON length, without building it.
pub fn json_len(v: &Value) -> usize {
    serde_json::to_vec(v).map_or(0, |b| b.len())
}

#[track_caller]
fn assert_bounded(decoded: &Value, input_len: usize, input: &dyn std::fmt::Debug) {
    let len = json_len(decoded);
    assert!(
        len <= MAX_AMPLIFICATION * input_len + SLACK_BYTES,
        "a {input_len}-byte body decoded to {len} bytes of JSON: {input:?}"
    );
}

/// Encodes as JSON and decodes again: must give the same value.
#[track_caller]
fn assert_json_round_trip(v: &Value) {
    let bytes = serde_json::to_vec(v).expect("a Value encodes as JSON");
    let back = decode_object("application/json", &bytes)
        .unwrap_or_else(|e| panic!("our own JSON does not decode ({e}): {v}"));
    assert_eq!(&back, v, "JSON round trip");
}

/// The object minus what the server assigns anew on each create.
fn without_server_fields(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        for k in ["uid", "creationTimestamp", "resourceVersion"] {
            meta.remove(k);
        }
        if let Some(Value::Array(entries)) = meta.get_mut("managedFields") {
            for e in entries {
                e.as_object_mut().map(|e| e.remove("time"));
            }
        }
    }
    v
}

impl Harness {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let api = Api::open(&dir.path().join("fuzz.redb")).expect("open the store");
        let mut collections = Vec::new();
        let mut seeds = Vec::new();
        for (p, seed) in TARGETS {
            let rp = resource_path(&api, p);
            let obj: Value = serde_json::from_str(seed).expect("seed JSON");
            let mut opts = options(FieldValidation::Strict, false);
            opts.dry_run = false;
            api.create(&rp, obj, &opts)
                .unwrap_or_else(|e| panic!("seed {p}: {e}"));
            seeds.push(resource_path(&api, &format!("{p}/seed")));
            collections.push(rp);
        }
        // Seeds are staged; wait until they are committed, so reads see them.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while api.store.current_rv() < api.store.staged_rv() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "seeds committed in time"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        Self {
            api,
            collections,
            seeds,
            _dir: dir,
        }
    }

    fn seed(&self, target: usize) -> Arc<Value> {
        self.api.get(&self.seeds[target]).expect("seed stored")
    }

    fn with_subresource(&self, target: usize, status: bool) -> ResourcePath {
        let mut rp = self.seeds[target].clone();
        if status && rp.rt.status_subresource {
            rp.subresource = Some("status".into());
        }
        rp
    }

    /// A create or update body, decoded as the request's Content-Type says.
    pub fn body(&self, req: BodyRequest, body: &[u8]) {
        let input = (&req, String::from_utf8_lossy(body));
        let mut obj = match decode_object(req.encoding.content_type(), body) {
            Ok(obj) => obj,
            Err(e) => return assert_client_error(&e, &input),
        };
        assert!(obj.is_object(), "decoded a non-object: {obj}");
        assert_bounded(&obj, body.len(), &input);
        assert_json_round_trip(&obj);
        let opts = options(req.validation, false);
        if req.create {
            let rp = &self.collections[req.target];
            match self.api.create(rp, obj, &opts) {
                Ok(w) => self.assert_recreates_as_itself(rp, &w.object, &opts),
                Err(e) => assert_client_error(&e, &input),
            }
            return;
        }
        if req.rename_to_seed
            && let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut)
        {
            meta.insert("name".into(), json!("seed"));
        }
        let rp = self.with_subresource(req.target, req.status);
        match self.api.update(&rp, obj, &opts) {
            Ok(w) => assert_json_round_trip(&w.object),
            Err(e) => assert_client_error(&e, &input),
        }
    }

    /// Admission and defaulting are idempotent: what create stored, created again
    /// (under the same name, which is free: the first was a dry run), is stored as is.
    #[track_caller]
    fn assert_recreates_as_itself(&self, rp: &ResourcePath, created: &Value, opts: &WriteOptions) {
        assert_json_round_trip(created);
        let again = self
            .api
            .create(rp, created.clone(), opts)
            .unwrap_or_else(|e| panic!("create refused what it had created ({e}): {created}"));
        assert_eq!(
            without_server_fields(&again.object),
            without_server_fields(created),
            "create of its own output changed it"
        );
    }

    /// A PATCH of the seed with `body` as the request's patch type.
    pub fn patch(&self, req: PatchRequest, body: &[u8]) {
        let input = (&req, String::from_utf8_lossy(body));
        let rp = self.with_subresource(req.target, req.status);
        let opts = options(FieldValidation::Warn, req.force);
        match self.api.patch(&rp, req.kind, body, &opts) {
            Ok(w) => assert_json_round_trip(&w.object),
            Err(e) => assert_client_error(&e, &input),
        }
        let Ok(doc) = patch::parse_body(req.kind, body) else {
            return;
        };
        assert_bounded(&doc, body.len(), &input);
        self.assert_idempotent(req, &doc, &input);
    }

    /// Merge, strategic-merge and apply patches are idempotent: once more changes nothing.
    #[track_caller]
    fn assert_idempotent(&self, req: PatchRequest, doc: &Value, input: &dyn std::fmt::Debug) {
        let seed = self.seed(req.target);
        match req.kind {
            PatchKind::Merge | PatchKind::Strategic => {
                let mut once = (*seed).clone();
                if patch::apply_patch(req.kind, &mut once, doc).is_err() {
                    return;
                }
                let mut twice = once.clone();
                patch::apply_patch(req.kind, &mut twice, doc).unwrap_or_else(|e| {
                    panic!("a patch that applied once fails twice ({e}): {input:?}")
                });
                assert_eq!(twice, once, "patching twice differs from once: {input:?}");
            }
            PatchKind::Apply => {
                const T: &str = "2024-05-01T12:00:00Z";
                if field_manager::validate_applied(Some(&seed), doc).is_err() {
                    return;
                }
                let Ok(once) = field_manager::apply(Some(&seed), doc, "fuzz", true, T) else {
                    return;
                };
                let twice = field_manager::apply(Some(&once), doc, "fuzz", false, T)
                    .unwrap_or_else(|c| {
                        panic!("re-applying conflicts with itself ({c}): {input:?}")
                    });
                assert_eq!(twice, once, "applying twice differs from once: {input:?}");
            }
            PatchKind::Json => {}
        }
    }

    /// `?labelSelector=` / `?fieldSelector=` / `?continue=` on a list of every target.
    pub fn selector(&self, target: u8, text: &str) {
        let target = target as usize % TARGETS.len();
        let rp = &self.collections[target];
        let labels = match LabelSelector::parse(text) {
            Ok(s) => Some(s),
            Err(e) => {
                assert!(
                    !e.to_string().is_empty(),
                    "label selector error without text"
                );
                None
            }
        };
        let fields = match FieldSelector::parse_for(text, rp.rt.group, rp.rt.plural) {
            Ok(s) => Some(s),
            Err(e) => {
                assert!(
                    !e.to_string().is_empty(),
                    "field selector error without text"
                );
                None
            }
        };
        let seed = self.seed(target);
        let seed_labels = seed.pointer("/metadata/labels").and_then(Value::as_object);
        if let Some(s) = &labels {
            s.matches(seed_labels);
        }
        if let Some(f) = &fields {
            f.matches(&seed);
        }
        let opts = ListOptions {
            labels,
            fields,
            limit: Some(text.len() % 3),
            continue_token: (!text.is_empty()).then(|| text.to_owned()),
        };
        if let Err(e) = self.api.list(rp, &opts) {
            assert_client_error(&e, &text);
        }
    }
}

/// Splits a fuzz input into its two control bytes and the payload.
pub fn split(data: &[u8]) -> Option<(u8, u8, &[u8])> {
    match data {
        [a, b, rest @ ..] => Some((*a, *b, rest)),
        _ => None,
    }
}
