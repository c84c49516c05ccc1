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
use crate::store::{Selected, Store, StoreError, object_key};
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
    pub items: Vec<ListItem>,
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
        // A store key is `{store prefix}/{namespace}/{name}`: past the store prefix and
        // its slash it is the sort key a continue token holds.
        let skip_key = rp.rt.store_prefix().len() + 1;
        let (candidates, rv): (Vec<ListItem>, u64) =
            match opts.fields.as_ref().and_then(|f| f.pinned_name()) {
                // `metadata.name=x` with a namespace is a point lookup.
                Some(name) if rp.namespace.is_some() || !rp.rt.namespaced => {
                    let key = format!("{prefix}{name}");
                    let rv = self.store.current_rv();
                    let found = self.store.get(&key).filter(|o| {
                        opts.matches(o)
                            && start_after
                                .as_ref()
                                .is_none_or(|after| sort_key(o).as_str() > after.as_str())
                    });
                    (found.into_iter().map(ListItem::Parsed).collect(), rv)
                }
                _ => {
                    let (selected, rv) = self.store.select(&prefix, |key, labels| {
                        start_after.as_ref().is_none_or(|after| {
                            key.get(skip_key..).unwrap_or_default() > after.as_str()
                        }) && opts
                            .labels
                            .as_ref()
                            .is_none_or(|s| s.matches_by(|k| labels.get(k)))
                    });
                    (selected.into_iter().map(ListItem::Stored).collect(), rv)
                }
            };
        // Labels and the continue token are decided; a field selector needs the object
        // (parsed to decide, then dropped: the page keeps what is stored).
        let fields = opts.fields.as_ref();
        let wanted = |c: ListItem| -> Option<ListItem> {
            fields.is_none_or(|f| f.matches(&c.object())).then_some(c)
        };
        let mut items: Vec<ListItem> = Vec::new();
        let limit = opts.limit.filter(|l| *l > 0);
        let mut continue_token = None;
        let mut remaining = None;
        let mut rest = candidates.into_iter();
        while let Some(candidate) = rest.next() {
            if limit.is_some_and(|l| items.len() == l) {
                // What is left past the page: without a field selector, counted unparsed.
                let left = match fields {
                    None => 1 + rest.len(),
                    Some(_) => std::iter::once(candidate)
                        .chain(rest)
                        .filter_map(wanted)
                        .count(),
                };
                if left > 0 {
                    if let Some(last) = items.last() {
                        continue_token = Some(encode_continue(&last.sort_key(skip_key)));
                    }
                    remaining = Some(left);
                }
                break;
            }
            items.extend(wanted(candidate));
        }
        Ok(ListPage {
            items,
            rv,
            continue_token,
            remaining,
        })
    }
}

/// An object a list returns: parsed already, or still as stored (a JSON list writes
/// it out as it is, see [`ListItem::json`]).
#[derive(Debug)]
pub enum ListItem {
    Parsed(Arc<Value>),
    Stored(Selected),
}

impl ListItem {
    /// The object, parsed if it was not.
    pub fn object(&self) -> Arc<Value> {
        match self {
            ListItem::Parsed(o) => o.clone(),
            ListItem::Stored(s) => s.object(),
        }
    }

    /// The object's compact JSON.
    pub fn json(&self) -> std::borrow::Cow<'_, [u8]> {
        match self {
            ListItem::Parsed(o) => serde_json::to_vec(&**o).unwrap_or_default().into(),
            ListItem::Stored(s) => s.json().into(),
        }
    }

    /// `namespace/name`, what a continue token holds; `skip` is the length of the store
    /// prefix and its slash, which a stored key starts with.
    fn sort_key(&self, skip: usize) -> String {
        match self {
            ListItem::Parsed(o) => sort_key(o),
            ListItem::Stored(s) => s.key.get(skip..).unwrap_or_default().to_string(),
        }
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

#[cfg(test)]
mod tests;
