//! Where a rewritten head goes: raw bytes for the fast path (`Vec<u8>`, one
//! `name: value\r\n` line per field) or a `HeaderMap` for hyper ([`MapSink`]). The
//! policy writes through [`HeadSink`], so both paths receive the same fields in the
//! same order.

use http::{HeaderMap, HeaderName, HeaderValue};

/// Receives the header fields of a rewritten head, in order.
pub(crate) trait HeadSink {
    /// Appends one field.
    fn push(&mut self, name: &[u8], value: &[u8]);
    /// Appends one field whose value `write` appends to the buffer it is given.
    fn push_with(&mut self, name: &'static str, write: impl FnOnce(&mut Vec<u8>));
}

impl HeadSink for Vec<u8> {
    fn push(&mut self, name: &[u8], value: &[u8]) {
        self.extend_from_slice(name);
        self.extend_from_slice(b": ");
        self.extend_from_slice(value);
        self.extend_from_slice(b"\r\n");
    }

    fn push_with(&mut self, name: &'static str, write: impl FnOnce(&mut Vec<u8>)) {
        self.extend_from_slice(name.as_bytes());
        self.extend_from_slice(b": ");
        write(self);
        self.extend_from_slice(b"\r\n");
    }
}

/// Builds a fresh `HeaderMap` (fields from a `HeaderMap` are valid by construction).
#[derive(Debug, Default)]
pub(crate) struct MapSink {
    map: HeaderMap,
    scratch: Vec<u8>,
}

impl MapSink {
    pub(crate) fn with_capacity(fields: usize) -> Self {
        Self {
            map: HeaderMap::with_capacity(fields),
            scratch: Vec::new(),
        }
    }

    pub(crate) fn into_map(self) -> HeaderMap {
        self.map
    }
}

impl HeadSink for MapSink {
    fn push(&mut self, name: &[u8], value: &[u8]) {
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        {
            self.map.append(name, value);
        }
    }

    fn push_with(&mut self, name: &'static str, write: impl FnOnce(&mut Vec<u8>)) {
        self.scratch.clear();
        write(&mut self.scratch);
        if let Ok(value) = HeaderValue::from_bytes(&self.scratch) {
            self.map.append(HeaderName::from_static(name), value);
        }
    }
}
