//! Label sets as the store keeps them: every distinct string held once.
//!
//! A fleet repeats the same few names and values (`job`, `instance`, `mode="idle"`) across
//! millions of series; interning them is most of the head's memory saving.

use std::collections::HashSet;
use std::sync::Arc;

use taishan_core::{Labels, TenantId};
use xxhash_rust::xxh3::Xxh3;

/// An interned string behind a thin pointer (8 bytes, where `Arc<str>` takes 16): a million
/// series of five labels hold ten million of these.
#[derive(Clone)]
pub struct Sym(Arc<Box<str>>);

impl Sym {
    /// A new shared string.
    pub fn new(s: &str) -> Self {
        Sym(Arc::new(Box::from(s)))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether only the interner still holds it.
    fn unused(&self) -> bool {
        Arc::strong_count(&self.0) <= 1
    }
}

impl std::ops::Deref for Sym {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Sym {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Sym {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq for Sym {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.as_str() == other.as_str()
    }
}

impl Eq for Sym {}

impl std::hash::Hash for Sym {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl PartialOrd for Sym {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Sym {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl std::fmt::Debug for Sym {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl std::fmt::Display for Sym {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for Sym {
    fn from(s: &str) -> Self {
        Sym::new(s)
    }
}

/// One interned name/value pair.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LabelPair {
    /// Label name.
    pub name: Sym,
    /// Label value.
    pub value: Sym,
}

/// A sorted label set sharing its strings with every other series.
pub type SeriesLabels = Arc<[LabelPair]>;

/// Converts back to the core type for answers.
pub fn to_labels(labels: &[LabelPair]) -> Labels {
    Labels::from_sorted_unchecked(labels.iter().map(|p| (p.name.as_str(), p.value.as_str())))
}

/// A series' identity as a 128-bit fingerprint of its tenant and labels.
///
/// The head finds series by this key alone, without comparing label strings (which would
/// cost a cache miss per string): with 128 bits, the odds of two distinct series colliding
/// among even 10^9 are about 10^-21, far below the odds of undetected memory corruption.
pub type SeriesKey = u128;

fn key_of<'a>(tenant: &TenantId, labels: impl Iterator<Item = (&'a str, &'a str)>) -> SeriesKey {
    let mut h = Xxh3::new();
    h.update(tenant.as_str().as_bytes());
    h.update(&[0xfe]);
    for (name, value) in labels {
        h.update(name.as_bytes());
        h.update(&[0xff]);
        h.update(value.as_bytes());
        h.update(&[0xff]);
    }
    h.digest128()
}

/// The key of an ingest label set.
pub fn key_of_labels(tenant: &TenantId, labels: &Labels) -> SeriesKey {
    key_of(tenant, labels.iter().map(|l| (l.name, l.value)))
}

/// The key of an interned label set.
pub fn key_of_pairs(tenant: &TenantId, labels: &[LabelPair]) -> SeriesKey {
    key_of(
        tenant,
        labels.iter().map(|p| (p.name.as_str(), p.value.as_str())),
    )
}

/// The string table.
#[derive(Debug, Default)]
pub struct Interner {
    strings: HashSet<Sym>,
}

impl Interner {
    /// The shared copy of `s`.
    pub fn intern(&mut self, s: &str) -> Sym {
        if let Some(found) = self.strings.get(s) {
            return found.clone();
        }
        let sym = Sym::new(s);
        self.strings.insert(sym.clone());
        sym
    }

    /// Interns a whole label set.
    pub fn intern_labels(&mut self, labels: &Labels) -> SeriesLabels {
        labels
            .iter()
            .map(|l| LabelPair {
                name: self.intern(l.name),
                value: self.intern(l.value),
            })
            .collect()
    }

    /// Drops strings no series uses any more.
    pub fn sweep(&mut self) {
        self.strings.retain(|s| !s.unused());
    }

    /// Distinct strings held.
    pub fn len(&self) -> usize {
        self.strings.len()
    }

    /// Whether none are held.
    pub fn is_empty(&self) -> bool {
        self.strings.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_identity_not_spelling() {
        let t = TenantId::default();
        let a = Labels::from_pairs([("job", "api"), ("__name__", "up")]).unwrap();
        let b = Labels::from_pairs([("__name__", "up"), ("job", "api")]).unwrap();
        assert_eq!(key_of_labels(&t, &a), key_of_labels(&t, &b));
        let mut interner = Interner::default();
        assert_eq!(
            key_of_pairs(&t, &interner.intern_labels(&a)),
            key_of_labels(&t, &a)
        );
        // Separators keep name/value boundaries apart, and the tenant is part of the key.
        let c = Labels::from_pairs([("__name__", "m"), ("ab", "c")]).unwrap();
        let d = Labels::from_pairs([("__name__", "m"), ("a", "bc")]).unwrap();
        assert_ne!(key_of_labels(&t, &c), key_of_labels(&t, &d));
        assert_ne!(
            key_of_labels(&t, &a),
            key_of_labels(&TenantId::new("other").unwrap(), &a)
        );
    }
}
