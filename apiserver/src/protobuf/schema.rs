//! The protobuf schemas of the kinds we decode, as data: each message is a table of
//! field number → JSON name, type and how Go's JSON encoder treats an empty value.
//! Field numbers come from the `generated.proto` files of k8s.io/api and
//! k8s.io/apimachinery. Adding a kind is a [`KINDS`] row plus its message tables.

mod apps;
mod core;
mod meta;

/// A protobuf message type.
#[derive(Debug)]
pub(super) struct Message {
    pub(super) name: &'static str,
    pub(super) fields: &'static [Field],
}

#[derive(Debug)]
pub(super) struct Field {
    pub(super) number: u32,
    /// The JSON key; unused for [`Shape::Inline`] fields.
    pub(super) json: &'static str,
    pub(super) ty: Type,
    pub(super) shape: Shape,
}

/// The type of a single value (a list's element, a map's value).
#[derive(Debug, Clone, Copy)]
pub(super) enum Type {
    String,
    /// JSON encodes `[]byte` as standard base64.
    Bytes,
    Bool,
    Int32,
    Int64,
    Message(&'static Message),
    /// meta/v1 Time: `{seconds, nanos}` → RFC 3339 at second precision; zero → `null`.
    Time,
    /// util/intstr IntOrString: `{type, intVal, strVal}` → a JSON number or string.
    IntOrString,
    /// api/resource Quantity: `{string}` → its string.
    Quantity,
    /// A message we know exists but do not model (affinity, security contexts, …).
    /// An empty one decodes to `{}`; any content is refused so nothing is dropped.
    Unmodelled(&'static str),
}

/// How the field is declared in Go, which decides what an empty value looks like.
/// The Go protobuf encoder always writes non-pointer fields and writes pointer
/// fields only when set, so "present on the wire" means "set" for pointers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    /// A non-pointer field tagged `omitempty`: zero values are left out.
    OmitEmpty,
    /// A non-pointer field without `omitempty`: always emitted, zero if absent.
    Always,
    /// A pointer field: emitted exactly when present, even if zero.
    Pointer,
    /// `repeated`; empty lists are left out.
    Repeated,
    /// `map<string, ty>`; empty maps are left out.
    Map,
    /// An embedded struct tagged `json:",inline"`: its keys join the parent's.
    Inline,
}

// === impl Field ===

impl Field {
    pub(super) const fn omit(number: u32, json: &'static str, ty: Type) -> Self {
        Self::new(number, json, ty, Shape::OmitEmpty)
    }

    pub(super) const fn always(number: u32, json: &'static str, ty: Type) -> Self {
        Self::new(number, json, ty, Shape::Always)
    }

    pub(super) const fn ptr(number: u32, json: &'static str, ty: Type) -> Self {
        Self::new(number, json, ty, Shape::Pointer)
    }

    pub(super) const fn list(number: u32, json: &'static str, ty: Type) -> Self {
        Self::new(number, json, ty, Shape::Repeated)
    }

    pub(super) const fn map(number: u32, json: &'static str, ty: Type) -> Self {
        Self::new(number, json, ty, Shape::Map)
    }

    pub(super) const fn inline(number: u32, message: &'static Message) -> Self {
        Self::new(number, "", Type::Message(message), Shape::Inline)
    }

    const fn new(number: u32, json: &'static str, ty: Type, shape: Shape) -> Self {
        Self {
            number,
            json,
            ty,
            shape,
        }
    }
}

/// `(apiVersion, kind)` → top-level message.
static KINDS: &[(&str, &str, &Message)] = &[
    ("v1", "ConfigMap", &core::CONFIG_MAP),
    ("v1", "Secret", &core::SECRET),
    ("v1", "Namespace", &core::NAMESPACE),
    ("v1", "Service", &core::SERVICE),
    ("v1", "ServiceAccount", &core::SERVICE_ACCOUNT),
    ("apps/v1", "Deployment", &apps::DEPLOYMENT),
];

pub(super) fn kind(api_version: &str, kind: &str) -> Option<&'static Message> {
    KINDS
        .iter()
        .find(|(v, k, _)| *v == api_version && *k == kind)
        .map(|(_, _, message)| *message)
}

/// The `apiVersion kind` pairs [`kind`] knows, for error messages and docs.
pub(super) fn supported_kinds() -> impl Iterator<Item = (&'static str, &'static str)> {
    KINDS.iter().map(|(v, k, _)| (*v, *k))
}
