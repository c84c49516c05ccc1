//! What every write passes before it is stored, as admission does in a real API server:
//! pruning of unknown fields (reported per `fieldValidation`), Knative defaulting and
//! validation for serving kinds, and the few built-in defaults clients rely on.

use base64::Engine;
use serde_json::{Map, Value};

use crate::resource::{ResourceType, Schema};
use crate::status::{ApiError, Cause};

/// The `fieldValidation` query parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldValidation {
    Ignore,
    Warn,
    Strict,
}

impl FieldValidation {
    pub fn parse(s: Option<&str>) -> Result<Self, ApiError> {
        match s {
            None | Some("") | Some("Warn") => Ok(FieldValidation::Warn),
            Some("Ignore") => Ok(FieldValidation::Ignore),
            Some("Strict") => Ok(FieldValidation::Strict),
            Some(other) => Err(ApiError::bad_request(format!(
                "fieldValidation: unsupported value \"{other}\": supported values are \"Ignore\", \"Warn\", \"Strict\""
            ))),
        }
    }
}

/// Drop fields the kind's schema does not know. Returns the warnings to send, or an
/// error under `Strict`.
pub fn prune(
    rt: &ResourceType,
    obj: &mut Value,
    validation: FieldValidation,
) -> Result<Vec<String>, ApiError> {
    let name = object_name(obj);
    let pruned = match rt.schema {
        Schema::Builtin(codec) => codec(obj).map_err(|message| {
            ApiError::invalid(
                rt,
                &name,
                vec![Cause {
                    field: String::new(),
                    message,
                    reason: "FieldValueInvalid",
                }],
            )
        })?,
        Schema::Serving(kind) => crds::prune(kind, obj).map_err(|errs| {
            ApiError::invalid(rt, &name, errs.into_iter().map(field_cause).collect())
        })?,
    };
    let mut unknown = Vec::new();
    unknown_fields(obj, &pruned, String::new(), &mut unknown);
    // Metadata that k8s-openapi's ObjectMeta models is kept as-is.
    if unknown.is_empty() {
        *obj = pruned;
        return Ok(Vec::new());
    }
    let messages: Vec<String> = unknown
        .iter()
        .map(|f| format!("unknown field \"{f}\""))
        .collect();
    match validation {
        FieldValidation::Strict => Err(ApiError::bad_request(format!(
            "strict decoding error: {}",
            messages.join(", ")
        ))),
        FieldValidation::Warn => {
            *obj = pruned;
            Ok(messages)
        }
        FieldValidation::Ignore => {
            *obj = pruned;
            Ok(Vec::new())
        }
    }
}

/// Paths present in `before` but gone from `after` (nulls count as absent).
fn unknown_fields(before: &Value, after: &Value, path: String, out: &mut Vec<String>) {
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => {
            for (k, v) in b {
                if v.is_null() {
                    continue;
                }
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match a.get(k) {
                    Some(av) => unknown_fields(v, av, p, out),
                    None => out.push(p),
                }
            }
        }
        (Value::Array(b), Value::Array(a)) => {
            for (i, (bv, av)) in b.iter().zip(a).enumerate() {
                unknown_fields(bv, av, format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

fn field_cause(e: crds::FieldError) -> Cause {
    Cause {
        field: e.field,
        message: e.message,
        reason: "FieldValueInvalid",
    }
}

pub fn object_name(obj: &Value) -> String {
    obj.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Where Knative keeps the autoscaler's cluster-wide settings, which its webhook reads.
pub const CONFIG_AUTOSCALER_KEY: &str = "/configmaps/knative-serving/config-autoscaler";
/// Where Knative keeps the revision defaults and limits.
pub const CONFIG_DEFAULTS_KEY: &str = "/configmaps/knative-serving/config-defaults";
const SYSTEM_NAMESPACE: &str = "knative-serving";

/// What admission reads from the cluster's own configuration, as Knative's webhook
/// reads `config-autoscaler` and `config-defaults`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClusterSettings {
    pub allow_zero_initial_scale: bool,
    pub defaults: crds::ClusterDefaults,
}

impl ClusterSettings {
    /// From the stored ConfigMaps, read through `get` (the store, or the current
    /// transaction). A stored `config-defaults` was validated when written.
    pub fn read(get: impl Fn(&str) -> Option<std::sync::Arc<Value>>) -> Self {
        let allow = get(CONFIG_AUTOSCALER_KEY)
            .and_then(|cm| {
                cm.pointer("/data/allow-zero-initial-scale")
                    .and_then(Value::as_str)
                    .map(|v| v.trim().eq_ignore_ascii_case("true"))
            })
            .unwrap_or(false);
        let defaults = get(CONFIG_DEFAULTS_KEY)
            .and_then(|cm| config_map_data(&cm))
            .and_then(|data| crds::ClusterDefaults::from_config_map_data(&data).ok())
            .unwrap_or_default();
        Self {
            allow_zero_initial_scale: allow,
            defaults,
        }
    }
}

fn config_map_data(cm: &Value) -> Option<std::collections::BTreeMap<String, String>> {
    let data = cm.get("data")?.as_object()?;
    Some(
        data.iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
            .collect(),
    )
}

/// Knative's ConfigMap webhook: an invalid `config-defaults` is refused, naming the key.
fn validate_system_config_map(rt: &ResourceType, obj: &Value) -> Result<(), ApiError> {
    let namespace = obj.pointer("/metadata/namespace").and_then(Value::as_str);
    if rt.plural != "configmaps"
        || namespace != Some(SYSTEM_NAMESPACE)
        || object_name(obj) != crds::CONFIG_DEFAULTS_NAME
    {
        return Ok(());
    }
    let data = config_map_data(obj).unwrap_or_default();
    crds::ClusterDefaults::from_config_map_data(&data)
        .map(drop)
        .map_err(|e| ApiError::invalid(rt, &object_name(obj), vec![field_cause(e)]))
}

/// Defaulting and validation for the kind, with `old` set on update.
pub fn admit(
    rt: &ResourceType,
    obj: &mut Value,
    old: Option<&Value>,
    cluster: ClusterSettings,
) -> Result<(), ApiError> {
    let invalid = |obj: &Value, errs: Vec<crds::FieldError>| {
        ApiError::invalid(
            rt,
            &object_name(obj),
            errs.into_iter().map(field_cause).collect(),
        )
    };
    match rt.schema {
        Schema::Serving(kind) => {
            cluster
                .defaults
                .scoped(|| crds::admit(kind, obj, old))
                .map_err(|errs| invalid(obj, errs))?;
            if !cluster.allow_zero_initial_scale {
                let errs = crds::validation::refuse_zero_initial_scale(kind, obj);
                if !errs.is_empty() {
                    return Err(invalid(obj, errs));
                }
            }
            Ok(())
        }
        Schema::Builtin(_) => {
            builtin_defaults(rt, obj);
            validate_system_config_map(rt, obj)
        }
    }
}

fn builtin_defaults(rt: &ResourceType, obj: &mut Value) {
    match rt.plural {
        "deployments" => {
            if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
                spec.entry("replicas").or_insert(Value::from(1));
                spec.entry("revisionHistoryLimit")
                    .or_insert(Value::from(10));
                spec.entry("progressDeadlineSeconds")
                    .or_insert(Value::from(600));
            }
        }
        "services" => service_defaults(obj),
        "secrets" => fold_string_data(obj),
        "namespaces" => {
            let status = obj.as_object_mut().map(|o| {
                o.entry("status")
                    .or_insert_with(|| Value::Object(Map::new()))
            });
            if let Some(Value::Object(s)) = status {
                s.entry("phase").or_insert(Value::from("Active"));
            }
        }
        _ => {}
    }
}

/// Kubernetes' Service defaults (`SetDefaults_Service`): `ClusterIP`, no session
/// affinity, TCP ports whose `targetPort` is the port. No `clusterIP` is allocated:
/// see the `services` row of the resource table.
fn service_defaults(obj: &mut Value) {
    let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    spec.entry("type").or_insert(Value::from("ClusterIP"));
    spec.entry("sessionAffinity").or_insert(Value::from("None"));
    for port in spec
        .get_mut("ports")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object_mut)
    {
        port.entry("protocol").or_insert(Value::from("TCP"));
        if let Some(number) = port.get("port").cloned() {
            port.entry("targetPort").or_insert(number);
        }
    }
}

/// `stringData` is write-only: the API server folds it into base64 `data`.
fn fold_string_data(obj: &mut Value) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    let Some(Value::Object(string_data)) = map.remove("stringData") else {
        return;
    };
    let data = map
        .entry("data")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(data) = data {
        for (k, v) in string_data {
            let s = v.as_str().unwrap_or_default();
            data.insert(
                k,
                Value::String(base64::engine::general_purpose::STANDARD.encode(s)),
            );
        }
    }
    if !map.contains_key("type") {
        map.insert("type".into(), Value::from("Opaque"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_fields_lists_dropped_paths_and_ignores_nulls() {
        let before = json!({"a": 1, "b": {"c": 2, "d": null}, "e": [{"f": 1, "g": 2}]});
        let after = json!({"a": 1, "b": {}, "e": [{"f": 1}]});
        let mut out = Vec::new();
        unknown_fields(&before, &after, String::new(), &mut out);
        assert_eq!(out, vec!["b.c".to_string(), "e[0].g".to_string()]);
    }

    #[test]
    fn string_data_folds_into_base64_data() {
        let mut s = json!({"stringData": {"k": "hello"}, "data": {"a": "YQ=="}});
        fold_string_data(&mut s);
        assert_eq!(
            s,
            json!({"data": {"a": "YQ==", "k": "aGVsbG8="}, "type": "Opaque"})
        );
    }
}
