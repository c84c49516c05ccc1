//! Deletion as Kubernetes does it: finalizers hold an object in `deletionTimestamp`
//! until they are removed; ownerReferences cascade (background, foreground, orphan);
//! a namespace takes its contents with it. Cascades run inside the deleting transaction,
//! so a client never sees a dependent outlive its owner's deletion for long.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::Value;

use crate::api::Api;
use crate::path::ResourcePath;
use crate::status::ApiError;
use crate::store::{Txn, object_key, resource_version};
use crate::write::{metadata_mut, now};

const FOREGROUND: &str = "foregroundDeletion";
const ORPHAN: &str = "orphan";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Propagation {
    Background,
    Foreground,
    Orphan,
}

#[derive(Clone, Debug)]
pub struct DeleteOptions {
    pub propagation: Propagation,
    pub precondition_uid: Option<String>,
    pub precondition_rv: Option<String>,
    pub dry_run: bool,
}

impl DeleteOptions {
    /// From a `DeleteOptions` body (may be empty) and the query's `propagationPolicy`.
    pub fn from_request(
        body: &Value,
        query_policy: Option<&str>,
        dry_run: bool,
    ) -> Result<Self, ApiError> {
        let policy = body
            .get("propagationPolicy")
            .and_then(Value::as_str)
            .or(query_policy);
        let orphan_flag = body.get("orphanDependents").and_then(Value::as_bool);
        let propagation = match (policy, orphan_flag) {
            (Some("Foreground"), _) => Propagation::Foreground,
            (Some("Orphan"), _) | (None, Some(true)) => Propagation::Orphan,
            (Some("Background") | None, _) => Propagation::Background,
            (Some(other), _) => {
                return Err(ApiError::bad_request(format!(
                    "propagationPolicy: Unsupported value: \"{other}\": supported values: \"Foreground\", \"Background\", \"Orphan\""
                )));
            }
        };
        let pre = body.get("preconditions");
        Ok(Self {
            propagation,
            precondition_uid: pre
                .and_then(|p| p.get("uid"))
                .and_then(Value::as_str)
                .map(str::to_string),
            precondition_rv: pre
                .and_then(|p| p.get("resourceVersion"))
                .and_then(Value::as_str)
                .map(str::to_string),
            dry_run: dry_run
                || body
                    .get("dryRun")
                    .and_then(Value::as_array)
                    .is_some_and(|a| a.iter().any(|v| v == "All")),
        })
    }
}

fn uid(obj: &Value) -> &str {
    obj.pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn finalizers(obj: &Value) -> Vec<String> {
    obj.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn owner_uids(obj: &Value) -> Vec<String> {
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|r| r.get("uid").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn set_finalizers(obj: &mut Value, list: Vec<String>) {
    let meta = metadata_mut(obj);
    if list.is_empty() {
        meta.remove("finalizers");
    } else {
        meta.insert("finalizers".into(), Value::from(list));
    }
}

fn mark_deleting(obj: &mut Value) {
    let meta = metadata_mut(obj);
    meta.entry("deletionTimestamp")
        .or_insert_with(|| Value::from(now()));
    meta.entry("deletionGracePeriodSeconds")
        .or_insert(Value::from(0));
}

fn is_namespace_key(key: &str) -> bool {
    key.starts_with("/namespaces/")
}

impl Api {
    pub fn delete(&self, rp: &ResourcePath, opts: &DeleteOptions) -> Result<Arc<Value>, ApiError> {
        let rt = &rp.rt;
        let name = rp.name.clone().unwrap_or_default();
        let key = object_key(
            &rt.store_prefix(),
            rp.namespace.as_deref().unwrap_or(""),
            &name,
        );
        self.store.stage(opts.dry_run, |txn| {
            let old = txn.get(&key).ok_or_else(|| ApiError::not_found(rt, &name))?;
            if opts.precondition_uid.as_deref().is_some_and(|u| u != uid(&old))
                || opts
                    .precondition_rv
                    .as_deref()
                    .is_some_and(|r| r != resource_version(&old).to_string())
            {
                return Err(ApiError::Conflict {
                    message: format!(
                        "Operation cannot be fulfilled on {} \"{name}\": the precondition on the object does not match",
                        rt.qualified_name()
                    ),
                    kind: rt.plural.to_string(),
                    name: name.clone(),
                    group: rt.group.to_string(),
                    causes: Vec::new(),
                });
            }
            if old.pointer("/metadata/deletionTimestamp").is_some() {
                return Ok(old);
            }
            let mut obj = (*old).clone();
            let mut fins = finalizers(&obj);
            match opts.propagation {
                Propagation::Foreground if !fins.iter().any(|f| f == FOREGROUND) => {
                    fins.push(FOREGROUND.into());
                }
                Propagation::Orphan if !fins.iter().any(|f| f == ORPHAN) => fins.push(ORPHAN.into()),
                _ => {}
            }
            let is_ns = rt.plural == "namespaces";
            if fins.is_empty() && !is_ns {
                let mut last = obj;
                crate::store::set_resource_version(&mut last, resource_version(&old));
                self.remove(txn, &key)?;
                return Ok(Arc::new(last));
            }
            set_finalizers(&mut obj, fins);
            mark_deleting(&mut obj);
            if is_ns {
                obj["status"]["phase"] = Value::from("Terminating");
            }
            let stored = txn.put(&key, obj);
            self.progress_deletion(txn, &key)?;
            Ok(txn.get(&key).map_or(stored, |now| now))
        })
    }

    /// Move a terminating object forward: cascade its special finalizers, and remove it
    /// once nothing holds it.
    fn progress_deletion(&self, txn: &mut Txn<'_>, key: &str) -> Result<(), ApiError> {
        let Some(obj) = txn.get(key) else {
            return Ok(());
        };
        let owner_uid = uid(&obj).to_string();
        let mut fins = finalizers(&obj);
        if fins.iter().any(|f| f == ORPHAN) {
            for (dk, dep) in dependents(txn, &owner_uid) {
                let mut dep = (*dep).clone();
                if let Some(refs) = dep
                    .pointer_mut("/metadata/ownerReferences")
                    .and_then(Value::as_array_mut)
                {
                    refs.retain(|r| r.get("uid").and_then(Value::as_str) != Some(&owner_uid));
                }
                txn.put(&dk, dep);
            }
            fins.retain(|f| f != ORPHAN);
        }
        if fins.iter().any(|f| f == FOREGROUND) {
            for (dk, _) in dependents(txn, &owner_uid) {
                self.delete_or_mark(txn, &dk)?;
            }
            if dependents(txn, &owner_uid).is_empty() {
                fins.retain(|f| f != FOREGROUND);
            }
        }
        if is_namespace_key(key) {
            let ns = key.rsplit('/').next().unwrap_or_default().to_string();
            for (ck, _) in namespace_contents(txn, &ns) {
                self.delete_or_mark(txn, &ck)?;
            }
            if namespace_contents(txn, &ns).is_empty() {
                // The namespace lifecycle's own finalizer is done once it is empty.
                fins.retain(|f| f != "kubernetes");
            } else {
                fins.push("kubernetes".into());
                fins.dedup();
            }
        }
        if fins.is_empty() {
            return self.remove(txn, key);
        }
        if fins != finalizers(&obj) {
            let mut obj = (*obj).clone();
            set_finalizers(&mut obj, fins);
            txn.put(key, obj);
        }
        Ok(())
    }

    /// Delete a dependent in the background: now if nothing holds it, otherwise mark it.
    fn delete_or_mark(&self, txn: &mut Txn<'_>, key: &str) -> Result<(), ApiError> {
        let Some(obj) = txn.get(key) else {
            return Ok(());
        };
        if obj.pointer("/metadata/deletionTimestamp").is_some() {
            return Ok(());
        }
        if finalizers(&obj).is_empty() && !is_namespace_key(key) {
            return self.remove(txn, key);
        }
        let mut marked = (*obj).clone();
        mark_deleting(&mut marked);
        txn.put(key, marked);
        self.progress_deletion(txn, key)
    }

    /// Remove an object for good, then collect what that frees: dependents with no owner
    /// left, a terminating namespace that became empty, a foreground owner whose last
    /// dependent this was.
    pub(crate) fn remove(&self, txn: &mut Txn<'_>, key: &str) -> Result<(), ApiError> {
        let Some(obj) = txn.get(key) else {
            return Ok(());
        };
        txn.delete(key);
        let gone_uid = uid(&obj).to_string();
        let live: HashSet<String> = txn
            .scan("")
            .iter()
            .map(|(_, v)| uid(v).to_string())
            .collect();
        for (dk, dep) in dependents(txn, &gone_uid) {
            if owner_uids(&dep).iter().all(|u| !live.contains(u)) {
                self.delete_or_mark(txn, &dk)?;
            }
        }
        let by_uid: HashMap<String, String> = txn
            .scan("")
            .into_iter()
            .map(|(k, v)| (uid(&v).to_string(), k))
            .collect();
        for owner in owner_uids(&obj) {
            if let Some(ok) = by_uid.get(&owner)
                && let Some(o) = txn.get(ok)
                && finalizers(&o).iter().any(|f| f == FOREGROUND)
            {
                self.progress_deletion(txn, ok)?;
            }
        }
        if let Some(ns) = obj.pointer("/metadata/namespace").and_then(Value::as_str) {
            let ns_key = object_key("/namespaces", "", ns);
            if txn
                .get(&ns_key)
                .is_some_and(|n| n.pointer("/metadata/deletionTimestamp").is_some())
                && namespace_contents(txn, ns).is_empty()
            {
                self.progress_deletion(txn, &ns_key)?;
            }
        }
        Ok(())
    }
}

fn dependents(txn: &Txn<'_>, owner_uid: &str) -> Vec<(String, Arc<Value>)> {
    if owner_uid.is_empty() {
        return Vec::new();
    }
    txn.scan("")
        .into_iter()
        .filter(|(_, v)| owner_uids(v).iter().any(|u| u == owner_uid))
        .collect()
}

fn namespace_contents(txn: &Txn<'_>, ns: &str) -> Vec<(String, Arc<Value>)> {
    txn.scan("")
        .into_iter()
        .filter(|(k, v)| {
            !is_namespace_key(k)
                && v.pointer("/metadata/namespace").and_then(Value::as_str) == Some(ns)
        })
        .collect()
}
