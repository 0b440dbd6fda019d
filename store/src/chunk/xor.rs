//! The XOR chunk: delta-of-delta timestamps and XOR-compressed floats, after Facebook's
//! Gorilla paper. Regular scrapes cost one bit per timestamp; unchanged values one bit each.
//!
//! Layout: first timestamp (64 bits) and first value (64 bits) raw; the first delta as a
//! 7-bit width and that many bits; then per sample a delta-of-delta in one of five buckets;
//! every value after the first XORed with its predecessor.

use super::bits::{BitReader, BitWriter, OutOfBits};

/// Delta-of-delta buckets: (prefix bits, prefix length, payload bits).
const DOD_BUCKETS: [(u64, u32, u32); 3] = [(0b10, 2, 7), (0b110, 3, 9), (0b1110, 4, 12)];

/// Appends samples to an open chunk.
#[derive(Debug, Clone)]
pub struct XorAppender {
    bits: BitWriter,
    count: u16,
    prev_t: i64,
    prev_delta: i64,
    prev_v: u64,
    leading: u32,
    trailing: u32,
}

impl Default for XorAppender {
    fn default() -> Self {
        Self {
            bits: BitWriter::with_capacity(32),
            count: 0,
            prev_t: 0,
            prev_delta: 0,
            prev_v: 0,
            // An impossible window, so the first changed value writes its own.
            leading: u32::MAX,
            trailing: 0,
        }
    }
}

impl XorAppender {
    /// Appends a sample; timestamps must increase (the caller enforces order).
    pub fn append(&mut self, t: i64, v: f64) {
        let v = v.to_bits();
        if self.count == 0 {
            self.bits.write_bits(t as u64, 64);
            self.bits.write_bits(v, 64);
        } else {
            let delta = t.wrapping_sub(self.prev_t);
            if self.count == 1 {
                let width = 64 - (delta as u64).leading_zeros();
                self.bits.write_bits(u64::from(width), 7);
                self.bits.write_bits(delta as u64, width);
            } else {
                self.write_dod(delta.wrapping_sub(self.prev_delta));
            }
            self.write_value(v);
            self.prev_delta = delta;
        }
        self.prev_t = t;
        self.prev_v = v;
        self.count += 1;
    }

    fn write_dod(&mut self, dod: i64) {
        if dod == 0 {
            self.bits.write_bit(false);
            return;
        }
        for (prefix, prefix_len, payload) in DOD_BUCKETS {
            // Two's complement range of `payload` bits, as the reader sign-extends.
            let lo = -(1i64 << (payload - 1));
            let hi = (1i64 << (payload - 1)) - 1;
            if (lo..=hi).contains(&dod) {
                self.bits.write_bits(prefix, prefix_len);
                self.bits.write_bits(dod as u64, payload);
                return;
            }
        }
        self.bits.write_bits(0b1111, 4);
        self.bits.write_bits(dod as u64, 64);
    }

    fn write_value(&mut self, v: u64) {
        let xor = v ^ self.prev_v;
        if xor == 0 {
            self.bits.write_bit(false);
            return;
        }
        self.bits.write_bit(true);
        let leading = xor.leading_zeros().min(31);
        let trailing = xor.trailing_zeros();
        if self.leading != u32::MAX && leading >= self.leading && trailing >= self.trailing {
            self.bits.write_bit(false);
            let sig = 64 - self.leading - self.trailing;
            self.bits.write_bits(xor >> self.trailing, sig);
        } else {
            self.bits.write_bit(true);
            let sig = 64 - leading - trailing;
            self.bits.write_bits(u64::from(leading), 5);
            // 64 significant bits do not fit in 6 bits; 0 stands for 64.
            self.bits.write_bits(u64::from(sig & 63), 6);
            self.bits.write_bits(xor >> trailing, sig);
            self.leading = leading;
            self.trailing = trailing;
        }
    }

    /// Samples appended.
    pub fn count(&self) -> u16 {
        self.count
    }

    /// Timestamp of the newest sample (meaningless when empty).
    pub fn last_timestamp(&self) -> i64 {
        self.prev_t
    }

    /// Value of the newest sample (meaningless when empty).
    pub fn last_value(&self) -> f64 {
        f64::from_bits(self.prev_v)
    }

    /// The encoded bytes so far.
    pub fn bytes(&self) -> &[u8] {
        self.bits.bytes()
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.bits.capacity()
    }

    /// Ends the chunk and returns its bytes.
    pub fn finish(self) -> Vec<u8> {
        self.bits.into_bytes()
    }
}

/// Why a chunk could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("chunk data ends before its {expected} samples are decoded")]
pub struct CorruptChunk {
    /// Samples the chunk claimed.
    pub expected: u16,
}

/// Iterates the samples of an encoded chunk.
#[derive(Debug, Clone)]
pub struct XorIter<'a> {
    bits: BitReader<'a>,
    remaining: u16,
    total: u16,
    read: u16,
    t: i64,
    delta: i64,
    v: u64,
    leading: u32,
    trailing: u32,
}

impl<'a> XorIter<'a> {
    /// An iterator over `count` samples in `data`.
    pub fn new(data: &'a [u8], count: u16) -> Self {
        Self {
            bits: BitReader::new(data),
            remaining: count,
            total: count,
            read: 0,
            t: 0,
            delta: 0,
            v: 0,
            leading: 0,
            trailing: 0,
        }
    }

    fn next_sample(&mut self) -> Result<(i64, f64), OutOfBits> {
        if self.read == 0 {
            self.t = self.bits.read_bits(64)? as i64;
            self.v = self.bits.read_bits(64)?;
        } else {
            if self.read == 1 {
                let width = self.bits.read_bits(7)? as u32;
                if width > 64 {
                    return Err(OutOfBits);
                }
                self.delta = self.bits.read_bits(width)? as i64;
            } else {
                let dod = self.read_dod()?;
                self.delta = self.delta.wrapping_add(dod);
            }
            self.t = self.t.wrapping_add(self.delta);
            self.read_value()?;
        }
        self.read += 1;
        Ok((self.t, f64::from_bits(self.v)))
    }

    fn read_dod(&mut self) -> Result<i64, OutOfBits> {
        let mut ones = 0;
        while ones < 4 && self.bits.read_bit()? {
            ones += 1;
        }
        let payload = match ones {
            0 => return Ok(0),
            1 => 7,
            2 => 9,
            3 => 12,
            _ => return Ok(self.bits.read_bits(64)? as i64),
        };
        let raw = self.bits.read_bits(payload)?;
        // Sign-extend the payload.
        let shift = 64 - payload;
        Ok(((raw << shift) as i64) >> shift)
    }

    fn read_value(&mut self) -> Result<(), OutOfBits> {
        if !self.bits.read_bit()? {
            return Ok(());
        }
        if self.bits.read_bit()? {
            self.leading = self.bits.read_bits(5)? as u32;
            let mut sig = self.bits.read_bits(6)? as u32;
            if sig == 0 {
                sig = 64;
            }
            self.trailing = 64u32.saturating_sub(self.leading + sig);
        }
        let sig = 64u32.saturating_sub(self.leading + self.trailing);
        let bits = self.bits.read_bits(sig)?;
        self.v ^= if self.trailing >= 64 {
            0
        } else {
            bits << self.trailing
        };
        Ok(())
    }
}

impl Iterator for XorIter<'_> {
    type Item = Result<(i64, f64), CorruptChunk>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        match self.next_sample() {
            Ok(s) => Some(Ok(s)),
            Err(OutOfBits) => {
                self.remaining = 0;
                Some(Err(CorruptChunk {
                    expected: self.total,
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn roundtrip(samples: &[(i64, f64)]) -> Vec<(i64, u64)> {
        let mut a = XorAppender::default();
        for (t, v) in samples {
            a.append(*t, *v);
        }
        let n = a.count();
        let bytes = a.finish();
        XorIter::new(&bytes, n)
            .map(|s| s.map(|(t, v)| (t, v.to_bits())).unwrap())
            .collect()
    }

    fn arb_series() -> impl Strategy<Value = Vec<(i64, f64)>> {
        (
            any::<i64>().prop_map(|t| t / 4),
            proptest::collection::vec(
                (
                    prop_oneof![Just(15_000i64), 1i64..100_000, 1i64..(1 << 40)],
                    prop_oneof![
                        any::<f64>(),
                        Just(0.0),
                        (0u32..1000).prop_map(f64::from),
                        Just(f64::from_bits(taishan_core::STALE_NAN_BITS)),
                    ],
                ),
                1..300,
            ),
        )
            .prop_map(|(start, steps)| {
                let mut t = start;
                steps
                    .into_iter()
                    .map(|(d, v)| {
                        t = t.saturating_add(d);
                        (t, v)
                    })
                    .collect()
            })
    }

    proptest! {
        #[test]
        fn every_sample_reads_back_bit_for_bit(samples in arb_series()) {
            let samples: Vec<_> = samples.into_iter().take(u16::MAX as usize).collect();
            let expected: Vec<(i64, u64)> = samples.iter().map(|(t, v)| (*t, v.to_bits())).collect();
            prop_assert_eq!(roundtrip(&samples), expected);
        }
    }

    #[test]
    fn delta_of_delta_bucket_edges_round_trip() {
        let mut samples = vec![(0i64, 0.0), (100_000, 1.0)];
        let mut delta = 100_000i64;
        for edge in [63i64, 64, 65, 255, 256, 257, 2047, 2048, 2049, 100_000] {
            for dod in [edge, -edge] {
                delta += dod;
                let t = samples.last().unwrap().0 + delta;
                samples.push((t, dod as f64));
            }
        }
        let expected: Vec<(i64, u64)> = samples.iter().map(|(t, v)| (*t, v.to_bits())).collect();
        assert_eq!(roundtrip(&samples), expected);
    }

    #[test]
    fn regular_scrapes_of_a_constant_cost_about_two_bits_a_sample() {
        let samples: Vec<_> = (0..120)
            .map(|i| (1_700_000_000_000 + i * 15_000, 1.0))
            .collect();
        let mut a = XorAppender::default();
        for (t, v) in &samples {
            a.append(*t, *v);
        }
        // 16 bytes of header, 21 bits of first delta, then 2 bits per sample (1 for the time, 1 for the value).
        assert!(
            a.bytes().len() <= 16 + 3 + 120 * 2 / 8,
            "{}",
            a.bytes().len()
        );
    }

    #[test]
    fn truncated_data_is_reported_not_panicked() {
        let mut a = XorAppender::default();
        for i in 0..50 {
            a.append(i * 1000, i as f64 * 1.37);
        }
        let bytes = a.finish();
        let got: Vec<_> = XorIter::new(&bytes[..bytes.len() / 2], 50).collect();
        assert!(matches!(
            got.last(),
            Some(Err(CorruptChunk { expected: 50 }))
        ));
    }
}
