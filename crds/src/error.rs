//! The one error shape every admission rule reports.

/// One rejected field: `field` is a JSON-path-like location (`spec.traffic[1].tag`),
/// `message` says which rule it broke.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

// === impl FieldError ===

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Re-roots this error under `prefix`, the way Knative's `ViaField` does.
    #[must_use]
    pub fn via(mut self, prefix: &str) -> Self {
        self.field = join(prefix, &self.field);
        self
    }
}

/// Joins two path segments: `a` + `b` → `a.b`, `a` + `[0]` → `a[0]`.
pub(crate) fn join(prefix: &str, field: &str) -> String {
    match (prefix.is_empty(), field.is_empty()) {
        (true, _) => field.to_owned(),
        (_, true) => prefix.to_owned(),
        _ if field.starts_with('[') => format!("{prefix}{field}"),
        _ => format!("{prefix}.{field}"),
    }
}

/// Re-roots a batch of errors under `prefix`.
pub(crate) fn via(prefix: &str, errs: Vec<FieldError>) -> Vec<FieldError> {
    errs.into_iter().map(|e| e.via(prefix)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_field_then_message() {
        let e = FieldError::new("spec.traffic", "bad");
        assert_eq!(e.to_string(), "spec.traffic: bad");
    }

    #[test]
    fn via_joins_fields_and_indexes() {
        assert_eq!(
            FieldError::new("tag", "x").via("[2]").via("traffic").field,
            "traffic[2].tag"
        );
        assert_eq!(FieldError::new("", "x").via("spec").field, "spec");
    }
}
