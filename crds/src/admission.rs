//! The admission entry points the embedded API server calls: decode, default, validate,
//! encode — or just decode/encode to prune unknown fields.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::configuration::Configuration;
use crate::defaults::{default_configuration, default_revision, default_route, default_service};
use crate::error::FieldError;
use crate::kind::{API_VERSION, ServingKind};
use crate::revision::Revision;
use crate::route::Route;
use crate::service::Service;
use crate::validation::{
    validate_configuration, validate_revision, validate_route, validate_service,
};

/// Admission: deserialize `obj` (a full object as JSON, incl. apiVersion/kind/metadata) into the
/// typed kind, apply Knative defaulting, validate (with `old` = the stored object on update, for
/// update rules), and write the defaulted object back into `obj`. On error `obj` is untouched.
/// A JSON shape error (e.g. string where int expected) becomes a FieldError naming the field path.
pub fn admit(
    kind: ServingKind,
    obj: &mut serde_json::Value,
    old: Option<&serde_json::Value>,
) -> Result<(), Vec<FieldError>> {
    let out = match kind {
        ServingKind::Service => {
            admit_as::<Service>(kind, obj, old, default_service, validate_service)
        }
        ServingKind::Configuration => admit_as::<Configuration>(
            kind,
            obj,
            old,
            default_configuration,
            validate_configuration,
        ),
        ServingKind::Revision => {
            admit_as::<Revision>(kind, obj, old, default_revision, validate_revision)
        }
        ServingKind::Route => {
            admit_as::<Route>(kind, obj, old, |r, _| default_route(r), validate_route)
        }
    }?;
    *obj = out;
    Ok(())
}

/// Round-trip through the typed struct without defaulting (drops unknown fields) — used for
/// strict field validation / pruning.
pub fn prune(
    kind: ServingKind,
    obj: &serde_json::Value,
) -> Result<serde_json::Value, Vec<FieldError>> {
    match kind {
        ServingKind::Service => encode(&decode::<Service>(kind, obj)?),
        ServingKind::Configuration => encode(&decode::<Configuration>(kind, obj)?),
        ServingKind::Revision => encode(&decode::<Revision>(kind, obj)?),
        ServingKind::Route => encode(&decode::<Route>(kind, obj)?),
    }
}

fn admit_as<K: DeserializeOwned + Serialize>(
    kind: ServingKind,
    obj: &Value,
    old: Option<&Value>,
    default: impl Fn(&mut K, Option<&K>),
    validate: impl Fn(&K, Option<&K>) -> Vec<FieldError>,
) -> Result<Value, Vec<FieldError>> {
    let mut new: K = decode(kind, obj)?;
    let old: Option<K> = match old {
        // The stored object was admitted before; if it no longer decodes, name it clearly.
        Some(o) => Some(decode(kind, o).map_err(|errs| {
            errs.into_iter()
                .map(|e| FieldError::new(format!("(stored object) {}", e.field), e.message))
                .collect::<Vec<_>>()
        })?),
        None => None,
    };
    default(&mut new, old.as_ref());
    let errs = validate(&new, old.as_ref());
    if !errs.is_empty() {
        return Err(errs);
    }
    let mut out = encode(&new)?;
    // Defaulting never touches metadata, so hand it back verbatim: server-owned fields
    // (managedFields, timestamps, unknown future fields) stay exactly as the server wrote them.
    if let (Some(meta), Some(map)) = (obj.get("metadata"), out.as_object_mut()) {
        map.insert("metadata".to_owned(), meta.clone());
    }
    Ok(out)
}

fn decode<K: DeserializeOwned>(kind: ServingKind, obj: &Value) -> Result<K, Vec<FieldError>> {
    let mut errs = Vec::new();
    if !obj.is_object() {
        return Err(vec![FieldError::new("", "expected a JSON object")]);
    }
    if let Some(v) = obj
        .get("apiVersion")
        .filter(|v| v.as_str() != Some(API_VERSION))
    {
        errs.push(FieldError::new(
            "apiVersion",
            format!("expected {API_VERSION:?}, got {v}"),
        ));
    }
    if let Some(v) = obj.get("kind").filter(|v| v.as_str() != Some(kind.kind())) {
        errs.push(FieldError::new(
            "kind",
            format!("expected {:?}, got {v}", kind.kind()),
        ));
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    serde_path_to_error::deserialize::<_, K>(obj).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { String::new() } else { path };
        vec![FieldError::new(field, e.into_inner().to_string())]
    })
}

fn encode<K: Serialize>(obj: &K) -> Result<Value, Vec<FieldError>> {
    serde_json::to_value(obj)
        .map_err(|e| vec![FieldError::new("", format!("cannot encode object: {e}"))])
}

#[cfg(test)]
mod tests;
