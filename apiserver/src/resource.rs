//! The table of resource types the server knows. Adding a kind is a row here: storage,
//! routing, discovery and OpenAPI are generic over [`ResourceType`].

use std::sync::Arc;

use crds::ServingKind;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::Value;

use crate::table::PrinterColumn;

/// How objects of a kind are decoded for pruning and strict field validation.
#[derive(Clone, Copy, Debug)]
pub enum Schema {
    /// A built-in kind: round-trip through its k8s-openapi type.
    Builtin(fn(&Value) -> Result<Value, String>),
    /// A serving.knative.dev kind: `crds` prunes, defaults and validates it.
    Serving(ServingKind),
}

/// One resource type served by the API.
#[derive(Clone, Debug)]
pub struct ResourceType {
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    pub singular: String,
    pub kind: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    pub status_subresource: bool,
    pub scale_subresource: bool,
    /// Whether spec changes bump `metadata.generation` (kinds with a spec).
    pub has_generation: bool,
    pub schema: Schema,
    pub columns: Vec<PrinterColumn>,
    /// The OpenAPI v3 schema of the object, where we have one (the CRDs').
    pub openapi_schema: Option<Value>,
}

impl ResourceType {
    /// `apps/v1`, or `v1` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The key prefix under which objects of this type are stored: `group/plural`.
    pub fn store_prefix(&self) -> String {
        format!("{}/{}", self.group, self.plural)
    }

    /// `services.serving.knative.dev`, or `configmaps` for the core group, as
    /// Kubernetes names a resource in error messages.
    pub fn qualified_name(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    pub fn verbs(&self) -> Vec<&'static str> {
        vec![
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ]
    }
}

/// All resource types the server knows, in discovery order.
#[derive(Debug)]
pub struct ResourceTable {
    types: Vec<Arc<ResourceType>>,
}

impl ResourceTable {
    pub fn standard() -> Self {
        let mut types: Vec<ResourceType> = builtin_types();
        types.extend(crds::crds().iter().map(serving_type));
        Self {
            types: types.into_iter().map(Arc::new).collect(),
        }
    }

    pub fn all(&self) -> &[Arc<ResourceType>] {
        &self.types
    }

    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<&Arc<ResourceType>> {
        self.types
            .iter()
            .find(|t| t.group == group && t.version == version && t.plural == plural)
    }

    pub fn find_by_prefix(&self, prefix: &str) -> Option<&Arc<ResourceType>> {
        self.types.iter().find(|t| t.store_prefix() == prefix)
    }

    /// The groups in discovery order with their (single) version.
    pub fn groups(&self) -> Vec<(&'static str, &'static str)> {
        let mut out: Vec<(&'static str, &'static str)> = Vec::new();
        for t in &self.types {
            if !out.contains(&(t.group, t.version)) {
                out.push((t.group, t.version));
            }
        }
        out
    }
}

fn roundtrip<T>(v: &Value) -> Result<Value, String>
where
    T: serde::de::DeserializeOwned + serde::Serialize,
{
    let typed: T = serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            e.inner().to_string()
        } else {
            format!("{path}: {}", e.inner())
        }
    })?;
    serde_json::to_value(typed).map_err(|e| e.to_string())
}

struct Builtin {
    group: &'static str,
    plural: &'static str,
    kind: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
    status: bool,
    scale: bool,
    generation: bool,
    codec: fn(&Value) -> Result<Value, String>,
}

fn builtin_types() -> Vec<ResourceType> {
    use k8s_openapi::api::{apps, coordination, core, discovery};
    let rows = [
        Builtin {
            group: "",
            plural: "namespaces",
            kind: "Namespace",
            namespaced: false,
            short_names: &["ns"],
            status: true,
            scale: false,
            generation: false,
            codec: roundtrip::<core::v1::Namespace>,
        },
        Builtin {
            group: "",
            plural: "configmaps",
            kind: "ConfigMap",
            namespaced: true,
            short_names: &["cm"],
            status: false,
            scale: false,
            generation: false,
            codec: roundtrip::<core::v1::ConfigMap>,
        },
        Builtin {
            group: "",
            plural: "secrets",
            kind: "Secret",
            namespaced: true,
            short_names: &[],
            status: false,
            scale: false,
            generation: false,
            codec: roundtrip::<core::v1::Secret>,
        },
        Builtin {
            group: "",
            plural: "events",
            kind: "Event",
            namespaced: true,
            short_names: &["ev"],
            status: false,
            scale: false,
            generation: false,
            codec: roundtrip::<core::v1::Event>,
        },
        // No virtual IP: nothing on a single node proxies Service IPs, so `clusterIP`
        // stays unset (kubectl shows an empty CLUSTER-IP); consumers read the EndpointSlices
        // written for the Service's selector.
        Builtin {
            group: "",
            plural: "services",
            kind: "Service",
            namespaced: true,
            short_names: &["svc"],
            status: true,
            scale: false,
            generation: false,
            codec: roundtrip::<core::v1::Service>,
        },
        // The runner's: a Pod per replica, bound to its Node (single-node mode).
        Builtin {
            group: "",
            plural: "pods",
            kind: "Pod",
            namespaced: true,
            short_names: &["po"],
            status: true,
            scale: false,
            generation: false,
            codec: roundtrip::<core::v1::Pod>,
        },
        Builtin {
            group: "",
            plural: "nodes",
            kind: "Node",
            namespaced: false,
            short_names: &["no"],
            status: true,
            scale: false,
            generation: false,
            codec: roundtrip::<core::v1::Node>,
        },
        Builtin {
            group: "apps",
            plural: "deployments",
            kind: "Deployment",
            namespaced: true,
            short_names: &["deploy"],
            status: true,
            scale: true,
            generation: true,
            codec: roundtrip::<apps::v1::Deployment>,
        },
        Builtin {
            group: "discovery.k8s.io",
            plural: "endpointslices",
            kind: "EndpointSlice",
            namespaced: true,
            short_names: &[],
            status: false,
            scale: false,
            generation: false,
            codec: roundtrip::<discovery::v1::EndpointSlice>,
        },
        Builtin {
            group: "coordination.k8s.io",
            plural: "leases",
            kind: "Lease",
            namespaced: true,
            short_names: &[],
            status: false,
            scale: false,
            generation: false,
            codec: roundtrip::<coordination::v1::Lease>,
        },
    ];
    rows.into_iter()
        .map(|b| ResourceType {
            group: b.group,
            version: "v1",
            plural: b.plural,
            singular: b.kind.to_lowercase(),
            kind: b.kind.to_string(),
            namespaced: b.namespaced,
            short_names: b.short_names.iter().map(|s| (*s).to_string()).collect(),
            categories: if matches!(b.plural, "deployments" | "pods") {
                vec!["all".to_string()]
            } else {
                Vec::new()
            },
            status_subresource: b.status,
            scale_subresource: b.scale,
            has_generation: b.generation,
            schema: Schema::Builtin(b.codec),
            columns: crate::table::builtin_columns(b.plural),
            openapi_schema: None,
        })
        .collect()
}

fn serving_type(crd: &CustomResourceDefinition) -> ResourceType {
    let spec = &crd.spec;
    let names = &spec.names;
    let version = &spec.versions[0];
    let plural: &'static str = match crds::ServingKind::from_plural(&names.plural) {
        Some(k) => k.plural(),
        None => unreachable!("crds::crds() returns only serving kinds"),
    };
    let kind = crds::ServingKind::from_plural(plural).expect("checked above");
    let columns = version
        .additional_printer_columns
        .iter()
        .flatten()
        .map(|c| PrinterColumn {
            name: c.name.clone(),
            type_: c.type_.clone(),
            format: c.format.clone().unwrap_or_default(),
            description: c.description.clone().unwrap_or_default(),
            priority: c.priority.unwrap_or(0),
            json_path: c.json_path.clone(),
        })
        .collect();
    let openapi_schema = version
        .schema
        .as_ref()
        .and_then(|s| s.open_api_v3_schema.as_ref())
        .and_then(|s| serde_json::to_value(s).ok());
    ResourceType {
        group: "serving.knative.dev",
        version: "v1",
        plural,
        singular: names
            .singular
            .clone()
            .unwrap_or_else(|| names.kind.to_lowercase()),
        kind: names.kind.clone(),
        namespaced: spec.scope == "Namespaced",
        short_names: names.short_names.clone().unwrap_or_default(),
        categories: names.categories.clone().unwrap_or_default(),
        status_subresource: true,
        scale_subresource: false,
        has_generation: true,
        schema: Schema::Serving(kind),
        columns,
        openapi_schema,
    }
}
