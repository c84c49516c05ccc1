//! The server-side-apply merge: an applied configuration laid over the live
//! object, maps recursively, associative lists by key, everything else
//! replaced.

use serde_json::Value;

use super::fieldset::{ListKind, item_element, list_kind};

/// Merges `config` over `live`; `field` is the name `config` sits under.
pub(crate) fn merge(live: Option<&Value>, config: &Value, field: Option<&str>) -> Value {
    match (live, config) {
        (Some(Value::Object(l)), Value::Object(c)) => {
            let mut out = l.clone();
            for (k, cv) in c {
                let merged = merge(l.get(k), cv, Some(k));
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (Some(Value::Array(l)), Value::Array(c)) => {
            let kind = list_kind(field, c);
            if kind == ListKind::Atomic || list_kind(field, l) != kind {
                return config.clone();
            }
            // Config items come out in config order; items only live has
            // stay next to the neighbours they had.
            let config_elements: Vec<Option<String>> =
                c.iter().map(|ci| item_element(&kind, ci)).collect();
            let mut out: Vec<Value> = Vec::with_capacity(l.len() + c.len());
            let mut next = 0;
            for item in l {
                let element = item_element(&kind, item);
                match config_elements
                    .iter()
                    .position(|e| e.is_some() && *e == element)
                {
                    Some(i) => {
                        while next < i {
                            out.push(merge(
                                find(l, &kind, config_elements[next].as_ref()),
                                &c[next],
                                None,
                            ));
                            next += 1;
                        }
                        if next == i {
                            out.push(merge(Some(item), &c[i], None));
                            next += 1;
                        }
                    }
                    None => out.push(item.clone()),
                }
            }
            out.extend(c[next..].iter().cloned());
            Value::Array(out)
        }
        _ => config.clone(),
    }
}

fn find<'a>(items: &'a [Value], kind: &ListKind, element: Option<&String>) -> Option<&'a Value> {
    items
        .iter()
        .find(|i| element.is_some() && item_element(kind, i).as_ref() == element)
}

/// Applied nulls mean "no opinion" here: dropped before merging and owning.
pub(crate) fn drop_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), drop_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(drop_nulls).collect()),
        other => other.clone(),
    }
}
