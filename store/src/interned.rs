//! Label sets as the store keeps them: every distinct string held once.
//!
//! A fleet repeats the same few names and values (`job`, `instance`, `mode="idle"`) across
//! millions of series; interning them is most of the head's memory saving.

use std::collections::HashSet;
use std::sync::Arc;

use taishan_core::labels::hash_label_pairs;
use taishan_core::{Label, Labels, TenantId};

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
    Labels::from_sorted_unchecked(
        labels
            .iter()
            .map(|p| Label::new(p.name.as_ref(), p.value.as_ref()))
            .collect(),
    )
}

/// The key a series is found under: tenant and labels hashed together.
pub fn series_hash<'a>(
    tenant: &'a TenantId,
    labels: impl Iterator<Item = (&'a str, &'a str)>,
) -> u64 {
    hash_label_pairs(std::iter::once(("\u{0}tenant", tenant.as_str())).chain(labels))
}

/// [`series_hash`] of an ingest label set.
pub fn hash_of_labels(tenant: &TenantId, labels: &Labels) -> u64 {
    series_hash(
        tenant,
        labels.iter().map(|l| (l.name.as_str(), l.value.as_str())),
    )
}

/// [`series_hash`] of an interned label set.
pub fn hash_of_pairs(tenant: &TenantId, labels: &[LabelPair]) -> u64 {
    series_hash(
        tenant,
        labels.iter().map(|p| (p.name.as_ref(), p.value.as_ref())),
    )
}

/// Whether an interned set equals an ingest set.
pub fn same_labels(pairs: &[LabelPair], labels: &Labels) -> bool {
    pairs.len() == labels.len()
        && pairs
            .iter()
            .zip(labels.iter())
            .all(|(p, l)| *p.name == *l.name && *p.value == *l.value)
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
                name: self.intern(&l.name),
                value: self.intern(&l.value),
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
