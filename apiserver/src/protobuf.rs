//! Decoding of Kubernetes protobuf request bodies
//! (`Content-Type: application/vnd.kubernetes.protobuf`) into the JSON object a
//! client would have sent as `application/json`.
//!
//! kubectl sends built-in kinds it constructs itself (`kubectl create configmap`,
//! `secret`, `namespace`, `deployment`, …) as protobuf and does not retry with JSON
//! on `415`. Storage is JSON, so the body is translated once at the edge. Only the
//! kinds in the schema tables are understood; anything else is refused with an error
//! asking for JSON, never guessed at.
//!
//! The body is the 4-byte magic `k8s\0` followed by a `runtime.Unknown` message:
//! `1: typeMeta {1: apiVersion, 2: kind}`, `2: raw` (the object), `3:
//! contentEncoding`, `4: contentType`.

mod message;
mod schema;
mod wire;

use serde_json::{Map, Value};

use self::wire::{FieldReader, Payload};

/// The media type of a Kubernetes protobuf body.
pub const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// Every protobuf body starts with these bytes.
pub const MAGIC: &[u8; 4] = b"k8s\0";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProtobufError {
    #[error("protobuf body does not start with the Kubernetes magic bytes \"k8s\\0\"")]
    MissingMagic,
    #[error("malformed protobuf body: {0}")]
    Malformed(String),
    #[error("protobuf body has no kind in its typeMeta")]
    MissingKind,
    #[error(
        "protobuf bodies are supported only for {supported}; send {api_version} {kind} as \
         application/json instead"
    )]
    UnsupportedKind {
        api_version: String,
        kind: String,
        supported: String,
    },
    #[error(
        "protobuf body sets {field} ({message_type}), which this server cannot decode from \
         protobuf; send the object as application/json instead"
    )]
    UnsupportedField {
        field: String,
        message_type: &'static str,
    },
    #[error("protobuf body has content encoding {0:?}; only an unencoded body is supported")]
    UnsupportedEncoding(String),
    #[error("protobuf body nests messages deeper than {0} levels")]
    TooDeep(usize),
}

/// Whether a `Content-Type` header value names the Kubernetes protobuf encoding,
/// ignoring parameters and case.
pub fn is_protobuf_content_type(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case(CONTENT_TYPE)
}

/// Decodes a protobuf request body into the equivalent Kubernetes JSON object,
/// `apiVersion` and `kind` included.
pub fn decode(body: &[u8]) -> Result<Value, ProtobufError> {
    let envelope = body
        .strip_prefix(MAGIC)
        .ok_or(ProtobufError::MissingMagic)?;
    let unknown = Unknown::parse(envelope)?;
    if !unknown.content_encoding.is_empty() {
        return Err(ProtobufError::UnsupportedEncoding(unknown.content_encoding));
    }
    if unknown.kind.is_empty() {
        return Err(ProtobufError::MissingKind);
    }
    let Some(schema) = schema::kind(&unknown.api_version, &unknown.kind) else {
        return Err(ProtobufError::UnsupportedKind {
            supported: supported_kinds(),
            api_version: unknown.api_version,
            kind: unknown.kind,
        });
    };
    let mut object = Map::new();
    object.insert("apiVersion".to_owned(), Value::String(unknown.api_version));
    object.insert("kind".to_owned(), Value::String(unknown.kind));
    object.extend(message::decode_message(unknown.raw, schema, 0)?);
    Ok(Value::Object(object))
}

fn supported_kinds() -> String {
    schema::supported_kinds()
        .map(|(api_version, kind)| format!("{api_version} {kind}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The `runtime.Unknown` envelope.
#[derive(Debug, Default)]
struct Unknown<'a> {
    api_version: String,
    kind: String,
    raw: &'a [u8],
    content_encoding: String,
}

// === impl Unknown ===

impl<'a> Unknown<'a> {
    fn parse(buf: &'a [u8]) -> Result<Self, ProtobufError> {
        let mut unknown = Self::default();
        for item in FieldReader::new(buf) {
            match item? {
                (1, payload) => {
                    for item in FieldReader::new(envelope_bytes(payload, "typeMeta")?) {
                        match item? {
                            (1, p) => unknown.api_version = envelope_string(p, "apiVersion")?,
                            (2, p) => unknown.kind = envelope_string(p, "kind")?,
                            _ => {}
                        }
                    }
                }
                (2, payload) => unknown.raw = envelope_bytes(payload, "raw")?,
                (3, payload) => {
                    unknown.content_encoding = envelope_string(payload, "contentEncoding")?;
                }
                _ => {}
            }
        }
        Ok(unknown)
    }
}

fn envelope_bytes<'a>(payload: Payload<'a>, name: &str) -> Result<&'a [u8], ProtobufError> {
    match payload {
        Payload::Bytes(bytes) => Ok(bytes),
        other => Err(ProtobufError::Malformed(format!(
            "envelope field {name} must be length-delimited, got {}",
            other.wire_name()
        ))),
    }
}

fn envelope_string(payload: Payload<'_>, name: &str) -> Result<String, ProtobufError> {
    let bytes = envelope_bytes(payload, name)?;
    String::from_utf8(bytes.to_vec())
        .map_err(|_| ProtobufError::Malformed(format!("envelope field {name} is not UTF-8")))
}

#[cfg(test)]
mod tests;
