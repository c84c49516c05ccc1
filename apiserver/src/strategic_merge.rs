//! `application/strategic-merge-patch+json`, as kubectl sends for built-in
//! kinds: JSON merge patch (RFC 7386) where lists of objects merge by key,
//! plus the patch directives (`$patch`, `$retainKeys`,
//! `$deleteFromPrimitiveList/<f>`, `$setElementOrder/<f>`), which are
//! honoured and never stored.
//!
//! Without Go struct tags, merge keys come from field names (see
//! [`merge_key`]); lists with no key are replaced, as for `patchStrategy`
//! unset.

use serde_json::{Map, Value};
use thiserror::Error;

/// Why a strategic merge patch was rejected (HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PatchError {
    #[error("strategic merge patch must be a JSON object")]
    NotAnObject,
    #[error("unknown patch directive {directive:?} at {at}")]
    UnknownDirective { directive: String, at: String },
    #[error("invalid value for {directive} at {at}: must be a list")]
    NotAList { directive: String, at: String },
    #[error("cannot delete the whole object with $patch: delete")]
    DeleteRoot,
}

const PATCH: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const DELETE_FROM: &str = "$deleteFromPrimitiveList/";
const ELEMENT_ORDER: &str = "$setElementOrder/";

/// Applies a strategic merge patch to `target` in place.
pub fn strategic_merge_patch(target: &mut Value, patch: &Value) -> Result<(), PatchError> {
    let Value::Object(p) = patch else {
        return Err(PatchError::NotAnObject);
    };
    if p.get(PATCH).and_then(Value::as_str) == Some("delete") {
        return Err(PatchError::DeleteRoot);
    }
    merge_object(target, p, "")
}

/// The key that identifies items of the list under `field`, if it merges.
fn merge_key(field: &str, target: &[Value], patch: &[Value]) -> Option<&'static str> {
    let all_have = |key: &str| {
        let has = |v: &Value| v.get(key).is_some() || is_directive_only(v);
        target.iter().all(|v| v.get(key).is_some()) && patch.iter().all(has)
    };
    let known: Option<&'static str> = match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets" => Some("name"),
        "volumeMounts" => Some("mountPath"),
        "volumeDevices" => Some("devicePath"),
        "ports" => Some("containerPort"),
        "ownerReferences" => Some("uid"),
        "conditions" => Some("type"),
        "hostAliases" => Some("ip"),
        _ => None,
    };
    match known {
        Some(key) => all_have(key).then_some(key),
        // Container ports without names fall back here to containerPort above;
        // any other list merges by name only when every item has one.
        None if !patch.is_empty() && patch.iter().all(Value::is_object) && all_have("name") => {
            Some("name")
        }
        None => None,
    }
}

/// `{"$patch": "replace"}` as a list element carries no data.
fn is_directive_only(v: &Value) -> bool {
    v.as_object()
        .is_some_and(|m| m.len() == 1 && m.contains_key(PATCH))
}

fn merge_object(
    target: &mut Value,
    patch: &Map<String, Value>,
    at: &str,
) -> Result<(), PatchError> {
    match patch.get(PATCH).map(|v| v.as_str().unwrap_or_default()) {
        None | Some("merge") => {}
        Some("replace") => {
            *target = Value::Object(Map::new());
            let mut rest = patch.clone();
            rest.remove(PATCH);
            return merge_object(target, &rest, at);
        }
        Some(other) => {
            return Err(PatchError::UnknownDirective {
                directive: format!("$patch: {other}"),
                at: at.to_owned(),
            });
        }
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    for (key, value) in patch {
        let path = format!("{at}.{key}");
        if key == PATCH || key == RETAIN_KEYS || key.starts_with(ELEMENT_ORDER) {
            continue;
        }
        if let Some(field) = key.strip_prefix(DELETE_FROM) {
            delete_from_list(target, field, value, &path)?;
            continue;
        }
        if key.starts_with('$') {
            return Err(PatchError::UnknownDirective {
                directive: key.clone(),
                at: path,
            });
        }
        let Some(obj) = target.as_object_mut() else {
            continue;
        };
        match value {
            Value::Null => {
                obj.remove(key);
            }
            Value::Object(p) if p.get(PATCH).and_then(Value::as_str) == Some("delete") => {
                obj.remove(key);
            }
            Value::Object(p) => {
                let slot = obj.entry(key.clone()).or_insert(Value::Null);
                merge_object(slot, p, &path)?;
            }
            Value::Array(p) => {
                let slot = obj.entry(key.clone()).or_insert(Value::Null);
                merge_list(slot, key, p, &path)?;
            }
            scalar => {
                obj.insert(key.clone(), scalar.clone());
            }
        }
    }
    for (key, order) in patch
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix(ELEMENT_ORDER)?, v)))
    {
        reorder(target, key, order);
    }
    if let Some(retain) = patch.get(RETAIN_KEYS) {
        let Some(keep) = retain.as_array() else {
            return Err(PatchError::NotAList {
                directive: RETAIN_KEYS.to_owned(),
                at: at.to_owned(),
            });
        };
        if let Some(obj) = target.as_object_mut() {
            obj.retain(|k, _| keep.iter().any(|r| r.as_str() == Some(k)));
        }
    }
    Ok(())
}

fn delete_from_list(
    target: &mut Value,
    field: &str,
    values: &Value,
    at: &str,
) -> Result<(), PatchError> {
    let Some(values) = values.as_array() else {
        return Err(PatchError::NotAList {
            directive: format!("{DELETE_FROM}{field}"),
            at: at.to_owned(),
        });
    };
    if let Some(list) = target.get_mut(field).and_then(Value::as_array_mut) {
        list.retain(|v| !values.contains(v));
    }
    Ok(())
}

fn merge_list(
    target: &mut Value,
    field: &str,
    patch: &[Value],
    at: &str,
) -> Result<(), PatchError> {
    let replace = patch
        .iter()
        .any(|v| is_directive_only(v) && v.get(PATCH).and_then(Value::as_str) == Some("replace"));
    let current: Vec<Value> = target.as_array().cloned().unwrap_or_default();
    if replace || !target.is_array() {
        let mut out = Vec::new();
        for item in patch.iter().filter(|v| !is_directive_only(v)) {
            out.push(fresh(item, at)?);
        }
        *target = Value::Array(out);
        return Ok(());
    }
    // Primitive lists replace, except finalizers, which Kubernetes merges.
    if patch.iter().all(|v| !v.is_object()) {
        let mut out = if field == "finalizers" {
            current
        } else {
            Vec::new()
        };
        for v in patch {
            if !out.contains(v) || field != "finalizers" {
                out.push(v.clone());
            }
        }
        *target = Value::Array(out);
        return Ok(());
    }
    let Some(key) = merge_key(field, &current, patch) else {
        let mut out = Vec::new();
        for item in patch.iter().filter(|v| !is_directive_only(v)) {
            out.push(fresh(item, at)?);
        }
        *target = Value::Array(out);
        return Ok(());
    };
    let mut out = current;
    for item in patch.iter().filter(|v| !is_directive_only(v)) {
        let Some(p) = item.as_object() else { continue };
        let id = p.get(key);
        let pos = out.iter().position(|t| t.get(key) == id);
        match (p.get(PATCH).and_then(Value::as_str), pos) {
            (Some("delete"), Some(i)) => {
                out.remove(i);
            }
            (Some("delete"), None) => {}
            (Some("replace"), _) => {
                let mut rest = p.clone();
                rest.remove(PATCH);
                let v = fresh(&Value::Object(rest), at)?;
                match pos {
                    Some(i) => out[i] = v,
                    None => out.push(v),
                }
            }
            (_, Some(i)) => merge_object(&mut out[i], p, at)?,
            (_, None) => out.push(fresh(item, at)?),
        }
    }
    *target = Value::Array(out);
    Ok(())
}

/// A patch value landing where nothing was: merged into nothing, so nulls
/// and directives inside it are resolved rather than stored.
fn fresh(item: &Value, at: &str) -> Result<Value, PatchError> {
    match item {
        Value::Object(p) => {
            let mut v = Value::Object(Map::new());
            merge_object(&mut v, p, at)?;
            Ok(v)
        }
        Value::Array(items) => Ok(Value::Array(
            items
                .iter()
                .filter(|v| !is_directive_only(v))
                .map(|v| fresh(v, at))
                .collect::<Result<_, _>>()?,
        )),
        other => Ok(other.clone()),
    }
}

/// `$setElementOrder/<field>`: listed items first in the given order (by
/// merge key or value), then any the server had that the patch omitted.
fn reorder(target: &mut Value, field: &str, order: &Value) {
    let (Some(list), Some(order)) = (
        target.get_mut(field).and_then(Value::as_array_mut),
        order.as_array(),
    ) else {
        return;
    };
    let rank = |item: &Value| {
        order.iter().position(|o| match o.as_object() {
            Some(keys) => !keys.is_empty() && keys.iter().all(|(k, v)| item.get(k) == Some(v)),
            None => o == item,
        })
    };
    let mut items: Vec<(Option<usize>, usize, Value)> = list
        .drain(..)
        .enumerate()
        .map(|(i, v)| (rank(&v), i, v))
        .collect();
    items.sort_by_key(|(r, i, _)| (r.unwrap_or(usize::MAX), *i));
    list.extend(items.into_iter().map(|(_, _, v)| v));
}

#[cfg(test)]
mod tests;
