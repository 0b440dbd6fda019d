//! Label sets as the store keeps them: every distinct string held once.
//!
//! A fleet repeats the same few names and values (`job`, `instance`, `mode="idle"`) across
//! millions of series; interning them is most of the head's memory saving.

use std::collections::HashSet;
use std::sync::Arc;

use taishan_core::{Labels, TenantId};
use xxhash_rust::xxh3::Xxh3;

/// One interned name/value pair.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LabelPair {
    /// Label name.
    pub name: Arc<str>,
    /// Label value.
    pub value: Arc<str>,
}

/// A sorted label set sharing its strings with every other series.
pub type SeriesLabels = Arc<[LabelPair]>;

/// Converts back to the core type for answers.
pub fn to_labels(labels: &[LabelPair]) -> Labels {
    Labels::from_sorted_unchecked(labels.iter().map(|p| (p.name.as_ref(), p.value.as_ref())))
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
        labels.iter().map(|p| (p.name.as_ref(), p.value.as_ref())),
    )
}

/// The string table.
#[derive(Debug, Default)]
pub struct Interner {
    strings: HashSet<Arc<str>>,
}

impl Interner {
    /// The shared copy of `s`.
    pub fn intern(&mut self, s: &str) -> Arc<str> {
        if let Some(found) = self.strings.get(s) {
            return found.clone();
        }
        let arc: Arc<str> = Arc::from(s);
        self.strings.insert(arc.clone());
        arc
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
        self.strings.retain(|s| Arc::strong_count(s) > 1);
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
