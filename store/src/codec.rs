//! Little binary helpers shared by the log and block formats: varints and strings.

use taishan_core::wire::WireReader;

/// A payload that does not decode; says which field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub &'static str);

/// Appends an unsigned LEB128 varint.
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends a length-prefixed string.
pub fn put_str(out: &mut Vec<u8>, s: &str) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

pub fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

pub fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// A bounds-checked cursor over a payload: core's protobuf wire reader (one varint
/// decoder for the whole workspace), with the store's strings and fixed-width numbers.
pub struct Reader<'a>(WireReader<'a>);

impl<'a> Reader<'a> {
    /// A cursor at the start of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self(WireReader::new(data))
    }

    /// Whether everything was read.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Reads a varint.
    pub fn varint(&mut self) -> Result<u64, Malformed> {
        self.0
            .varint()
            .map_err(|_| Malformed("payload ends inside a number, or a varint is over 10 bytes"))
    }

    /// Reads a length-prefixed string.
    pub fn str(&mut self) -> Result<&'a str, Malformed> {
        let n = self.varint()? as usize;
        let bytes = self.bytes(n)?;
        std::str::from_utf8(bytes).map_err(|_| Malformed("string is not UTF-8"))
    }

    /// Reads `n` raw bytes.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], Malformed> {
        self.0
            .take(n)
            .map_err(|_| Malformed("payload ends inside a field"))
    }

    /// Reads a little-endian u64.
    pub fn u64_le(&mut self) -> Result<u64, Malformed> {
        let b = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
}
