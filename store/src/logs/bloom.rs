//! Bloom filters over what a stored batch of log records contains — trace ids, and the
//! trigrams of the bodies — so a search reads back only batches that can match.
//!
//! A substring of three bytes or more can only occur in a body holding all of its trigrams,
//! so the trigram filter never hides a match (no false negatives); with 10 bits per trigram
//! and three probes, a batch without them is read for nothing about 2% of the time per
//! trigram, and far less for a query of several.

use rustc_hash::FxHashSet;

/// A bloom filter of 64-bit hashes, three probes by double hashing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bloom(Vec<u64>);

impl Bloom {
    /// A filter for `items` with `bits_per_item` bits each (empty when there are none).
    pub fn with_capacity(items: usize, bits_per_item: usize) -> Self {
        Bloom(vec![0; (items * bits_per_item).div_ceil(64)])
    }

    fn positions(&self, hash: u64) -> impl Iterator<Item = usize> {
        let bits = (self.0.len() * 64) as u64;
        let (h1, h2) = (hash, hash.rotate_left(32) | 1);
        (0..3u64).map(move |i| (h1.wrapping_add(i.wrapping_mul(h2)) % bits) as usize)
    }

    /// Adds a hash.
    pub fn insert(&mut self, hash: u64) {
        if self.0.is_empty() {
            return;
        }
        let positions: Vec<usize> = self.positions(hash).collect();
        for p in positions {
            self.0[p / 64] |= 1 << (p % 64);
        }
    }

    /// Whether the hash may have been added (never false when it was).
    pub fn may_contain(&self, hash: u64) -> bool {
        !self.0.is_empty()
            && self
                .positions(hash)
                .all(|p| self.0[p / 64] & (1 << (p % 64)) != 0)
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.0.len() * 8
    }
}

/// The hash of a trace id.
pub fn id_hash(id: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(id)
}

/// The hash of a trigram.
fn trigram_hash(t: &[u8]) -> u64 {
    let v = u64::from(t[0]) | u64::from(t[1]) << 8 | u64::from(t[2]) << 16;
    v.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (v << 29)
}

/// The distinct trigram hashes of `texts`.
pub fn trigrams<'a>(texts: impl Iterator<Item = &'a str>) -> FxHashSet<u64> {
    let mut out = FxHashSet::default();
    for t in texts {
        for w in t.as_bytes().windows(3) {
            out.insert(trigram_hash(w));
        }
    }
    out
}

/// Whether every trigram of `needle` may be in a filter of body trigrams; needles shorter
/// than three bytes cannot be ruled out.
pub fn may_contain_substring(filter: &Bloom, needle: &str) -> bool {
    may_contain_bytes(filter, needle.as_bytes())
}

/// [`may_contain_substring`] for bytes (regex literals need not be whole characters).
pub fn may_contain_bytes(filter: &Bloom, needle: &[u8]) -> bool {
    needle.len() < 3
        || needle
            .windows(3)
            .all(|w| filter.may_contain(trigram_hash(w)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substrings_are_never_ruled_out_and_absent_ones_mostly_are() {
        let bodies = ["payment declined by bank-a", "ledger entry posted"];
        let tri = trigrams(bodies.iter().copied());
        let mut f = Bloom::with_capacity(tri.len(), 10);
        for h in &tri {
            f.insert(*h);
        }
        for needle in [
            "declined",
            "bank-a",
            "entry p",
            "ed",
            "payment declined by bank-a",
        ] {
            assert!(may_contain_substring(&f, needle), "{needle}");
        }
        let absent = ["timeout", "reconciliation", "zzz", "qqqq"];
        assert!(
            absent
                .iter()
                .filter(|n| may_contain_substring(&f, n))
                .count()
                <= 1
        );
        let mut ids = Bloom::with_capacity(1, 16);
        ids.insert(id_hash(&[7; 16]));
        assert!(ids.may_contain(id_hash(&[7; 16])));
        assert!(!Bloom::default().may_contain(1));
    }
}
