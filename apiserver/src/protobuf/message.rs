//! Schema-driven decoding of one protobuf message into the JSON object Go's
//! `encoding/json` would produce for the same Go struct.

use base64::Engine;
use serde_json::{Map, Number, Value};

use super::ProtobufError;
use super::schema::{Field, Message, Shape, Type};
use super::wire::{FieldReader, Payload, read_varint};

/// Far deeper than any schema we hold; a guard, not a limit anyone should meet.
const MAX_DEPTH: usize = 32;

/// Go's zero `time.Time` (0001-01-01T00:00:00Z) in Unix seconds; JSON encodes it as `null`.
const GO_ZERO_TIME_UNIX: i64 = -62_135_596_800;

pub(super) fn decode_message(
    buf: &[u8],
    message: &'static Message,
    depth: usize,
) -> Result<Map<String, Value>, ProtobufError> {
    if depth > MAX_DEPTH {
        return Err(ProtobufError::TooDeep(MAX_DEPTH));
    }
    let mut seen: Vec<Vec<Payload<'_>>> = vec![Vec::new(); message.fields.len()];
    for item in FieldReader::new(buf) {
        let (number, payload) = item?;
        // Unknown field numbers are skipped, as Go's generated unmarshalers do.
        if let Some(i) = message.fields.iter().position(|f| f.number == number) {
            seen[i].push(payload);
        }
    }
    let mut out = Map::new();
    for (field, payloads) in message.fields.iter().zip(seen) {
        let at = FieldAt { message, field };
        match field.shape {
            Shape::Repeated => {
                let mut items = Vec::new();
                for payload in payloads {
                    at.push_repeated(payload, depth, &mut items)?;
                }
                if !items.is_empty() {
                    out.insert(field.json.to_owned(), Value::Array(items));
                }
            }
            Shape::Map => {
                let mut entries = Map::new();
                for payload in payloads {
                    let (key, value) = at.map_entry(payload, depth)?;
                    entries.insert(key, value);
                }
                if !entries.is_empty() {
                    out.insert(field.json.to_owned(), Value::Object(entries));
                }
            }
            Shape::Inline => {
                let Type::Message(inner) = field.ty else {
                    return Err(at.malformed("inline field is not a message"));
                };
                let bytes = at.merged_bytes(&payloads)?;
                out.extend(decode_message(&bytes, inner, depth + 1)?);
            }
            Shape::Pointer => {
                if !payloads.is_empty() {
                    let value = at.singular(&payloads, depth)?;
                    out.insert(field.json.to_owned(), value);
                }
            }
            Shape::Always | Shape::OmitEmpty => {
                let value = at.singular(&payloads, depth)?;
                // Go's `omitempty` never omits a struct, only zero scalars.
                let omit =
                    field.shape == Shape::OmitEmpty && !is_struct(field.ty) && is_zero(&value);
                if !omit {
                    out.insert(field.json.to_owned(), value);
                }
            }
        }
    }
    Ok(out)
}

fn is_struct(ty: Type) -> bool {
    matches!(
        ty,
        Type::Message(_) | Type::Time | Type::IntOrString | Type::Quantity | Type::Unmodelled(_)
    )
}

fn is_zero(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_i64() == Some(0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

/// A schema field being decoded; carries the names errors are reported with.
struct FieldAt {
    message: &'static Message,
    field: &'static Field,
}

// === impl FieldAt ===

impl FieldAt {
    /// A singular field: the last scalar wins; repeated occurrences of a message
    /// merge, which for the wire format means concatenating them.
    fn singular(&self, payloads: &[Payload<'_>], depth: usize) -> Result<Value, ProtobufError> {
        if is_struct(self.field.ty) {
            let bytes = self.merged_bytes(payloads)?;
            return self.value(Payload::Bytes(&bytes), depth);
        }
        match payloads.last() {
            Some(payload) => self.value(*payload, depth),
            None => Ok(zero(self.field.ty)),
        }
    }

    fn merged_bytes(&self, payloads: &[Payload<'_>]) -> Result<Vec<u8>, ProtobufError> {
        let mut merged = Vec::new();
        for payload in payloads {
            merged.extend_from_slice(self.bytes(*payload)?);
        }
        Ok(merged)
    }

    fn push_repeated(
        &self,
        payload: Payload<'_>,
        depth: usize,
        items: &mut Vec<Value>,
    ) -> Result<(), ProtobufError> {
        match (self.field.ty, payload) {
            // Packed encoding of a numeric list: many varints in one length-delimited run.
            (Type::Bool | Type::Int32 | Type::Int64, Payload::Bytes(mut run)) => {
                while !run.is_empty() {
                    let v = read_varint(&mut run)?;
                    items.push(self.value(Payload::Varint(v), depth)?);
                }
            }
            _ => items.push(self.value(payload, depth)?),
        }
        Ok(())
    }

    fn map_entry(
        &self,
        payload: Payload<'_>,
        depth: usize,
    ) -> Result<(String, Value), ProtobufError> {
        let mut key = String::new();
        let mut values = Vec::new();
        for item in FieldReader::new(self.bytes(payload)?) {
            match item? {
                (1, key_payload) => key = utf8(self.bytes(key_payload)?),
                (2, value_payload) => values.push(value_payload),
                _ => {}
            }
        }
        Ok((key, self.singular(&values, depth)?))
    }

    fn value(&self, payload: Payload<'_>, depth: usize) -> Result<Value, ProtobufError> {
        Ok(match self.field.ty {
            Type::String => Value::String(utf8(self.bytes(payload)?)),
            Type::Bytes => Value::String(
                base64::engine::general_purpose::STANDARD.encode(self.bytes(payload)?),
            ),
            Type::Bool => Value::Bool(self.varint(payload)? != 0),
            // Truncation is what Go does with an out-of-range int32 varint.
            Type::Int32 => Value::from(self.varint(payload)? as i32),
            Type::Int64 => Value::from(self.varint(payload)? as i64),
            Type::Message(inner) => {
                Value::Object(decode_message(self.bytes(payload)?, inner, depth + 1)?)
            }
            Type::Time => self.time(self.bytes(payload)?)?,
            Type::IntOrString => self.int_or_string(self.bytes(payload)?)?,
            Type::Quantity => self.quantity(self.bytes(payload)?)?,
            Type::Unmodelled(name) => {
                if !self.bytes(payload)?.is_empty() {
                    return Err(ProtobufError::UnsupportedField {
                        field: format!("{}.{}", self.message.name, self.field.json),
                        message_type: name,
                    });
                }
                Value::Object(Map::new())
            }
        })
    }

    /// meta/v1 Time. Go keeps only whole seconds when decoding it (its JSON form
    /// has no fraction), so `nanos` is ignored here too.
    fn time(&self, buf: &[u8]) -> Result<Value, ProtobufError> {
        let mut seconds = 0i64;
        for item in FieldReader::new(buf) {
            if let (1, payload) = item? {
                seconds = self.varint(payload)? as i64;
            }
        }
        if buf.is_empty() || seconds == GO_ZERO_TIME_UNIX {
            return Ok(Value::Null);
        }
        let ts = jiff::Timestamp::from_second(seconds)
            .map_err(|_| self.malformed(&format!("timestamp {seconds}s is out of range")))?;
        Ok(Value::String(ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()))
    }

    fn int_or_string(&self, buf: &[u8]) -> Result<Value, ProtobufError> {
        let (mut kind, mut int_val, mut str_val) = (0i64, 0i32, String::new());
        for item in FieldReader::new(buf) {
            match item? {
                (1, payload) => kind = self.varint(payload)? as i64,
                (2, payload) => int_val = self.varint(payload)? as i32,
                (3, payload) => str_val = utf8(self.bytes(payload)?),
                _ => {}
            }
        }
        match kind {
            0 => Ok(Value::from(int_val)),
            1 => Ok(Value::String(str_val)),
            other => Err(self.malformed(&format!("IntOrString has unknown type {other}"))),
        }
    }

    fn quantity(&self, buf: &[u8]) -> Result<Value, ProtobufError> {
        let mut text = String::new();
        for item in FieldReader::new(buf) {
            if let (1, payload) = item? {
                text = utf8(self.bytes(payload)?);
            }
        }
        if text.is_empty() {
            text.push('0');
        }
        Ok(Value::String(text))
    }

    fn bytes<'p>(&self, payload: Payload<'p>) -> Result<&'p [u8], ProtobufError> {
        match payload {
            Payload::Bytes(bytes) => Ok(bytes),
            other => Err(self.wrong_wire_type(other, "length-delimited")),
        }
    }

    fn varint(&self, payload: Payload<'_>) -> Result<u64, ProtobufError> {
        match payload {
            Payload::Varint(v) => Ok(v),
            other => Err(self.wrong_wire_type(other, "varint")),
        }
    }

    fn wrong_wire_type(&self, got: Payload<'_>, want: &str) -> ProtobufError {
        self.malformed(&format!("expected a {want} field, got {}", got.wire_name()))
    }

    fn malformed(&self, detail: &str) -> ProtobufError {
        ProtobufError::Malformed(format!(
            "{}.{} (field {}): {detail}",
            self.message.name, self.field.json, self.field.number
        ))
    }
}

/// The value Go holds for a field absent from the wire.
fn zero(ty: Type) -> Value {
    match ty {
        Type::String | Type::Bytes => Value::String(String::new()),
        Type::Bool => Value::Bool(false),
        Type::Int32 | Type::Int64 | Type::IntOrString => Value::Number(Number::from(0)),
        Type::Time => Value::Null,
        Type::Quantity => Value::String("0".to_owned()),
        Type::Message(_) | Type::Unmodelled(_) => Value::Object(Map::new()),
    }
}

/// Go does not validate UTF-8 when decoding protobuf strings and its JSON encoder
/// replaces invalid bytes with U+FFFD; this does the same in one step.
fn utf8(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
