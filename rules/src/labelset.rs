//! Changing a result's labels the way Prometheus's label builder does: setting a label to
//! the empty string removes it.

use std::collections::BTreeMap;

use taishan_core::Labels;

/// A label set being edited.
#[derive(Debug, Clone, Default)]
pub(crate) struct LabelEdit {
    labels: BTreeMap<String, String>,
}

impl LabelEdit {
    /// Starts from `labels`.
    pub(crate) fn from(labels: &Labels) -> Self {
        Self {
            labels: labels
                .iter()
                .map(|l| (l.name.to_string(), l.value.to_string()))
                .collect(),
        }
    }

    /// Sets `name` to `value`; an empty value removes the label.
    pub(crate) fn set(&mut self, name: &str, value: impl Into<String>) -> &mut Self {
        let value = value.into();
        if value.is_empty() {
            self.labels.remove(name);
        } else {
            self.labels.insert(name.to_string(), value);
        }
        self
    }

    /// Removes `name`.
    pub(crate) fn remove(&mut self, name: &str) -> &mut Self {
        self.labels.remove(name);
        self
    }

    /// The finished set, sorted, without empty values.
    pub(crate) fn build(&self) -> Labels {
        Labels::from_sorted_unchecked(self.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }
}

/// `labels` as a map.
pub(crate) fn to_map(labels: &Labels) -> BTreeMap<String, String> {
    labels
        .iter()
        .map(|l| (l.name.to_string(), l.value.to_string()))
        .collect()
}
