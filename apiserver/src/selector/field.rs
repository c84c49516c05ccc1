//! Field selectors (`fields.ParseSelector`): comma-joined `f=v`, `f==v`,
//! `f!=v` terms with `\` escaping, over the fields a resource supports
//! ([`super::selectable`]).

use serde_json::Value;

use super::SelectorError;
use super::selectable::{GENERIC, SelectableField, selectable_fields};

#[derive(Debug, Clone, PartialEq, Eq)]
struct FieldTerm {
    field: SelectableField,
    value: String,
    equal: bool,
}

/// A parsed field selector over string-valued fields of an object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector {
    terms: Vec<FieldTerm>,
}

/// Splits on an unescaped separator, keeping escapes for the next stage.
fn split_unescaped(s: &str, sep: char) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut escaped = false;
    for c in s.chars() {
        if !escaped && c == sep {
            parts.push(String::new());
            continue;
        }
        escaped = !escaped && c == '\\';
        if let Some(last) = parts.last_mut() {
            last.push(c);
        }
    }
    parts
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}

/// Finds the first unescaped `!=`, `==` or `=` in a term.
fn split_term(term: &str) -> Option<(String, String, bool)> {
    let bytes = term.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'!' if bytes.get(i + 1) == Some(&b'=') => {
                return Some((term[..i].to_owned(), term[i + 2..].to_owned(), false));
            }
            b'=' => {
                let skip = if bytes.get(i + 1) == Some(&b'=') {
                    2
                } else {
                    1
                };
                return Some((term[..i].to_owned(), term[i + skip..].to_owned(), true));
            }
            _ => {}
        }
        i += 1;
    }
    None
}

impl FieldSelector {
    /// Parses a field selector over `metadata.name` and `metadata.namespace`;
    /// the empty string selects everything.
    pub fn parse(s: &str) -> Result<Self, SelectorError> {
        Self::parse_over(s, &[])
    }

    /// Parses a field selector over the fields resource `group/plural` supports
    /// (`involvedObject.name` for Events, `type` for Secrets, …).
    pub fn parse_for(s: &str, group: &str, plural: &str) -> Result<Self, SelectorError> {
        Self::parse_over(s, selectable_fields(group, plural))
    }

    fn parse_over(s: &str, extra_fields: &[SelectableField]) -> Result<Self, SelectorError> {
        let mut terms = Vec::new();
        if s.trim().is_empty() {
            return Ok(Self { terms });
        }
        for part in split_unescaped(s, ',') {
            let Some((field, value, equal)) = split_term(&part) else {
                return Err(SelectorError::FieldSyntax {
                    selector: s.to_owned(),
                    term: part,
                });
            };
            let field = unescape(field.trim());
            let Some(field) = GENERIC
                .iter()
                .chain(extra_fields)
                .find(|f| f.name == field)
                .copied()
            else {
                return Err(SelectorError::UnsupportedField(field));
            };
            terms.push(FieldTerm {
                field,
                value: unescape(&value),
                equal,
            });
        }
        Ok(Self { terms })
    }

    /// True if this selector selects everything.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether the object satisfies every term; a missing field reads as its
    /// kind's zero value ("" or "false").
    pub fn matches(&self, obj: &Value) -> bool {
        self.terms.iter().all(|t| {
            let found = t.field.path.split('.').try_fold(obj, |v, seg| v.get(seg));
            let have = match found {
                None | Some(Value::Null) => t.field.absent.to_owned(),
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
            };
            (have == t.value) == t.equal
        })
    }

    /// The exact name if the selector pins `metadata.name=`, letting the
    /// store do a point lookup instead of a scan.
    pub fn pinned_name(&self) -> Option<&str> {
        self.terms
            .iter()
            .find(|t| t.equal && t.field.name == "metadata.name")
            .map(|t| t.value.as_str())
    }

    /// The namespace if the selector pins `metadata.namespace=`.
    pub fn pinned_namespace(&self) -> Option<&str> {
        self.terms
            .iter()
            .find(|t| t.equal && t.field.name == "metadata.namespace")
            .map(|t| t.value.as_str())
    }
}
