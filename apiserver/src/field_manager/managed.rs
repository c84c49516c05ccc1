//! `metadata.managedFields` entries: decoding, identity and encoding in the
//! order kube-apiserver writes them.

use serde_json::{Map, Value, json};

use super::fieldset::FieldSet;

pub(crate) const APPLY: &str = "Apply";
pub(crate) const UPDATE: &str = "Update";

/// One manager's ownership record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) manager: String,
    pub(crate) operation: String,
    pub(crate) api_version: String,
    pub(crate) time: Option<String>,
    pub(crate) subresource: Option<String>,
    pub(crate) set: FieldSet,
}

impl Entry {
    pub(crate) fn new(
        manager: &str,
        operation: &str,
        api_version: &str,
        subresource: Option<&str>,
    ) -> Self {
        Self {
            manager: manager.to_owned(),
            operation: operation.to_owned(),
            api_version: api_version.to_owned(),
            time: None,
            subresource: subresource.map(str::to_owned),
            set: FieldSet::default(),
        }
    }

    /// Kubernetes identifies appliers without their apiVersion (so a new
    /// version's apply replaces the old record) but updaters with it.
    pub(crate) fn same_identity(&self, other: &Self) -> bool {
        self.manager == other.manager
            && self.operation == other.operation
            && self.subresource == other.subresource
            && (self.operation == APPLY || self.api_version == other.api_version)
    }

    fn decode(v: &Value) -> Option<Self> {
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        let operation = text("operation")?;
        if operation != APPLY && operation != UPDATE {
            return None;
        }
        Some(Self {
            manager: text("manager")?,
            operation,
            api_version: text("apiVersion").unwrap_or_default(),
            time: text("time"),
            subresource: text("subresource").filter(|s| !s.is_empty()),
            set: v
                .get("fieldsV1")
                .map(FieldSet::from_fields_v1)
                .unwrap_or_default(),
        })
    }

    fn encode(&self) -> Value {
        let mut m = Map::new();
        m.insert("manager".into(), json!(self.manager));
        m.insert("operation".into(), json!(self.operation));
        m.insert("apiVersion".into(), json!(self.api_version));
        if let Some(t) = &self.time {
            m.insert("time".into(), json!(t));
        }
        m.insert("fieldsType".into(), json!("FieldsV1"));
        m.insert("fieldsV1".into(), self.set.to_fields_v1());
        if let Some(s) = &self.subresource {
            m.insert("subresource".into(), json!(s));
        }
        Value::Object(m)
    }
}

/// What an object's `metadata.managedFields` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decoded {
    /// Absent, empty or undecodable: fall back to the live object's.
    Missing,
    /// `[{}]`: the documented way for a client to wipe managedFields.
    Reset,
    Entries(Vec<Entry>),
}

pub(crate) fn decode(obj: &Value) -> Decoded {
    let Some(list) = obj
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
    else {
        return Decoded::Missing;
    };
    if list.len() == 1 && list[0].as_object().is_some_and(Map::is_empty) {
        return Decoded::Reset;
    }
    let entries: Option<Vec<Entry>> = list.iter().map(Entry::decode).collect();
    match entries {
        Some(e) if !e.is_empty() => Decoded::Entries(e),
        _ => Decoded::Missing,
    }
}

/// Entries currently on `obj`, or none.
pub(crate) fn entries_of(obj: Option<&Value>) -> Vec<Entry> {
    match obj.map(decode) {
        Some(Decoded::Entries(e)) => e,
        _ => Vec::new(),
    }
}

/// Writes entries sorted as kube-apiserver does (operation, time, manager,
/// apiVersion, subresource), dropping empty ones; no entries removes the key.
pub(crate) fn write(obj: &mut Value, mut entries: Vec<Entry>) {
    entries.retain(|e| !e.set.is_empty());
    entries.sort_by(|a, b| {
        (
            &a.operation,
            &a.time,
            &a.manager,
            &a.api_version,
            &a.subresource,
        )
            .cmp(&(
                &b.operation,
                &b.time,
                &b.manager,
                &b.api_version,
                &b.subresource,
            ))
    });
    let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    if entries.is_empty() {
        meta.remove("managedFields");
    } else {
        meta.insert(
            "managedFields".into(),
            Value::Array(entries.iter().map(Entry::encode).collect()),
        );
    }
}
