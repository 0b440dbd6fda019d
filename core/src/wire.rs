//! A borrowing reader of the protobuf wire format, for the hot ingest paths where decoding
//! into owned structs (a `String` per label or attribute) would cost more than the work.
//!
//! It lends fields straight out of the buffer; callers pick the fields they need and skip
//! the rest, as protobuf requires of unknown fields.

/// Input that is not valid protobuf of the expected shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct WireError(pub String);

impl WireError {
    fn at(what: &str) -> Self {
        WireError(what.to_string())
    }
}

/// Protobuf wire types.
pub mod wire_type {
    /// Varint (int32, int64, uint32, bool, enum).
    pub const VARINT: u8 = 0;
    /// Fixed 64-bit (fixed64, double).
    pub const FIXED64: u8 = 1;
    /// Length-delimited (string, bytes, messages).
    pub const LEN: u8 = 2;
    /// Fixed 32-bit (fixed32, float).
    pub const FIXED32: u8 = 5;
}

/// A field's value as read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldValue<'a> {
    /// A varint.
    Varint(u64),
    /// Eight little-endian bytes.
    Fixed64(u64),
    /// Four little-endian bytes.
    Fixed32(u32),
    /// A length-delimited payload.
    Len(&'a [u8]),
}

impl<'a> FieldValue<'a> {
    /// The payload of a length-delimited field.
    pub fn bytes(self) -> Option<&'a [u8]> {
        match self {
            FieldValue::Len(b) => Some(b),
            _ => None,
        }
    }
}

/// Reads one message's fields in order.
#[derive(Debug, Clone)]
pub struct WireReader<'a> {
    data: &'a [u8],
}

impl<'a> WireReader<'a> {
    /// A reader of the message in `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    /// Whether every field has been read.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Reads a varint.
    #[inline]
    pub fn varint(&mut self) -> Result<u64, WireError> {
        // Most varints on this path (keys, lengths of short strings) are one byte.
        if let Some((&b, rest)) = self.data.split_first() {
            if b < 0x80 {
                self.data = rest;
                return Ok(u64::from(b));
            }
        }
        let mut v = 0u64;
        for i in 0..10 {
            let (&b, rest) = self
                .data
                .split_first()
                .ok_or_else(|| WireError::at("truncated varint"))?;
            self.data = rest;
            v |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(WireError::at("varint longer than 10 bytes"))
    }

    /// Takes the next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if self.data.len() < n {
            return Err(WireError::at(
                "field length runs past the end of the message",
            ));
        }
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        Ok(head)
    }

    /// Reads a field key: (field number, wire type).
    #[inline]
    pub fn key(&mut self) -> Result<(u32, u8), WireError> {
        let k = self.varint()?;
        let field = u32::try_from(k >> 3).map_err(|_| WireError::at("field number too large"))?;
        if field == 0 {
            return Err(WireError::at("field number 0"));
        }
        Ok((field, (k & 7) as u8))
    }

    /// Reads a length-delimited payload.
    #[inline]
    pub fn len_delimited(&mut self) -> Result<&'a [u8], WireError> {
        let n = usize::try_from(self.varint()?).map_err(|_| WireError::at("length too large"))?;
        self.take(n)
    }

    /// Reads the value of a field of `wire_type`.
    #[inline]
    pub fn value(&mut self, wire_type: u8) -> Result<FieldValue<'a>, WireError> {
        match wire_type {
            wire_type::VARINT => self.varint().map(FieldValue::Varint),
            wire_type::FIXED64 => self
                .fixed::<8>()
                .map(|b| FieldValue::Fixed64(u64::from_le_bytes(b))),
            wire_type::LEN => self.len_delimited().map(FieldValue::Len),
            wire_type::FIXED32 => self
                .fixed::<4>()
                .map(|b| FieldValue::Fixed32(u32::from_le_bytes(b))),
            _ => Err(WireError::at("unsupported protobuf wire type (groups)")),
        }
    }

    /// Reads a fixed64 or double's eight bytes.
    #[inline]
    pub fn fixed64(&mut self) -> Result<u64, WireError> {
        self.fixed::<8>().map(u64::from_le_bytes)
    }

    #[inline]
    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], WireError> {
        match self.data.split_first_chunk::<N>() {
            Some((head, rest)) => {
                self.data = rest;
                Ok(*head)
            }
            None => Err(WireError::at(
                "field length runs past the end of the message",
            )),
        }
    }

    /// Skips the value of a field of `wire_type`.
    #[inline]
    pub fn skip(&mut self, wire_type: u8) -> Result<(), WireError> {
        self.value(wire_type).map(|_| ())
    }

    /// Reads the next field: (number, wire type, value).
    #[inline]
    pub fn field(&mut self) -> Result<(u32, u8, FieldValue<'a>), WireError> {
        let (n, w) = self.key()?;
        Ok((n, w, self.value(w)?))
    }
}

/// Appends a length-delimited field to `out`.
pub fn put_len_field(out: &mut Vec<u8>, field: u32, payload: &[u8]) {
    put_len_header(out, field, payload.len());
    out.extend_from_slice(payload);
}

/// Appends the key and length of a length-delimited field whose `len` bytes follow.
pub fn put_len_header(out: &mut Vec<u8>, field: u32, len: usize) {
    put_varint(out, (u64::from(field) << 3) | u64::from(wire_type::LEN));
    put_varint(out, len as u64);
}

/// Bytes the varint of `v` takes.
pub fn varint_len(v: u64) -> usize {
    (u64::BITS - (v | 1).leading_zeros()).div_ceil(7) as usize
}

/// Appends a varint to `out`.
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_it_writes() {
        let mut buf = Vec::new();
        put_len_field(&mut buf, 2, b"hello");
        put_varint(&mut buf, (5 << 3) | 1);
        buf.extend_from_slice(&0x0102_0304_0506_0708u64.to_le_bytes());
        put_varint(&mut buf, 3 << 3);
        put_varint(&mut buf, 300);
        let mut r = WireReader::new(&buf);
        assert_eq!(r.field().unwrap(), (2, 2, FieldValue::Len(b"hello")));
        assert_eq!(
            r.field().unwrap(),
            (5, 1, FieldValue::Fixed64(0x0102_0304_0506_0708))
        );
        assert_eq!(r.field().unwrap(), (3, 0, FieldValue::Varint(300)));
        assert!(r.is_empty());
        for v in [0, 1, 127, 128, 300, 16_383, 16_384, u64::MAX] {
            let mut b = Vec::new();
            put_varint(&mut b, v);
            assert_eq!(varint_len(v), b.len(), "{v}");
        }
    }

    #[test]
    fn refuses_truncation_and_groups() {
        let mut buf = Vec::new();
        put_len_field(&mut buf, 1, b"abcdef");
        assert!(WireReader::new(&buf[..buf.len() - 1]).field().is_err());
        assert!(WireReader::new(&[(1 << 3) | 3]).field().is_err());
        assert!(WireReader::new(&[0x80; 11]).varint().is_err());
        assert!(WireReader::new(&[0]).key().is_err());
    }
}
