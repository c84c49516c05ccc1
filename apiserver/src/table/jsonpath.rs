//! The JSONPath subset CRD `additionalPrinterColumns` use: `.a.b`, `.a[0]`,
//! `.a['k.with.dots']`, `.a[*].b` and `.a[?(@.type=='Ready')].status`.
//! Evaluation follows kube-apiserver's `AllowMissingKeys(true)`: anything
//! missing yields no results rather than an error.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Field(String),
    Index(i64),
    All,
    /// `[?(@.a.b==literal)]` or `!=`.
    Filter {
        path: Vec<String>,
        equal: bool,
        literal: Value,
    },
}

/// A compiled printer-column path; unparsable paths compile to `None`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct JsonPath(Vec<Segment>);

impl JsonPath {
    /// Accepts the path with or without the `{...}` template braces.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let t = text.trim();
        let t = t
            .strip_prefix('{')
            .and_then(|t| t.strip_suffix('}'))
            .unwrap_or(t);
        let t = t.strip_prefix('$').unwrap_or(t);
        let chars: Vec<char> = t.chars().collect();
        let mut segments = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '.' => {
                    // `\.` keeps a dot inside a field name (`.labels.a\.b`).
                    let mut name = String::new();
                    i += 1;
                    while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                        if chars[i] == '\\' && i + 1 < chars.len() {
                            i += 1;
                        }
                        name.push(chars[i]);
                        i += 1;
                    }
                    match name.as_str() {
                        "" => return None,
                        "*" => segments.push(Segment::All),
                        _ => segments.push(Segment::Field(name)),
                    }
                }
                '[' => {
                    let close = find_bracket_end(&chars, i)?;
                    let inner: String = chars[i + 1..close].iter().collect();
                    segments.push(parse_bracket(inner.trim())?);
                    i = close + 1;
                }
                _ => return None,
            }
        }
        Some(Self(segments))
    }

    /// Every value the path selects, in document order.
    pub(crate) fn find<'a>(&self, root: &'a Value) -> Vec<&'a Value> {
        let mut current = vec![root];
        for seg in &self.0 {
            let mut next = Vec::new();
            for v in current {
                match (seg, v) {
                    (Segment::Field(name), Value::Object(m)) => next.extend(m.get(name)),
                    (Segment::Index(i), Value::Array(a)) => {
                        let idx = if *i < 0 {
                            i64::try_from(a.len()).ok().map(|n| n + i)
                        } else {
                            Some(*i)
                        };
                        next.extend(
                            idx.and_then(|i| usize::try_from(i).ok())
                                .and_then(|i| a.get(i)),
                        );
                    }
                    (Segment::All, Value::Array(a)) => next.extend(a.iter()),
                    (Segment::All, Value::Object(m)) => next.extend(m.values()),
                    (
                        Segment::Filter {
                            path,
                            equal,
                            literal,
                        },
                        Value::Array(a),
                    ) => {
                        next.extend(a.iter().filter(|item| {
                            let found = path.iter().try_fold(*item, |v, k| v.get(k));
                            found.is_some_and(|f| loosely_equal(f, literal) == *equal)
                        }));
                    }
                    _ => {}
                }
            }
            current = next;
        }
        current
    }
}

/// JSONPath filter literals are untyped: `'5'` should match the number 5.
fn loosely_equal(found: &Value, literal: &Value) -> bool {
    match (found, literal) {
        (Value::String(a), Value::String(b)) => a == b,
        (other, Value::String(b)) => {
            serde_json::from_str::<Value>(b).is_ok_and(|parsed| parsed == *other)
        }
        (a, b) => a == b,
    }
}

fn find_bracket_end(chars: &[char], open: usize) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut depth = 0;
    for (i, &c) in chars.iter().enumerate().skip(open) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '[' | '(') => depth += 1,
            (None, ')') => depth -= 1,
            (None, ']') => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

fn unquote(s: &str) -> Option<&str> {
    let s = s.trim();
    s.strip_prefix('\'')
        .and_then(|r| r.strip_suffix('\''))
        .or_else(|| s.strip_prefix('"').and_then(|r| r.strip_suffix('"')))
}

fn parse_bracket(inner: &str) -> Option<Segment> {
    if inner == "*" {
        return Some(Segment::All);
    }
    if let Some(name) = unquote(inner) {
        // Knative's CRDs write `['serving\.knative\.dev/x']`; kubectl reads
        // the escaped dots as plain ones.
        return Some(Segment::Field(name.replace("\\.", ".")));
    }
    if let Ok(i) = inner.parse::<i64>() {
        return Some(Segment::Index(i));
    }
    let expr = inner.strip_prefix("?(")?.strip_suffix(')')?.trim();
    let (lhs, rhs, equal) = if let Some((l, r)) = expr.split_once("!=") {
        (l, r, false)
    } else {
        let (l, r) = expr.split_once("==")?;
        (l, r, true)
    };
    let path = lhs.trim().strip_prefix("@.")?;
    let path: Vec<String> = path.split('.').map(str::to_owned).collect();
    let rhs = rhs.trim();
    let literal = match unquote(rhs) {
        Some(s) => Value::String(s.to_owned()),
        None => serde_json::from_str(rhs).ok()?,
    };
    Some(Segment::Filter {
        path,
        equal,
        literal,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn first(path: &str, v: &Value) -> Option<Value> {
        JsonPath::parse(path)
            .unwrap()
            .find(v)
            .first()
            .map(|v| (*v).clone())
    }

    #[test]
    fn knative_paths() {
        let ksvc = json!({
            "metadata": {"name": "hello", "labels": {"app.kubernetes.io/name": "x"}},
            "status": {
                "url": "http://hello.default.example.com",
                "conditions": [
                    {"type": "ConfigurationsReady", "status": "True"},
                    {"type": "Ready", "status": "False", "reason": "RevisionMissing"}
                ],
                "traffic": [{"percent": 100}, {"percent": 0}]
            }
        });
        assert_eq!(
            first(".status.url", &ksvc),
            Some(json!("http://hello.default.example.com"))
        );
        assert_eq!(
            first(".status.conditions[?(@.type=='Ready')].status", &ksvc),
            Some(json!("False"))
        );
        assert_eq!(
            first(".status.conditions[?(@.type==\"Ready\")].reason", &ksvc),
            Some(json!("RevisionMissing"))
        );
        assert_eq!(
            first(".status.conditions[?(@.type!='Ready')].type", &ksvc),
            Some(json!("ConfigurationsReady"))
        );
        assert_eq!(first("{.metadata.name}", &ksvc), Some(json!("hello")));
        assert_eq!(
            first(".metadata.labels['app.kubernetes.io/name']", &ksvc),
            Some(json!("x"))
        );
        let escaped = Some(json!("x"));
        assert_eq!(
            first(r".metadata.labels['app\.kubernetes\.io/name']", &ksvc),
            escaped
        );
        assert_eq!(
            first(r".metadata.labels.app\.kubernetes\.io/name", &ksvc),
            escaped
        );
        assert_eq!(first(".status.traffic[1].percent", &ksvc), Some(json!(0)));
        assert_eq!(first(".status.traffic[-1].percent", &ksvc), Some(json!(0)));
        assert_eq!(
            JsonPath::parse(".status.traffic[*].percent")
                .unwrap()
                .find(&ksvc)
                .len(),
            2
        );
        assert_eq!(first(".status.missing.deep", &ksvc), None);
        assert_eq!(first(".status.traffic[5]", &ksvc), None);
        assert_eq!(
            first(".status.conditions[?(@.type=='Nope')].status", &ksvc),
            None
        );
    }

    #[test]
    fn bad_paths_do_not_parse() {
        for bad in ["status", ".a[", ".a..b", ".a[?(@.x)]", ".a[?(x=='y')]"] {
            assert!(JsonPath::parse(bad).is_none(), "{bad}");
        }
    }
}
