//! Sets of field paths in the `FieldsV1` encoding structured-merge-diff uses
//! for `managedFields`: `f:<field>`, `k:<json key>`, `v:<json value>`,
//! `i:<index>`, with `.` marking a node that is itself a member.
//!
//! There is no schema here, so list semantics come from the data: lists of
//! objects that all carry a unique `name` (or `containerPort` for ports,
//! `uid` for ownerReferences, `type` for conditions) are associative,
//! `finalizers` is a set, and every other list is atomic (a single leaf).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// A tree of path elements; `member` says the path ending here is in the set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FieldSet {
    member: bool,
    children: BTreeMap<String, FieldSet>,
}

/// How a list's items are identified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ListKind {
    /// Items keyed by these fields (sorted).
    Map(Vec<&'static str>),
    /// Scalar items identified by value.
    Set,
    Atomic,
}

/// Chooses list semantics from the list's field name and contents.
pub(crate) fn list_kind(field: Option<&str>, items: &[Value]) -> ListKind {
    if items.is_empty() {
        return ListKind::Atomic;
    }
    if field == Some("finalizers") && items.iter().all(Value::is_string) {
        let unique = items
            .iter()
            .map(ToString::to_string)
            .collect::<std::collections::BTreeSet<_>>()
            .len()
            == items.len();
        return if unique {
            ListKind::Set
        } else {
            ListKind::Atomic
        };
    }
    let candidates: &[&'static str] = match field {
        Some("ownerReferences") => &["uid"],
        Some("conditions") => &["type"],
        Some("ports") => &["name", "containerPort"],
        _ => &["name"],
    };
    for &key in candidates {
        let keys: Option<Vec<&Value>> = items
            .iter()
            .map(|i| i.get(key).filter(|k| is_key(k)))
            .collect();
        if let Some(keys) = keys {
            let distinct = keys
                .iter()
                .map(ToString::to_string)
                .collect::<std::collections::BTreeSet<_>>();
            if distinct.len() == keys.len() {
                return ListKind::Map(vec![key]);
            }
        }
    }
    ListKind::Atomic
}

fn is_key(v: &Value) -> bool {
    v.is_string() || v.is_number()
}

/// The path element naming `item` inside a list of the given kind.
pub(crate) fn item_element(kind: &ListKind, item: &Value) -> Option<String> {
    match kind {
        ListKind::Map(keys) => {
            let mut key = Map::new();
            for k in keys {
                key.insert((*k).to_owned(), item.get(*k)?.clone());
            }
            Some(format!("k:{}", Value::Object(key)))
        }
        ListKind::Set => Some(format!("v:{item}")),
        ListKind::Atomic => None,
    }
}

/// Finds the item a `k:`/`v:`/`i:` element names, by position.
fn find_item(items: &[Value], element: &str) -> Option<usize> {
    if let Some(key) = element.strip_prefix("k:") {
        let key: Map<String, Value> = serde_json::from_str(key).ok()?;
        items
            .iter()
            .position(|i| key.iter().all(|(k, v)| i.get(k) == Some(v)))
    } else if let Some(v) = element.strip_prefix("v:") {
        let v: Value = serde_json::from_str(v).ok()?;
        items.iter().position(|i| *i == v)
    } else {
        element
            .strip_prefix("i:")?
            .parse()
            .ok()
            .filter(|i| *i < items.len())
    }
}

/// The value a single path element selects under `v`.
pub(crate) fn child_value<'a>(v: &'a Value, element: &str) -> Option<&'a Value> {
    match element.strip_prefix("f:") {
        Some(field) => v.as_object()?.get(field),
        None => {
            let items = v.as_array()?;
            items.get(find_item(items, element)?)
        }
    }
}

fn child_value_mut<'a>(v: &'a mut Value, element: &str) -> Option<&'a mut Value> {
    match element.strip_prefix("f:") {
        Some(field) => v.as_object_mut()?.get_mut(field),
        None => {
            let items = v.as_array_mut()?;
            let idx = find_item(items, element)?;
            items.get_mut(idx)
        }
    }
}

/// Removes the value at `path`; parents left as empty objects by the
/// removal are removed too (as Go's `omitempty` would drop them) unless
/// `keep` owns them.
pub(crate) fn remove_path(root: &mut Value, path: &[String], keep: &FieldSet) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let Some(parent) = parents
        .iter()
        .try_fold(&mut *root, |v, e| child_value_mut(v, e))
    else {
        return;
    };
    match (last.strip_prefix("f:"), parent) {
        (Some(field), Value::Object(m)) => {
            m.remove(field);
        }
        (None, Value::Array(items)) => {
            if let Some(idx) = find_item(items, last) {
                items.remove(idx);
            }
        }
        _ => return,
    }
    let emptied = parents
        .iter()
        .try_fold(&*root, |v, e| child_value(v, e))
        .is_some_and(|p| p.as_object().is_some_and(Map::is_empty));
    if emptied && parents.len() > 1 && !keep.has_member(parents) {
        remove_path(root, parents, keep);
    }
}

/// Renders a path as Kubernetes prints it in conflicts:
/// `.spec.containers[name="c"].image`.
pub(crate) fn display_path(path: &[String]) -> String {
    let mut out = String::new();
    for element in path {
        if let Some(f) = element.strip_prefix("f:") {
            out.push('.');
            out.push_str(f);
        } else if let Some(k) = element.strip_prefix("k:") {
            let key: Map<String, Value> = serde_json::from_str(k).unwrap_or_default();
            let parts: Vec<String> = key.iter().map(|(k, v)| format!("{k}={v}")).collect();
            out.push_str(&format!("[{}]", parts.join(",")));
        } else if let Some(v) = element.strip_prefix("v:") {
            out.push_str(&format!("[={v}]"));
        } else if let Some(i) = element.strip_prefix("i:") {
            out.push_str(&format!("[{i}]"));
        }
    }
    out
}

// === impl FieldSet ===

impl FieldSet {
    /// Every leaf field of `value`, plus associative-list items themselves.
    pub(crate) fn of_value(value: &Value) -> Self {
        let mut set = Self::default();
        set.insert_value(None, value);
        set
    }

    fn insert_value(&mut self, field: Option<&str>, value: &Value) {
        match value {
            Value::Object(m) if !m.is_empty() => {
                for (k, v) in m {
                    self.children
                        .entry(format!("f:{k}"))
                        .or_default()
                        .insert_value(Some(k), v);
                }
            }
            Value::Array(items) => {
                let kind = list_kind(field, items);
                if kind == ListKind::Atomic {
                    self.member = true;
                    return;
                }
                for item in items {
                    if let Some(element) = item_element(&kind, item) {
                        let child = self.children.entry(element).or_default();
                        child.member = true;
                        if item.is_object() {
                            child.insert_value(None, item);
                        }
                    }
                }
            }
            _ => self.member = true,
        }
    }

    /// Decodes a `fieldsV1` object; unknown shapes decode to what they can.
    pub(crate) fn from_fields_v1(v: &Value) -> Self {
        let mut set = Self::default();
        for (k, child) in v.as_object().into_iter().flatten() {
            if k == "." {
                set.member = true;
                continue;
            }
            let mut c = Self::from_fields_v1(child);
            if child.as_object().is_none_or(Map::is_empty) {
                c.member = true;
            }
            set.children.insert(k.clone(), c);
        }
        set
    }

    pub(crate) fn to_fields_v1(&self) -> Value {
        let mut m = Map::new();
        if self.member && !self.children.is_empty() {
            m.insert(".".to_owned(), Value::Object(Map::new()));
        }
        for (k, c) in &self.children {
            m.insert(k.clone(), c.to_fields_v1());
        }
        Value::Object(m)
    }

    pub(crate) fn is_empty(&self) -> bool {
        !self.member && self.children.values().all(Self::is_empty)
    }

    fn combine(&self, other: &Self, op: fn(bool, bool) -> bool) -> Self {
        let empty = Self::default();
        let mut children = BTreeMap::new();
        let keys: std::collections::BTreeSet<&String> =
            self.children.keys().chain(other.children.keys()).collect();
        for k in keys {
            let a = self.children.get(k).unwrap_or(&empty);
            let b = other.children.get(k).unwrap_or(&empty);
            let c = a.combine(b, op);
            if !c.is_empty() {
                children.insert(k.clone(), c);
            }
        }
        Self {
            member: op(self.member, other.member),
            children,
        }
    }

    pub(crate) fn union(&self, other: &Self) -> Self {
        self.combine(other, |a, b| a || b)
    }

    pub(crate) fn difference(&self, other: &Self) -> Self {
        self.combine(other, |a, b| a && !b)
    }

    pub(crate) fn intersection(&self, other: &Self) -> Self {
        self.combine(other, |a, b| a && b)
    }

    /// Removes whole subtrees: anything at or under a top-level `f:<name>`
    /// for each name, or under `f:metadata` for the metadata names.
    pub(crate) fn without_top(&mut self, top: &[&str], metadata: &[&str]) {
        for t in top {
            self.children.remove(&format!("f:{t}"));
        }
        if let Some(meta) = self.children.get_mut("f:metadata") {
            for m in metadata {
                meta.children.remove(&format!("f:{m}"));
            }
            meta.member = false;
            if meta.is_empty() {
                self.children.remove("f:metadata");
            }
        }
    }

    /// Keeps only the subtree under top-level `f:<name>`.
    pub(crate) fn only_top(&mut self, name: &str) {
        let key = format!("f:{name}");
        self.children.retain(|k, _| *k == key);
        self.member = false;
    }

    pub(crate) fn has_member(&self, path: &[String]) -> bool {
        path.iter()
            .try_fold(self, |node, e| node.children.get(e))
            .is_some_and(|n| n.member)
    }

    /// Whether any member lies strictly below `path`.
    pub(crate) fn has_members_below(&self, path: &[String]) -> bool {
        path.iter()
            .try_fold(self, |node, e| node.children.get(e))
            .is_some_and(|node| node.children.values().any(|c| !c.is_empty()))
    }

    /// Every member path, in order.
    pub(crate) fn members(&self) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        self.collect(&mut Vec::new(), &mut out, false);
        out
    }

    /// Member paths with no member ancestor: what to remove to remove the
    /// whole set (a list item goes whole, not field by field, since its key
    /// fields are what finds it).
    pub(crate) fn outermost_members(&self) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        self.collect(&mut Vec::new(), &mut out, true);
        out
    }

    fn collect(&self, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>, outermost: bool) {
        if self.member {
            out.push(prefix.clone());
            if outermost {
                return;
            }
        }
        for (k, c) in &self.children {
            prefix.push(k.clone());
            c.collect(prefix, out, outermost);
            prefix.pop();
        }
    }

    /// Members of `self` (taken from the new value) whose value differs
    /// between `old` and `new`; associative items count as changed only
    /// through their fields.
    pub(crate) fn modified(&self, old: &Value, new: &Value) -> Self {
        let mut out = Self::default();
        for (k, c) in &self.children {
            let (Some(o), Some(n)) = (child_value(old, k), child_value(new, k)) else {
                continue;
            };
            let mut sub = c.modified(o, n);
            if c.member && c.children.is_empty() && o != n {
                sub.member = true;
            }
            if !sub.is_empty() {
                out.children.insert(k.clone(), sub);
            }
        }
        out
    }
}
