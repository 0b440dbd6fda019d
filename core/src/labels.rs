//! Label sets: the identity of a series.
//!
//! A [`Labels`] is sorted by name with unique names and no empty values (an empty value means
//! "label absent" in Prometheus), so two equal sets are equal byte for byte and hash alike.

use std::fmt;

use xxhash_rust::xxh3::Xxh3;

/// The label that carries the metric name.
pub const METRIC_NAME: &str = "__name__";

/// One name/value pair.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Label {
    /// Label name.
    pub name: String,
    /// Label value (never empty inside a [`Labels`]).
    pub value: String,
}

impl Label {
    /// A label from anything string-like.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// Why a label set was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LabelError {
    /// The same name twice.
    #[error("label {0:?} appears more than once")]
    Duplicate(String),
    /// A name outside `[a-zA-Z_][a-zA-Z0-9_]*`.
    #[error("invalid label name {0:?}: names must match [a-zA-Z_][a-zA-Z0-9_]*")]
    InvalidName(String),
    /// A metric name outside `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    #[error("invalid metric name {0:?}: names must match [a-zA-Z_:][a-zA-Z0-9_:]*")]
    InvalidMetricName(String),
    /// No `__name__`.
    #[error("series has no metric name (__name__)")]
    MissingMetricName,
    /// A value that is not valid UTF-8 or too long.
    #[error("label {name:?} has a value of {len} bytes; at most {max} are allowed")]
    ValueTooLong {
        /// Label name.
        name: String,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
}

/// Longest label value accepted; longer ones are almost always a bug (a whole URL or a stack).
pub const MAX_LABEL_VALUE_LEN: usize = 4096;

/// A sorted, validated label set.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Labels(Vec<Label>);

impl Labels {
    /// Builds a label set: drops empty values, sorts, and refuses duplicates and bad names.
    /// A metric name is required.
    pub fn new(mut labels: Vec<Label>) -> Result<Self, LabelError> {
        labels.retain(|l| !l.value.is_empty());
        labels.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        for pair in labels.windows(2) {
            if pair[0].name == pair[1].name {
                return Err(LabelError::Duplicate(pair[0].name.clone()));
            }
        }
        let mut has_name = false;
        for l in &labels {
            if l.name == METRIC_NAME {
                if !is_valid_metric_name(&l.value) {
                    return Err(LabelError::InvalidMetricName(l.value.clone()));
                }
                has_name = true;
            } else if !is_valid_label_name(&l.name) {
                return Err(LabelError::InvalidName(l.name.clone()));
            }
            if l.value.len() > MAX_LABEL_VALUE_LEN {
                return Err(LabelError::ValueTooLong {
                    name: l.name.clone(),
                    len: l.value.len(),
                    max: MAX_LABEL_VALUE_LEN,
                });
            }
        }
        if !has_name {
            return Err(LabelError::MissingMetricName);
        }
        Ok(Self(labels))
    }

    /// Builds a label set from pairs; convenient in tests and for fixed internal series.
    pub fn from_pairs<N: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (N, V)>,
    ) -> Result<Self, LabelError> {
        Self::new(pairs.into_iter().map(|(n, v)| Label::new(n, v)).collect())
    }

    /// Wraps labels already known to be sorted, unique and non-empty (read back from storage).
    pub fn from_sorted_unchecked(labels: Vec<Label>) -> Self {
        debug_assert!(labels.windows(2).all(|w| w[0].name < w[1].name));
        Self(labels)
    }

    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|l| l.name.as_str().cmp(name))
            .ok()
            .map(|i| self.0[i].value.as_str())
    }

    /// The metric name.
    pub fn metric_name(&self) -> Option<&str> {
        self.get(METRIC_NAME)
    }

    /// The labels in name order.
    pub fn iter(&self) -> impl Iterator<Item = &Label> {
        self.0.iter()
    }

    /// How many labels.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A stable 64-bit hash of the set (xxh3 over names and values with separators), used to
    /// find a series without comparing strings.
    pub fn stable_hash(&self) -> u64 {
        hash_label_pairs(self.0.iter().map(|l| (l.name.as_str(), l.value.as_str())))
    }

    /// Consumes the set into its labels.
    pub fn into_vec(self) -> Vec<Label> {
        self.0
    }
}

/// The hash of [`Labels::stable_hash`] over any sorted pair sequence, so storage can hash its
/// interned labels the same way.
pub fn hash_label_pairs<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> u64 {
    let mut h = Xxh3::new();
    for (name, value) in pairs {
        h.update(name.as_bytes());
        h.update(&[0xff]);
        h.update(value.as_bytes());
        h.update(&[0xff]);
    }
    h.digest()
}

/// Whether `name` is a valid label name.
pub fn is_valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether `name` is a valid metric name.
pub fn is_valid_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

impl fmt::Display for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.metric_name().unwrap_or("");
        f.write_str(name)?;
        f.write_str("{")?;
        let mut first = true;
        for l in self.0.iter().filter(|l| l.name != METRIC_NAME) {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            write!(f, "{}={:?}", l.name, l.value)?;
        }
        f.write_str("}")
    }
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_drops_empty_and_hashes_order_independently() {
        let a = Labels::from_pairs([("job", "api"), ("__name__", "up"), ("zone", "")]).unwrap();
        let b = Labels::from_pairs([("__name__", "up"), ("job", "api")]).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.stable_hash(), b.stable_hash());
        assert_eq!(a.get("job"), Some("api"));
        assert_eq!(a.get("zone"), None);
        assert_eq!(a.to_string(), "up{job=\"api\"}");
    }

    #[test]
    fn refuses_bad_sets_with_the_reason() {
        assert_eq!(
            Labels::from_pairs([("__name__", "up"), ("a", "1"), ("a", "2")]),
            Err(LabelError::Duplicate("a".into()))
        );
        assert_eq!(
            Labels::from_pairs([("__name__", "up"), ("1a", "x")]),
            Err(LabelError::InvalidName("1a".into()))
        );
        assert_eq!(
            Labels::from_pairs([("__name__", "a-b")]),
            Err(LabelError::InvalidMetricName("a-b".into()))
        );
        assert_eq!(
            Labels::from_pairs([("job", "x")]),
            Err(LabelError::MissingMetricName)
        );
    }

    #[test]
    fn hash_separates_name_and_value_boundaries() {
        let a = Labels::from_pairs([("__name__", "m"), ("ab", "c")]).unwrap();
        let b = Labels::from_pairs([("__name__", "m"), ("a", "bc")]).unwrap();
        assert_ne!(a.stable_hash(), b.stable_hash());
    }
}
