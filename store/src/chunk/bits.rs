//! Bit-level writer and reader under the XOR chunk encoding.

/// Appends bits most-significant first.
#[derive(Debug, Clone, Default)]
pub struct BitWriter {
    buf: Vec<u8>,
    /// Unused low bits in the last byte.
    free: u32,
}

impl BitWriter {
    /// An empty writer with room for `bytes`.
    pub fn with_capacity(bytes: usize) -> Self {
        Self {
            buf: Vec::with_capacity(bytes),
            free: 0,
        }
    }

    /// Writes one bit.
    #[inline]
    pub fn write_bit(&mut self, bit: bool) {
        self.write_bits(u64::from(bit), 1);
    }

    /// Writes the low `n` bits of `v` (n ≤ 64): first into the free bits of the last byte,
    /// then whole bytes, then the start of a new byte.
    #[inline]
    pub fn write_bits(&mut self, v: u64, n: u32) {
        debug_assert!(n <= 64);
        if n == 0 {
            return;
        }
        let mut left = n;
        if self.free > 0 {
            let take = left.min(self.free);
            let bits = (v >> (left - take)) & ((1u64 << take) - 1);
            if let Some(last) = self.buf.last_mut() {
                *last |= (bits as u8) << (self.free - take);
            }
            self.free -= take;
            left -= take;
        }
        while left >= 8 {
            left -= 8;
            self.push_byte((v >> left) as u8);
        }
        if left > 0 {
            let bits = v & ((1u64 << left) - 1);
            self.push_byte((bits << (8 - left)) as u8);
            self.free = 8 - left;
        }
    }

    #[inline]
    fn push_byte(&mut self, b: u8) {
        // Grow in small steps: an open chunk lives long and doubling would leave up to half
        // of every series' buffer unused.
        if self.buf.len() == self.buf.capacity() {
            self.buf.reserve_exact(32);
        }
        self.buf.push(b);
    }

    /// The bytes written so far (the last one may be partly used).
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Bytes held, for memory accounting.
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Gives up the buffer, shrunk to fit.
    pub fn into_bytes(mut self) -> Vec<u8> {
        self.buf.shrink_to_fit();
        self.buf
    }
}

/// Reads bits written by [`BitWriter`].
#[derive(Debug, Clone)]
pub struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
}

/// The data ended in the middle of a value: the chunk is corrupt or truncated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfBits;

impl<'a> BitReader<'a> {
    /// A reader at the start of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    /// Reads one bit.
    #[inline]
    pub fn read_bit(&mut self) -> Result<bool, OutOfBits> {
        Ok(self.read_bits(1)? == 1)
    }

    /// Reads `n` bits (n ≤ 64) as the low bits of the result.
    #[inline]
    pub fn read_bits(&mut self, mut n: u32) -> Result<u64, OutOfBits> {
        debug_assert!(n <= 64);
        if self.pos + n as usize > self.data.len() * 8 {
            return Err(OutOfBits);
        }
        let mut v: u64 = 0;
        while n > 0 {
            let byte = self.data[self.pos / 8];
            let used = (self.pos % 8) as u32;
            let avail = 8 - used;
            let take = n.min(avail);
            let bits = (u64::from(byte) >> (avail - take)) & ((1u64 << take) - 1);
            v = if take == 64 { bits } else { (v << take) | bits };
            self.pos += take as usize;
            n -= take;
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn writes_read_back(fields in proptest::collection::vec((any::<u64>(), 1u32..=64), 0..200)) {
            let mut w = BitWriter::default();
            for (v, n) in &fields {
                w.write_bits(*v, *n);
            }
            let bytes = w.into_bytes();
            let mut r = BitReader::new(&bytes);
            for (v, n) in &fields {
                let mask = if *n == 64 { u64::MAX } else { (1u64 << n) - 1 };
                prop_assert_eq!(r.read_bits(*n).unwrap(), v & mask);
            }
        }
    }

    #[test]
    fn reading_past_the_end_is_an_error() {
        let mut r = BitReader::new(&[0xff]);
        assert_eq!(r.read_bits(8), Ok(0xff));
        assert_eq!(r.read_bit(), Err(OutOfBits));
    }
}
