//! Metric metadata (type, help, unit) as exposed by scraped targets, for Prometheus's
//! `/api/v1/metadata`. Bounded: a flood of families cannot grow it without limit.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::RwLock;
use serde::Serialize;

/// Most metric families remembered.
pub const MAX_FAMILIES: usize = 100_000;
/// Most distinct metadata entries per family (different targets may disagree).
pub const MAX_PER_FAMILY: usize = 10;

/// What a target says about a metric family.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct MetricMetadata {
    /// `counter`, `gauge`, `histogram`, `summary`, `unknown`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// The help text.
    pub help: String,
    /// The unit, if any.
    pub unit: String,
}

/// Metadata by metric family name, shared between scrapers and the query API.
#[derive(Debug, Clone, Default)]
pub struct MetadataRegistry {
    inner: Arc<RwLock<BTreeMap<String, Vec<MetricMetadata>>>>,
}

impl MetadataRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Remembers `meta` for `family`; returns false when a bound refused it.
    pub fn record(&self, family: &str, meta: MetricMetadata) -> bool {
        {
            let map = self.inner.read();
            if map.get(family).is_some_and(|v| v.contains(&meta)) {
                return true;
            }
        }
        let mut map = self.inner.write();
        if !map.contains_key(family) && map.len() >= MAX_FAMILIES {
            return false;
        }
        let entries = map.entry(family.to_string()).or_default();
        if entries.contains(&meta) {
            return true;
        }
        if entries.len() >= MAX_PER_FAMILY {
            return false;
        }
        entries.push(meta);
        entries.sort();
        true
    }

    /// Metadata of `metric` (all families when `None`), at most `limit` families and
    /// `limit_per_metric` entries each (negative or zero: no limit).
    pub fn query(
        &self,
        metric: Option<&str>,
        limit: i64,
        limit_per_metric: i64,
    ) -> BTreeMap<String, Vec<MetricMetadata>> {
        let map = self.inner.read();
        let take = |n: i64| if n > 0 { n as usize } else { usize::MAX };
        map.iter()
            .filter(|(name, _)| metric.is_none_or(|m| m == name.as_str()))
            .take(take(limit))
            .map(|(name, v)| {
                (
                    name.clone(),
                    v.iter().take(take(limit_per_metric)).cloned().collect(),
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(kind: &str, help: &str) -> MetricMetadata {
        MetricMetadata {
            kind: kind.into(),
            help: help.into(),
            unit: String::new(),
        }
    }

    #[test]
    fn records_distinct_entries_and_honours_limits() {
        let r = MetadataRegistry::new();
        assert!(r.record("up", meta("gauge", "Target is up.")));
        assert!(r.record("up", meta("gauge", "Target is up.")));
        assert!(r.record("a_total", meta("counter", "A.")));
        assert_eq!(r.query(Some("up"), 0, 0)["up"].len(), 1);
        assert_eq!(r.query(None, 1, 0).len(), 1);
        for i in 0..MAX_PER_FAMILY {
            r.record("x", meta("gauge", &i.to_string()));
        }
        assert!(!r.record("x", meta("gauge", "one too many")));
    }
}
