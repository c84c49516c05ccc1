//! Apply conflicts, worded as kube-apiserver words them so kubectl users see
//! the familiar message.

use std::fmt;

use serde_json::{Value, json};
use thiserror::Error;

use super::managed::{Entry, UPDATE};

/// A field another manager owns and this apply would change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub manager: String,
    /// `Apply` or `Update`.
    pub operation: String,
    pub api_version: String,
    pub subresource: Option<String>,
    /// The field path as Kubernetes prints it: `.spec.template.spec.containers[name="c"].image`.
    pub field: String,
}

impl Conflict {
    pub(crate) fn new(owner: &Entry, field: String) -> Self {
        Self {
            manager: owner.manager.clone(),
            operation: owner.operation.clone(),
            api_version: owner.api_version.clone(),
            subresource: owner.subresource.clone(),
            field,
        }
    }

    /// The owner as kube-apiserver's `printManager` shows it.
    pub fn owner(&self) -> String {
        let mut s = format!("{:?}", self.manager);
        if let Some(sub) = &self.subresource {
            s.push_str(&format!(" with subresource {sub:?}"));
        }
        if self.operation == UPDATE {
            s.push_str(&format!(" using {}", self.api_version));
        }
        s
    }
}

/// Every conflict of one apply; `Display` is the Status message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub struct Conflicts(pub Vec<Conflict>);

impl Conflicts {
    pub(crate) fn new(mut conflicts: Vec<Conflict>) -> Self {
        conflicts.sort_by(|a, b| (&a.manager, &a.field).cmp(&(&b.manager, &b.field)));
        conflicts.dedup();
        Self(conflicts)
    }

    /// `details.causes` for the 409 Status, one `FieldManagerConflict` each.
    pub fn status_causes(&self) -> Vec<Value> {
        self.0
            .iter()
            .map(|c| {
                json!({
                    "type": "FieldManagerConflict",
                    "message": format!("conflict with {}", c.owner()),
                    "field": c.field,
                })
            })
            .collect()
    }
}

impl fmt::Display for Conflicts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let [c] = self.0.as_slice() {
            return write!(
                f,
                "Apply failed with 1 conflict: conflict with {}: {}",
                c.owner(),
                c.field
            );
        }
        write!(f, "Apply failed with {} conflicts: ", self.0.len())?;
        let mut lines = Vec::new();
        let mut last_owner = None;
        for c in &self.0 {
            let owner = c.owner();
            if last_owner.as_ref() != Some(&owner) {
                lines.push(format!("conflicts with {owner}"));
                last_owner = Some(owner);
            }
            lines.push(format!("- {}", c.field));
        }
        f.write_str(&lines.join("\n"))
    }
}
