//! Create, update and patch: system metadata, optimistic concurrency, subresource rules,
//! admission and field ownership, in one store transaction per request.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::admission::{self, ClusterSettings, FieldValidation};
use crate::api::Api;
use crate::field_manager;
use crate::names;
use crate::patch::{self, PatchKind};
use crate::path::ResourcePath;
use crate::resource::{ResourceType, Schema};
use crate::status::{ApiError, Cause};
use crate::store::{Txn, object_key, resource_version};

mod body;
pub(crate) mod yaml;

pub use body::decode_object;

/// Query parameters shared by writes.
#[derive(Clone, Debug)]
pub struct WriteOptions {
    pub dry_run: bool,
    pub field_manager: String,
    pub field_validation: FieldValidation,
    pub force: bool,
}

/// The outcome of a write.
#[derive(Debug)]
pub struct Written {
    pub object: Arc<Value>,
    pub warnings: Vec<String>,
    pub created: bool,
}

pub fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

impl Api {
    pub fn create(
        &self,
        rp: &ResourcePath,
        mut obj: Value,
        opts: &WriteOptions,
    ) -> Result<Written, ApiError> {
        let rt = &rp.rt;
        check_type_meta(rt, &mut obj)?;
        let namespace = write_namespace(rp, &mut obj)?;
        names::assign_generated_name(&mut obj);
        let name = admission::object_name(&obj);
        names::validate(rt, &name)?;
        let cluster = ClusterSettings::read(|key| self.store.get(key));
        let mut warnings = prepare_new(rt, &mut obj, opts, cluster)?;
        let now = now();
        field_manager::record_update(
            None,
            &mut obj,
            &opts.field_manager,
            &rt.api_version(),
            None,
            &now,
        );
        let key = object_key(&rt.store_prefix(), &namespace, &name);
        let object = self.store.stage(opts.dry_run, |txn| {
            self.check_namespace_open(txn, rt, &namespace)?;
            if txn.get(&key).is_some() {
                return Err(ApiError::already_exists(rt, &name));
            }
            Ok(txn.put(&key, obj))
        })?;
        warnings.dedup();
        Ok(Written {
            object,
            warnings,
            created: true,
        })
    }

    /// PUT of an object or its `/status`.
    pub fn update(
        &self,
        rp: &ResourcePath,
        mut obj: Value,
        opts: &WriteOptions,
    ) -> Result<Written, ApiError> {
        let rt = rp.rt.clone();
        check_type_meta(&rt, &mut obj)?;
        let namespace = write_namespace(rp, &mut obj)?;
        let name = rp.name.clone().unwrap_or_default();
        if admission::object_name(&obj) != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({}) does not match the name on the URL ({name})",
                admission::object_name(&obj)
            )));
        }
        let key = object_key(&rt.store_prefix(), &namespace, &name);
        let mut warnings = admission::prune(&rt, &mut obj, opts.field_validation)?;
        let object = self.store.stage(opts.dry_run, |txn| {
            let old = txn
                .get(&key)
                .ok_or_else(|| ApiError::not_found(&rt, &name))?;
            check_resource_version(&rt, &name, &obj, &old)?;
            self.store_update(
                txn,
                &rt,
                &key,
                &old,
                obj,
                rp.subresource.as_deref(),
                opts,
                false,
            )
        })?;
        warnings.dedup();
        Ok(Written {
            object,
            warnings,
            created: false,
        })
    }

    /// PATCH of an object or its `/status`; server-side apply may create.
    pub fn patch(
        &self,
        rp: &ResourcePath,
        kind: PatchKind,
        body: &[u8],
        opts: &WriteOptions,
    ) -> Result<Written, ApiError> {
        let rt = rp.rt.clone();
        let namespace = rp.namespace.clone().unwrap_or_default();
        let name = rp.name.clone().unwrap_or_default();
        let key = object_key(&rt.store_prefix(), &namespace, &name);
        let patch_doc = patch::parse_body(kind, body)?;
        if kind == PatchKind::Strategic && matches!(rt.schema, Schema::Serving(_)) {
            return Err(ApiError::UnsupportedMediaType {
                message: "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml".into(),
            });
        }
        let warnings = std::cell::RefCell::new(Vec::new());
        let mut created = false;
        let object = self.store.stage(opts.dry_run, |txn| {
            let live = txn.get(&key);
            if kind == PatchKind::Apply {
                field_manager::validate_applied(live.as_deref(), &patch_doc)
                    .map_err(|e| ApiError::bad_request(e.0))?;
            }
            let Some(old) = live else {
                if kind != PatchKind::Apply || rp.subresource.is_some() {
                    return Err(ApiError::not_found(&rt, &name));
                }
                created = true;
                return self.apply_create(txn, rp, &key, &patch_doc, opts, &warnings);
            };
            let mut obj = if kind == PatchKind::Apply {
                field_manager::apply_subresource(
                    Some(&old),
                    &patch_doc,
                    &opts.field_manager,
                    rp.subresource.as_deref(),
                    opts.force,
                    &now(),
                )
                .map_err(|c| conflict(&rt, &name, c))?
            } else {
                let mut target = (*old).clone();
                patch::apply_patch(kind, &mut target, &patch_doc)?;
                target
            };
            if rp.subresource.is_none() {
                *warnings.borrow_mut() = admission::prune(&rt, &mut obj, opts.field_validation)?;
            }
            check_resource_version(&rt, &name, &obj, &old)?;
            self.store_update(
                txn,
                &rt,
                &key,
                &old,
                obj,
                rp.subresource.as_deref(),
                opts,
                kind == PatchKind::Apply,
            )
        })?;
        Ok(Written {
            object,
            warnings: warnings.into_inner(),
            created,
        })
    }

    fn apply_create(
        &self,
        txn: &mut Txn<'_>,
        rp: &ResourcePath,
        key: &str,
        applied: &Value,
        opts: &WriteOptions,
        warnings: &std::cell::RefCell<Vec<String>>,
    ) -> Result<Arc<Value>, ApiError> {
        let rt = &rp.rt;
        let name = rp.name.clone().unwrap_or_default();
        let namespace = rp.namespace.clone().unwrap_or_default();
        let mut obj = field_manager::apply(None, applied, &opts.field_manager, opts.force, &now())
            .map_err(|c| conflict(rt, &name, c))?;
        check_type_meta(rt, &mut obj)?;
        write_namespace(rp, &mut obj)?;
        let managed = obj.pointer("/metadata/managedFields").cloned();
        names::validate(rt, &name)?;
        let cluster = ClusterSettings::read(|key| txn.get(key));
        *warnings.borrow_mut() = prepare_new(rt, &mut obj, opts, cluster)?;
        if let Some(m) = managed {
            metadata_mut(&mut obj).insert("managedFields".into(), m);
        }
        self.check_namespace_open(txn, rt, &namespace)?;
        Ok(txn.put(key, obj))
    }

    /// The common tail of update and patch: subresource rules, admission, generation,
    /// ownership, finalization; a no-op write stores nothing.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn store_update(
        &self,
        txn: &mut Txn<'_>,
        rt: &ResourceType,
        key: &str,
        old: &Arc<Value>,
        mut obj: Value,
        subresource: Option<&str>,
        opts: &WriteOptions,
        applied: bool,
    ) -> Result<Arc<Value>, ApiError> {
        let name = admission::object_name(old);
        if subresource == Some("status") {
            // Only status changes through /status.
            let status = obj.get("status").cloned();
            let managed = obj.pointer("/metadata/managedFields").cloned();
            obj = (**old).clone();
            match status {
                Some(s) => obj["status"] = s,
                None => {
                    obj.as_object_mut().map(|o| o.remove("status"));
                }
            }
            if applied && let Some(m) = managed {
                metadata_mut(&mut obj).insert("managedFields".into(), m);
            }
        } else {
            if rt.status_subresource {
                match old.get("status") {
                    Some(s) => obj["status"] = s.clone(),
                    None => {
                        obj.as_object_mut().map(|o| o.remove("status"));
                    }
                }
            }
            keep_system_metadata(old, &mut obj);
            if admission::object_name(&obj) != name {
                return Err(ApiError::invalid(
                    rt,
                    &name,
                    vec![Cause {
                        field: "metadata.name".into(),
                        message: "field is immutable".into(),
                        reason: "FieldValueInvalid",
                    }],
                ));
            }
            let cluster = ClusterSettings::read(|key| txn.get(key));
            admission::admit(rt, &mut obj, Some(old), cluster)?;
            if rt.has_generation && spec_changed(old, &obj) {
                let g = old
                    .pointer("/metadata/generation")
                    .and_then(Value::as_i64)
                    .unwrap_or(0);
                metadata_mut(&mut obj).insert("generation".into(), Value::from(g + 1));
            }
        }
        if !applied {
            field_manager::record_update(
                Some(old),
                &mut obj,
                &opts.field_manager,
                &rt.api_version(),
                subresource,
                &now(),
            );
        }
        if same_ignoring_rv(old, &obj) {
            return Ok(old.clone());
        }
        let terminating = obj.pointer("/metadata/deletionTimestamp").is_some();
        let finalizers_left = obj
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|f| !f.is_empty());
        if terminating && !finalizers_left {
            let mut last = obj;
            crate::store::set_resource_version(&mut last, resource_version(old));
            self.remove(txn, key)?;
            return Ok(Arc::new(last));
        }
        Ok(txn.put(key, obj))
    }

    pub(crate) fn check_namespace_open(
        &self,
        txn: &Txn<'_>,
        rt: &ResourceType,
        namespace: &str,
    ) -> Result<(), ApiError> {
        if !rt.namespaced {
            return Ok(());
        }
        let ns = txn
            .get(&object_key("/namespaces", "", namespace))
            .ok_or_else(|| ApiError::namespace_not_found(namespace))?;
        if ns.pointer("/metadata/deletionTimestamp").is_some() {
            return Err(ApiError::Forbidden {
                message: format!(
                    "{} is forbidden: unable to create new content in namespace {namespace} because it is being terminated",
                    rt.qualified_name()
                ),
            });
        }
        Ok(())
    }
}

/// Optimistic concurrency: a write that names a resourceVersion must name the stored one.
fn check_resource_version(
    rt: &ResourceType,
    name: &str,
    obj: &Value,
    old: &Value,
) -> Result<(), ApiError> {
    let wanted = obj
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !wanted.is_empty() && wanted != resource_version(old).to_string() {
        return Err(ApiError::stale(rt, name));
    }
    Ok(())
}

/// What every new object goes through: pruning, server-owned metadata reset and then
/// assigned (uid, creationTimestamp, generation), status dropped where a subresource
/// owns it, and admission. Returns the unknown-field warnings.
fn prepare_new(
    rt: &ResourceType,
    obj: &mut Value,
    opts: &WriteOptions,
    cluster: ClusterSettings,
) -> Result<Vec<String>, ApiError> {
    let warnings = admission::prune(rt, obj, opts.field_validation)?;
    reset_system_metadata(obj);
    if rt.status_subresource && rt.plural != "namespaces" {
        obj.as_object_mut().map(|o| o.remove("status"));
    }
    admission::admit(rt, obj, None, cluster)?;
    let meta = metadata_mut(obj);
    meta.insert("uid".into(), Value::from(uuid::Uuid::new_v4().to_string()));
    meta.insert("creationTimestamp".into(), Value::from(now()));
    if rt.has_generation {
        meta.insert("generation".into(), Value::from(1));
    }
    Ok(warnings)
}

fn conflict(rt: &ResourceType, name: &str, c: field_manager::Conflicts) -> ApiError {
    let causes: Vec<Cause> =
        c.0.iter()
            .map(|x| Cause {
                field: x.field.clone(),
                message: format!("conflict with \"{}\"", x.manager),
                reason: "FieldManagerConflict",
            })
            .collect();
    ApiError::Conflict {
        message: c.to_string(),
        kind: rt.plural.to_string(),
        name: name.to_string(),
        group: rt.group.to_string(),
        causes,
    }
}

pub(crate) fn metadata_mut(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = Value::Object(Map::new());
    }
    match obj.get_mut("metadata") {
        Some(Value::Object(m)) => m,
        _ => unreachable!("metadata was just made an object"),
    }
}

/// apiVersion and kind must match the URL; missing ones are filled in.
fn check_type_meta(rt: &ResourceType, obj: &mut Value) -> Result<(), ApiError> {
    let Some(map) = obj.as_object_mut() else {
        return Err(ApiError::bad_request(
            "the request body must be a JSON object",
        ));
    };
    let want_av = rt.api_version();
    match map.get("apiVersion").and_then(Value::as_str) {
        None | Some("") => {
            map.insert("apiVersion".into(), Value::from(want_av));
        }
        Some(av) if av == want_av => {}
        Some(av) => {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({av}) does not match the expected API version ({want_av})"
            )));
        }
    }
    match map.get("kind").and_then(Value::as_str) {
        None | Some("") => {
            map.insert("kind".into(), Value::from(rt.kind.clone()));
        }
        Some(k) if k == rt.kind => {}
        Some(k) => {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({k}) does not match the expected kind ({})",
                rt.kind
            )));
        }
    }
    Ok(())
}

/// The namespace a write lands in, checked against the body's.
fn write_namespace(rp: &ResourcePath, obj: &mut Value) -> Result<String, ApiError> {
    if !rp.rt.namespaced {
        metadata_mut(obj).remove("namespace");
        return Ok(String::new());
    }
    let Some(ns) = rp.namespace.clone() else {
        return Err(ApiError::bad_request(
            "a namespaced object must be written under /namespaces/{namespace}/",
        ));
    };
    let meta = metadata_mut(obj);
    match meta.get("namespace").and_then(Value::as_str) {
        None | Some("") => {
            meta.insert("namespace".into(), Value::from(ns.clone()));
        }
        Some(n) if n == ns => {}
        Some(_) => {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
    }
    Ok(ns)
}

/// On create, clients cannot set what the server owns.
fn reset_system_metadata(obj: &mut Value) {
    let meta = metadata_mut(obj);
    for k in [
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
    ] {
        meta.remove(k);
    }
}

/// On update, what the server owns comes from the stored object.
fn keep_system_metadata(old: &Value, obj: &mut Value) {
    let old_meta = old.get("metadata").and_then(Value::as_object);
    let meta = metadata_mut(obj);
    for k in [
        "uid",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
    ] {
        match old_meta.and_then(|m| m.get(k)) {
            Some(v) => {
                meta.insert(k.into(), v.clone());
            }
            None => {
                meta.remove(k);
            }
        }
    }
    if !meta.contains_key("managedFields")
        && let Some(m) = old_meta.and_then(|m| m.get("managedFields"))
    {
        meta.insert("managedFields".into(), m.clone());
    }
}

/// Whether anything but metadata and status changed: that is what bumps generation.
fn spec_changed(old: &Value, new: &Value) -> bool {
    let strip = |v: &Value| -> Map<String, Value> {
        let mut m = v.as_object().cloned().unwrap_or_default();
        m.remove("metadata");
        m.remove("status");
        m
    };
    strip(old) != strip(new)
}

fn same_ignoring_rv(old: &Value, new: &Value) -> bool {
    let strip = |v: &Value| -> Value {
        let mut v = v.clone();
        if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("resourceVersion");
            // A write that changes nothing but the time stamps of managedFields is a no-op.
            if let Some(Value::Array(entries)) = m.get_mut("managedFields") {
                for e in entries {
                    e.as_object_mut().map(|e| e.remove("time"));
                }
            }
        }
        v
    };
    strip(old) == strip(new)
}
