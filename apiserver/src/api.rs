//! The API's state (store + resource table) and its read verbs: get and list with
//! selectors and pagination.

use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use serde_json::{Value, json};

use crate::path::ResourcePath;
use crate::resource::ResourceTable;
use crate::selector::{FieldSelector, LabelSelector};
use crate::status::ApiError;
use crate::store::{Store, StoreError, object_key};
use crate::write::now;

/// Namespaces that exist from the first start, as in a fresh cluster with Knative.
const SYSTEM_NAMESPACES: [&str; 5] = [
    "default",
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "knative-serving",
];

#[derive(Debug)]
pub struct Api {
    pub store: Store,
    pub table: ResourceTable,
}

/// Selection and paging of a list or watch.
#[derive(Debug, Default)]
pub struct ListOptions {
    pub labels: Option<LabelSelector>,
    pub fields: Option<FieldSelector>,
    pub limit: Option<usize>,
    pub continue_token: Option<String>,
}

impl ListOptions {
    pub fn matches(&self, obj: &Value) -> bool {
        let labels = obj.pointer("/metadata/labels").and_then(Value::as_object);
        self.labels.as_ref().is_none_or(|s| s.matches(labels))
            && self.fields.as_ref().is_none_or(|s| s.matches(obj))
    }
}

/// A page of a list.
#[derive(Debug)]
pub struct ListPage {
    pub items: Vec<Arc<Value>>,
    pub rv: u64,
    pub continue_token: Option<String>,
    pub remaining: Option<usize>,
}

impl Api {
    pub fn open(db_path: &Path) -> Result<Self, StoreError> {
        let api = Self {
            store: Store::open(db_path)?,
            table: ResourceTable::standard(),
        };
        api.bootstrap()?;
        Ok(api)
    }

    fn bootstrap(&self) -> Result<(), StoreError> {
        self.store.transact(false, |txn| {
            for ns in SYSTEM_NAMESPACES {
                let key = object_key("/namespaces", "", ns);
                if txn.get(&key).is_none() {
                    txn.put(
                        &key,
                        json!({
                            "apiVersion": "v1",
                            "kind": "Namespace",
                            "metadata": {
                                "name": ns,
                                "uid": uuid::Uuid::new_v4().to_string(),
                                "creationTimestamp": now(),
                                "labels": {"kubernetes.io/metadata.name": ns},
                            },
                            "spec": {"finalizers": ["kubernetes"]},
                            "status": {"phase": "Active"},
                        }),
                    );
                }
            }
            Ok::<(), StoreError>(())
        })
    }

    pub fn get(&self, rp: &ResourcePath) -> Result<Arc<Value>, ApiError> {
        let name = rp.name.as_deref().unwrap_or_default();
        let key = object_key(
            &rp.rt.store_prefix(),
            rp.namespace.as_deref().unwrap_or(""),
            name,
        );
        self.store
            .get(&key)
            .ok_or_else(|| ApiError::not_found(&rp.rt, name))
    }

    /// The key prefix a collection request covers.
    pub fn collection_prefix(rp: &ResourcePath) -> String {
        match &rp.namespace {
            Some(ns) => format!("{}/{ns}/", rp.rt.store_prefix()),
            None => format!("{}/", rp.rt.store_prefix()),
        }
    }

    pub fn list(&self, rp: &ResourcePath, opts: &ListOptions) -> Result<ListPage, ApiError> {
        let prefix = Self::collection_prefix(rp);
        let start_after = match &opts.continue_token {
            Some(t) => Some(decode_continue(t)?),
            None => None,
        };
        let (all, rv) = match opts.fields.as_ref().and_then(|f| f.pinned_name()) {
            // `metadata.name=x` with a namespace is a point lookup.
            Some(name) if rp.namespace.is_some() || !rp.rt.namespaced => {
                let key = format!("{prefix}{name}");
                let rv = self.store.current_rv();
                (self.store.get(&key).into_iter().collect(), rv)
            }
            _ => self.store.list(&prefix),
        };
        let mut selected = all.into_iter().filter(|o| opts.matches(o)).filter(|o| {
            start_after
                .as_ref()
                .is_none_or(|after| sort_key(o).as_str() > after.as_str())
        });
        let mut items: Vec<Arc<Value>> = Vec::new();
        let limit = opts.limit.filter(|l| *l > 0);
        let mut continue_token = None;
        let mut remaining = None;
        for obj in selected.by_ref() {
            if limit.is_some_and(|l| items.len() == l) {
                let rest = 1 + selected.count();
                if let Some(last) = items.last() {
                    continue_token = Some(encode_continue(&sort_key(last)));
                }
                remaining = Some(rest);
                break;
            }
            items.push(obj);
        }
        Ok(ListPage {
            items,
            rv,
            continue_token,
            remaining,
        })
    }
}

/// Objects list in namespace/name order, which is also store key order within a prefix.
fn sort_key(obj: &Value) -> String {
    let ns = obj
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    format!("{ns}/{name}")
}

fn encode_continue(after: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json!({"after": after}).to_string())
}

fn decode_continue(token: &str) -> Result<String, ApiError> {
    let bad = || ApiError::bad_request("continue: invalid value: the continue token is not valid");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    v.get("after")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(bad)
}
