//! The protobuf wire format, read without a schema: a field is a number plus one of
//! four payload shapes.

use super::ProtobufError;

/// One field's payload as it appears on the wire. Groups (wire types 3 and 4) are
/// deprecated and never produced by Kubernetes, so they are rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Payload<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
}

impl Payload<'_> {
    pub(super) fn wire_name(self) -> &'static str {
        match self {
            Payload::Varint(_) => "varint",
            Payload::Fixed64(_) => "64-bit",
            Payload::Bytes(_) => "length-delimited",
            Payload::Fixed32(_) => "32-bit",
        }
    }
}

/// Iterates the fields of one message. After the first error it yields nothing more.
#[derive(Debug)]
pub(super) struct FieldReader<'a> {
    buf: &'a [u8],
    failed: bool,
}

// === impl FieldReader ===

impl<'a> FieldReader<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Self {
        Self { buf, failed: false }
    }

    fn next_field(&mut self) -> Result<(u32, Payload<'a>), ProtobufError> {
        let key = read_varint(&mut self.buf)?;
        let number = u32::try_from(key >> 3)
            .ok()
            .filter(|n| (1..=MAX_FIELD_NUMBER).contains(n))
            .ok_or_else(|| malformed(format!("invalid field number {}", key >> 3)))?;
        let payload = match key & 7 {
            0 => Payload::Varint(read_varint(&mut self.buf)?),
            1 => Payload::Fixed64(u64::from_le_bytes(take_array(&mut self.buf)?)),
            2 => {
                let len = read_varint(&mut self.buf)?;
                let len = usize::try_from(len)
                    .ok()
                    .filter(|len| *len <= self.buf.len())
                    .ok_or_else(|| {
                        malformed(format!(
                            "field {number} claims {len} bytes but only {} remain",
                            self.buf.len()
                        ))
                    })?;
                let (bytes, rest) = self.buf.split_at(len);
                self.buf = rest;
                Payload::Bytes(bytes)
            }
            5 => Payload::Fixed32(u32::from_le_bytes(take_array(&mut self.buf)?)),
            other => {
                return Err(malformed(format!(
                    "field {number} has unsupported wire type {other}"
                )));
            }
        };
        Ok((number, payload))
    }
}

impl<'a> Iterator for FieldReader<'a> {
    type Item = Result<(u32, Payload<'a>), ProtobufError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.buf.is_empty() {
            return None;
        }
        let item = self.next_field();
        self.failed = item.is_err();
        Some(item)
    }
}

const MAX_FIELD_NUMBER: u32 = (1 << 29) - 1;

/// Reads a base-128 varint of at most ten bytes.
pub(super) fn read_varint(buf: &mut &[u8]) -> Result<u64, ProtobufError> {
    let mut value = 0u64;
    for i in 0..10 {
        let (&byte, rest) = buf
            .split_first()
            .ok_or_else(|| malformed("truncated varint".to_owned()))?;
        *buf = rest;
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(malformed("varint longer than ten bytes".to_owned()))
}

fn take_array<const N: usize>(buf: &mut &[u8]) -> Result<[u8; N], ProtobufError> {
    let (head, rest) = buf
        .split_first_chunk::<N>()
        .ok_or_else(|| malformed(format!("truncated {}-bit field", N * 8)))?;
    *buf = rest;
    Ok(*head)
}

fn malformed(detail: String) -> ProtobufError {
    ProtobufError::Malformed(detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_wire_type() {
        // 1: varint 300, 2: fixed64 1, 3: bytes "hi", 4: fixed32 7
        let buf = [
            0x08, 0xac, 0x02, 0x11, 1, 0, 0, 0, 0, 0, 0, 0, 0x1a, 2, b'h', b'i', 0x25, 7, 0, 0, 0,
        ];
        let fields: Vec<_> = FieldReader::new(&buf).collect::<Result<_, _>>().unwrap();
        assert_eq!(
            fields,
            vec![
                (1, Payload::Varint(300)),
                (2, Payload::Fixed64(1)),
                (3, Payload::Bytes(b"hi")),
                (4, Payload::Fixed32(7)),
            ]
        );
    }

    #[test]
    fn rejects_truncation_and_overlong_lengths() {
        for buf in [
            &[0x08][..],
            &[0x0a, 5, b'a'],
            &[0x11, 1, 2],
            &[0x0b],
            &[0x00, 0x01],
        ] {
            let err = FieldReader::new(buf).find_map(Result::err);
            assert!(matches!(err, Some(ProtobufError::Malformed(_))), "{buf:?}");
        }
    }

    #[test]
    fn rejects_eleven_byte_varint() {
        let mut buf: &[u8] = &[0xff; 11];
        assert!(read_varint(&mut buf).is_err());
    }
}
