//! Label sets: the identity of a series.
//!
//! A [`Labels`] is sorted by name with unique names and no empty values (an empty value means
//! "label absent" in Prometheus), so two equal sets are equal byte for byte and hash alike.

use std::fmt;

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

/// A label borrowed from a [`Labels`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LabelRef<'a> {
    /// Label name.
    pub name: &'a str,
    /// Label value.
    pub value: &'a str,
}

/// A sorted, validated label set.
///
/// Stored packed, every name and value in one string with their end offsets beside it: two
/// allocations a series instead of two a label, which matters at millions of samples a
/// second on the ingest path.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Labels {
    text: String,
    /// End offset in `text` of each name and each value, alternating.
    ends: Vec<u32>,
}

impl Labels {
    /// Builds a label set: drops empty values, sorts, and refuses duplicates and bad names.
    /// A metric name is required.
    pub fn new(labels: Vec<Label>) -> Result<Self, LabelError> {
        let mut pairs: Vec<(&str, &str)> = labels
            .iter()
            .map(|l| (l.name.as_str(), l.value.as_str()))
            .collect();
        Self::from_strs(&mut pairs)
    }

    /// Builds a label set from borrowed pairs (sorted in place), with the checks of
    /// [`Labels::new`]. Decoders use it to build a set with no intermediate strings.
    pub fn from_strs(pairs: &mut Vec<(&str, &str)>) -> Result<Self, LabelError> {
        pairs.retain(|(_, v)| !v.is_empty());
        if !pairs.windows(2).all(|w| w[0].0 < w[1].0) {
            pairs.sort_unstable_by(|a, b| a.0.cmp(b.0));
            if let Some(w) = pairs.windows(2).find(|w| w[0].0 == w[1].0) {
                return Err(LabelError::Duplicate(w[0].0.to_string()));
            }
        }
        let mut has_name = false;
        for (name, value) in pairs.iter() {
            if *name == METRIC_NAME {
                if !is_valid_metric_name(value) {
                    return Err(LabelError::InvalidMetricName(value.to_string()));
                }
                has_name = true;
            } else if !is_valid_label_name(name) {
                return Err(LabelError::InvalidName(name.to_string()));
            }
            if value.len() > MAX_LABEL_VALUE_LEN {
                return Err(LabelError::ValueTooLong {
                    name: name.to_string(),
                    len: value.len(),
                    max: MAX_LABEL_VALUE_LEN,
                });
            }
        }
        if !has_name {
            return Err(LabelError::MissingMetricName);
        }
        Ok(Self::pack(pairs.iter().copied()))
    }

    fn pack<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)> + Clone) -> Self {
        let (len, n) = pairs
            .clone()
            .fold((0, 0), |(len, n), (a, b)| (len + a.len() + b.len(), n + 1));
        let mut text = String::with_capacity(len);
        let mut ends = Vec::with_capacity(n * 2);
        for (name, value) in pairs {
            text.push_str(name);
            ends.push(text.len() as u32);
            text.push_str(value);
            ends.push(text.len() as u32);
        }
        Self { text, ends }
    }

    /// Builds a label set from pairs; convenient in tests and for fixed internal series.
    pub fn from_pairs<N: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (N, V)>,
    ) -> Result<Self, LabelError> {
        Self::new(pairs.into_iter().map(|(n, v)| Label::new(n, v)).collect())
    }

    /// Wraps pairs already known to be sorted, unique and non-empty (read back from storage).
    pub fn from_sorted_unchecked<'a>(
        pairs: impl Iterator<Item = (&'a str, &'a str)> + Clone,
    ) -> Self {
        let labels = Self::pack(pairs);
        debug_assert!(labels
            .iter()
            .zip(labels.iter().skip(1))
            .all(|(a, b)| a.name < b.name));
        labels
    }

    fn pair(&self, i: usize) -> LabelRef<'_> {
        let start = if i == 0 {
            0
        } else {
            self.ends[2 * i - 1] as usize
        };
        let mid = self.ends[2 * i] as usize;
        let end = self.ends[2 * i + 1] as usize;
        LabelRef {
            name: &self.text[start..mid],
            value: &self.text[mid..end],
        }
    }

    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter().find(|l| l.name == name).map(|l| l.value)
    }

    /// The metric name.
    pub fn metric_name(&self) -> Option<&str> {
        self.get(METRIC_NAME)
    }

    /// The labels in name order.
    pub fn iter(&self) -> impl Iterator<Item = LabelRef<'_>> + Clone {
        (0..self.len()).map(move |i| self.pair(i))
    }

    /// How many labels.
    pub fn len(&self) -> usize {
        self.ends.len() / 2
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

impl Ord for Labels {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.iter().cmp(other.iter())
    }
}

impl PartialOrd for Labels {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
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
        for l in self.iter().filter(|l| l.name != METRIC_NAME) {
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
    fn sorts_and_drops_empty_values_so_equal_sets_are_equal() {
        let a = Labels::from_pairs([("job", "api"), ("__name__", "up"), ("zone", "")]).unwrap();
        let b = Labels::from_pairs([("__name__", "up"), ("job", "api")]).unwrap();
        assert_eq!(a, b);
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
}
