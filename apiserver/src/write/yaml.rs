//! YAML request bodies (`application/yaml` creates and updates, apply patches), decoded
//! within a budget. Anchors and aliases let a few bytes of YAML stand for any amount of
//! data — one long string aliased many times, or aliases of aliases ("billion laughs")
//! — so the decoded document is held to [`EXPANSION`] times the body's size plus
//! [`SLACK`] bytes (measured as its JSON) and refused past that, before it is built.
//! Kubernetes' YAML decoder refuses excessive aliasing the same way.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// JSON bytes a YAML body may decode to, per byte of the body. Plain YAML is at most a
/// few times smaller than its JSON (quotes, braces); the rest is room for a few aliases.
const EXPANSION: usize = 16;
/// Allowance on top, so small bodies with aliases are not refused.
const SLACK: usize = 64 << 10;

/// Decodes one YAML document into JSON, refusing one that expands past the budget.
pub(crate) fn decode_yaml(text: &str) -> Result<Value, serde_saphyr::Error> {
    let limit = text.len().saturating_mul(EXPANSION).saturating_add(SLACK);
    let budget = Budget {
        left: Cell::new(limit),
        limit,
    };
    serde_saphyr::with_deserializer_from_str(text, |de| Bounded(&budget).deserialize(de))
}

/// What is left of the JSON bytes the document may take.
struct Budget {
    left: Cell<usize>,
    limit: usize,
}

impl Budget {
    fn spend<E: de::Error>(&self, bytes: usize) -> Result<(), E> {
        match self.left.get().checked_sub(bytes) {
            Some(left) => {
                self.left.set(left);
                Ok(())
            }
            None => Err(E::custom(format!(
                "the YAML document expands to more than {} bytes as JSON (are anchors and \
                 aliases repeating data?); send it without them, or as JSON",
                self.limit
            ))),
        }
    }
}

/// Builds a `serde_json::Value` as serde_json's own visitor does, paying for each part
/// (about its JSON length) before allocating it.
#[derive(Clone, Copy)]
struct Bounded<'b>(&'b Budget);

impl<'de> DeserializeSeed<'de> for Bounded<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Bounded<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        self.0.spend(5)?;
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        self.0.spend(20)?;
        Ok(Value::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        self.0.spend(20)?;
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        self.0.spend(24)?;
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.0.spend(v.len() + 2)?;
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.0.spend(v.len() + 2)?;
        Ok(Value::String(v))
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.0.spend(4)?;
        Ok(Value::Null)
    }

    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.0.spend(2)?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            self.0.spend(1)?;
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.0.spend(2)?;
        let mut out = Map::new();
        while let Some(key) = map.next_key_seed(Key(self.0))? {
            let value = map.next_value_seed(self)?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

/// A mapping key: a string, as serde_json's `Value` reads keys.
#[derive(Clone, Copy)]
struct Key<'b>(&'b Budget);

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = String;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for Key<'_> {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        self.0.spend(v.len() + 3)?;
        Ok(v.to_owned())
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        self.0.spend(v.len() + 3)?;
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn decodes_as_serde_saphyr_does() {
        let text = "a: 1\nb: [x, 2.5, true, null, ~]\nc: {d: e}\n'1': one\n2: two\nf: -3\n";
        let ours = decode_yaml(text).unwrap();
        let theirs: Value = serde_saphyr::from_str(text).unwrap();
        assert_eq!(ours, theirs);
        assert_eq!(ours["b"], json!(["x", 2.5, true, null, null]));
    }

    #[test]
    fn a_few_aliases_are_fine() {
        let text = "env: &env [{name: A, value: '1'}]\nx: *env\ny: *env\n";
        let v = decode_yaml(text).unwrap();
        assert_eq!(v["x"], v["env"]);
    }

    #[test]
    fn an_aliased_long_string_is_refused_before_it_is_copied() {
        let long = "x".repeat(100_000);
        let aliases = vec!["*a"; 2_000].join(", ");
        let text = format!("a: &a {long}\nb: [{aliases}]\n");
        let err = decode_yaml(&text).unwrap_err().to_string();
        assert!(err.contains("expands to more than"), "{err}");
    }

    #[test]
    fn billion_laughs_is_refused() {
        let mut text = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for i in 1..9 {
            let prev = format!("*a{}", i - 1);
            text.push_str(&format!(
                "a{i}: &a{i} [{}]\n",
                [prev.as_str(); 9].join(", ")
            ));
        }
        let err = decode_yaml(&text).unwrap_err().to_string();
        assert!(
            err.contains("expands to more than") || err.contains("alias"),
            "{err}"
        );
    }
}
