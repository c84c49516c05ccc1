//! The `/scale` subresource: an `autoscaling/v1` `Scale` view of a Deployment's
//! replicas, which `kubectl scale` and the autoscaler write through.

use serde_json::{Value, json};

use crate::api::Api;
use crate::patch::{self, PatchKind};
use crate::path::ResourcePath;
use crate::status::ApiError;
use crate::store::{object_key, resource_version};
use crate::write::WriteOptions;

/// The Scale view of a Deployment.
pub fn to_scale(obj: &Value) -> Value {
    let meta = &obj["metadata"];
    let selector = obj
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta["name"],
            "namespace": meta["namespace"],
            "uid": meta["uid"],
            "resourceVersion": meta["resourceVersion"],
            "creationTimestamp": meta["creationTimestamp"],
        },
        "spec": {"replicas": obj.pointer("/spec/replicas").cloned().unwrap_or(json!(0))},
        "status": {
            "replicas": obj.pointer("/status/replicas").cloned().unwrap_or(json!(0)),
            "selector": selector,
        },
    })
}

impl Api {
    pub fn update_scale(
        &self,
        rp: &ResourcePath,
        scale: &Value,
        opts: &WriteOptions,
    ) -> Result<Value, ApiError> {
        self.write_scale(rp, opts, |_| Ok(scale.clone()))
    }

    pub fn patch_scale(
        &self,
        rp: &ResourcePath,
        kind: PatchKind,
        body: &[u8],
        opts: &WriteOptions,
    ) -> Result<Value, ApiError> {
        let doc = patch::parse_body(kind, body)?;
        self.write_scale(rp, opts, |current| {
            let mut s = current.clone();
            match kind {
                // A Scale has no lists: every patch flavour is a merge here.
                PatchKind::Apply | PatchKind::Strategic => json_patch::merge(&mut s, &doc),
                _ => patch::apply_patch(kind, &mut s, &doc)?,
            }
            Ok(s)
        })
    }

    fn write_scale(
        &self,
        rp: &ResourcePath,
        opts: &WriteOptions,
        desired: impl FnOnce(&Value) -> Result<Value, ApiError>,
    ) -> Result<Value, ApiError> {
        let rt = rp.rt.clone();
        let name = rp.name.clone().unwrap_or_default();
        let key = object_key(
            &rt.store_prefix(),
            rp.namespace.as_deref().unwrap_or(""),
            &name,
        );
        let stored = self.store.stage(opts.dry_run, |txn| {
            let old = txn
                .get(&key)
                .ok_or_else(|| ApiError::not_found(&rt, &name))?;
            let wanted = desired(&to_scale(&old))?;
            if let Some(rv) = wanted
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
                && !rv.is_empty()
                && rv != resource_version(&old).to_string()
            {
                return Err(ApiError::stale(&rt, &name));
            }
            let replicas = wanted
                .pointer("/spec/replicas")
                .and_then(Value::as_i64)
                .filter(|r| *r >= 0)
                .ok_or_else(|| {
                    ApiError::invalid(
                        &rt,
                        &name,
                        vec![crate::status::Cause {
                            field: "spec.replicas".into(),
                            message: "Invalid value: must be a non-negative integer".into(),
                            reason: "FieldValueInvalid",
                        }],
                    )
                })?;
            let mut obj = (*old).clone();
            obj["spec"]["replicas"] = json!(replicas);
            self.store_update(txn, &rt, &key, &old, obj, None, opts, false)
        })?;
        Ok(to_scale(&stored))
    }
}
