//! Field ownership (`metadata.managedFields`) and server-side apply.
//!
//! Pure functions over `serde_json::Value` objects, following
//! structured-merge-diff as kube-apiserver uses it: an Update operation
//! takes ownership of what it changed, an Apply operation owns exactly what
//! its configuration names, prunes what it stopped naming, and conflicts
//! with other managers only where it would change a value they own. Without
//! schemas, list semantics are inferred (see `fieldset`).

mod conflict;
mod fieldset;
mod managed;
mod merge;

use serde_json::{Value, json};
use thiserror::Error;

pub use conflict::{Conflict, Conflicts};
use fieldset::{FieldSet, display_path, remove_path};
use managed::{APPLY, Decoded, Entry, UPDATE};

/// Top-level fields no manager ever owns.
const UNTRACKED_TOP: [&str; 2] = ["apiVersion", "kind"];
/// Metadata the server owns (structured-merge-diff's `stripmeta`).
const UNTRACKED_METADATA: [&str; 9] = [
    "name",
    "namespace",
    "creationTimestamp",
    "selfLink",
    "uid",
    "clusterName",
    "generation",
    "managedFields",
    "resourceVersion",
];
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Why an applied configuration is malformed (HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0}")]
pub struct InvalidApply(pub String);

/// The fields a write through `subresource` may own: `/status` writes own
/// only `status`, all other writes everything but `status`.
fn tracked(value: &Value, subresource: Option<&str>) -> FieldSet {
    let mut set = FieldSet::of_value(value);
    set.without_top(&UNTRACKED_TOP, &UNTRACKED_METADATA);
    match subresource {
        Some("status") => set.only_top("status"),
        _ => set.without_top(&["status"], &[]),
    }
    set
}

/// What changed between two objects, as field sets.
struct Comparison {
    /// Added or modified: what the writer takes ownership of.
    taken: FieldSet,
    removed: FieldSet,
}

fn compare(old: &Value, new: &Value, subresource: Option<&str>) -> Comparison {
    let old_set = tracked(old, subresource);
    let new_set = tracked(new, subresource);
    let modified = new_set.intersection(&old_set).modified(old, new);
    Comparison {
        taken: new_set.difference(&old_set).union(&modified),
        removed: old_set.difference(&new_set),
    }
}

/// Records a create, update or patch by `manager` (operation Update) in
/// `new.metadata.managedFields`: the manager takes ownership of every field
/// whose value was added or changed since `old` (None for a create), fields
/// that no longer exist leave every manager's set, and empty entries go.
///
/// A request that carries its own non-empty `managedFields` replaces the
/// recorded ones first (clients may edit them); `[{}]` wipes them.
pub fn record_update(
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    api_version: &str,
    subresource: Option<&str>,
    now: &str,
) {
    let mut entries = match managed::decode(new) {
        Decoded::Reset => return managed::write(new, Vec::new()),
        Decoded::Entries(e) => e,
        Decoded::Missing => managed::entries_of(old),
    };
    let change = compare(old.unwrap_or(&Value::Null), new, subresource);
    for e in &mut entries {
        e.set = e.set.difference(&change.taken).difference(&change.removed);
    }
    let me = Entry::new(manager, UPDATE, api_version, subresource);
    let idx = position_or_push(&mut entries, me);
    if !change.taken.is_empty() {
        entries[idx].set = entries[idx].set.union(&change.taken);
        entries[idx].time = Some(now.to_owned());
    }
    managed::write(new, entries);
}

fn position_or_push(entries: &mut Vec<Entry>, entry: Entry) -> usize {
    match entries.iter().position(|e| e.same_identity(&entry)) {
        Some(i) => i,
        None => {
            entries.push(entry);
            entries.len() - 1
        }
    }
}

/// Server-side apply of `applied` (the manager's full intent for the fields
/// it cares about) onto `live` (None = create) by `manager`. Returns the new
/// object with its managedFields; if it equals `live` nothing needs writing.
///
/// Fields in `applied` are set (associative lists merge by key, atomic lists
/// replace); fields this manager applied before but no longer names are
/// removed unless another manager owns them; changing a value another
/// manager owns is a conflict unless `force`, which takes ownership.
///
/// Check the configuration with [`validate_applied`] first; this function
/// is lenient with malformed input (a missing apiVersion reads as live's).
pub fn apply(
    live: Option<&Value>,
    applied: &Value,
    manager: &str,
    force: bool,
    now: &str,
) -> Result<Value, Conflicts> {
    apply_subresource(live, applied, manager, None, force, now)
}

/// [`apply`] through a subresource: `Some("status")` applies only `status`.
pub fn apply_subresource(
    live: Option<&Value>,
    applied: &Value,
    manager: &str,
    subresource: Option<&str>,
    force: bool,
    now: &str,
) -> Result<Value, Conflicts> {
    let api_version = applied
        .get("apiVersion")
        .or_else(|| live.and_then(|l| l.get("apiVersion")))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let config = reset_fields(&merge::drop_nulls(applied), subresource);
    let mut entries = managed::entries_of(live);
    if let Some(l) = live.filter(|_| entries.is_empty()) {
        // Objects written before field tracking: everything belongs to a
        // placeholder manager, as kube-apiserver does.
        let live_version = l
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or(api_version);
        let mut before = Entry::new("before-first-apply", UPDATE, live_version, None);
        before.set = tracked(l, None);
        entries.push(before);
    }
    let base = live.cloned().unwrap_or_else(|| json!({}));
    let mut merged = merge::merge(Some(&base), &config, None);

    let idx = position_or_push(
        &mut entries,
        Entry::new(manager, APPLY, api_version, subresource),
    );
    let last = std::mem::replace(&mut entries[idx].set, tracked(&config, subresource));
    entries[idx].api_version = api_version.to_owned();
    let owned = entries
        .iter()
        .fold(FieldSet::default(), |acc, e| acc.union(&e.set));
    for path in last.difference(&owned).outermost_members() {
        // A field that went from atomic to keyed (an empty list filled) is
        // still wanted through its items.
        if !owned.has_members_below(&path) {
            remove_path(&mut merged, &path, &owned);
        }
    }

    let change = compare(live.unwrap_or(&Value::Null), &merged, subresource);
    let mut conflicts = Vec::new();
    for (_, e) in entries.iter().enumerate().filter(|(i, _)| *i != idx) {
        for path in e.set.intersection(&change.taken).members() {
            conflicts.push(Conflict::new(e, display_path(&path)));
        }
    }
    if !conflicts.is_empty() && !force {
        return Err(Conflicts::new(conflicts));
    }
    for (_, e) in entries.iter_mut().enumerate().filter(|(i, _)| *i != idx) {
        e.set = e.set.difference(&change.taken).difference(&change.removed);
    }
    let changed = live.is_none_or(|l| without_managed_fields(l) != without_managed_fields(&merged));
    if changed || entries[idx].time.is_none() {
        entries[idx].time = Some(now.to_owned());
    }
    if manager == "kubectl" {
        sync_last_applied(&mut merged, applied);
    }
    managed::write(&mut merged, entries);
    Ok(merged)
}

/// Checks an applied configuration names an object of live's kind and
/// carries no managedFields, as kube-apiserver requires.
pub fn validate_applied(live: Option<&Value>, applied: &Value) -> Result<(), InvalidApply> {
    let invalid = |m: &str| Err(InvalidApply(m.to_owned()));
    if !applied.is_object() {
        return invalid("applied configuration must be a JSON object");
    }
    if applied
        .get("apiVersion")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return invalid("apiVersion must be set in the applied configuration");
    }
    let Some(kind) = applied
        .get("kind")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    else {
        return invalid("kind must be set in the applied configuration");
    };
    if applied
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return invalid("metadata.name must be set in the applied configuration");
    }
    if applied
        .pointer("/metadata/managedFields")
        .is_some_and(|m| !m.is_null())
    {
        return invalid("metadata.managedFields must be nil");
    }
    if let Some(live_kind) = live.and_then(|l| l.get("kind")).and_then(Value::as_str)
        && live_kind != kind
    {
        return invalid(&format!(
            "kind {kind} does not match the existing object's kind {live_kind}"
        ));
    }
    Ok(())
}

/// What the resource strategy lets this write set: a main-resource apply
/// cannot touch status, a status apply touches only status.
fn reset_fields(config: &Value, subresource: Option<&str>) -> Value {
    let mut config = config.clone();
    let Some(obj) = config.as_object_mut() else {
        return config;
    };
    if subresource == Some("status") {
        obj.retain(|k, _| matches!(k.as_str(), "apiVersion" | "kind" | "metadata" | "status"));
        if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.retain(|k, _| k == "name" || k == "namespace");
        }
    } else {
        obj.remove("status");
    }
    config
}

fn without_managed_fields(obj: &Value) -> Value {
    let mut o = obj.clone();
    if let Some(meta) = o.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
    o
}

/// `kubectl apply --server-side` keeps a client-side-apply annotation in
/// step, so that a later client-side apply does not undo its work.
fn sync_last_applied(merged: &mut Value, applied: &Value) {
    let annotations = merged
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut);
    let Some(annotations) = annotations.filter(|a| a.contains_key(LAST_APPLIED)) else {
        return;
    };
    let mut record = applied.clone();
    let emptied = record
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
        .is_some_and(|a| {
            a.remove(LAST_APPLIED);
            a.is_empty()
        });
    if emptied && let Some(meta) = record.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("annotations");
    }
    annotations.insert(
        LAST_APPLIED.to_owned(),
        Value::String(format!("{record}\n")),
    );
}

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
