//! Every alert the alerter holds, by fingerprint: a report of a known alert whose activity
//! overlaps merges into it, others replace it; resolved alerts are collected after a while.
//! The number of alerts is capped: beyond it new alerts are refused, never queued. An alert
//! is held once and shared (`Arc`) with the aggregation groups it belongs to.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;

use crate::model::{Alert, Fingerprint};

/// Why an alert was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The store holds its maximum of alerts.
    #[error(
        "the alerter holds its maximum of {0} alerts; new alerts are refused until some resolve"
    )]
    Full(usize),
}

/// The alerts, shared by the API, the dispatcher and the inhibitor.
#[derive(Debug)]
pub struct AlertStore {
    alerts: RwLock<HashMap<Fingerprint, Arc<Alert>>>,
    capacity: usize,
}

impl AlertStore {
    /// An empty store holding at most `capacity` alerts.
    pub fn new(capacity: usize) -> Self {
        Self {
            alerts: RwLock::new(HashMap::new()),
            capacity,
        }
    }

    /// Takes a report of an alert; the alert as held now (merged with what was known).
    pub fn put(&self, alert: Alert) -> Result<Arc<Alert>, StoreError> {
        let fp = alert.fingerprint();
        let mut alerts = self.alerts.write();
        let merged = match alerts.get(&fp) {
            Some(old) if old.overlaps(&alert) => old.merge(&alert),
            Some(_) => alert,
            None if alerts.len() >= self.capacity => return Err(StoreError::Full(self.capacity)),
            None => alert,
        };
        let merged = Arc::new(merged);
        alerts.insert(fp, merged.clone());
        Ok(merged)
    }

    /// One alert.
    pub fn get(&self, fp: Fingerprint) -> Option<Arc<Alert>> {
        self.alerts.read().get(&fp).cloned()
    }

    /// Every alert.
    pub fn list(&self) -> Vec<Arc<Alert>> {
        self.alerts.read().values().cloned().collect()
    }

    /// Alerts not resolved at `now_ms`.
    pub fn firing(&self, now_ms: i64) -> Vec<Arc<Alert>> {
        self.alerts
            .read()
            .values()
            .filter(|a| !a.resolved_at(now_ms))
            .cloned()
            .collect()
    }

    /// How many alerts are held.
    pub fn len(&self) -> usize {
        self.alerts.read().len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops alerts resolved before `before_ms`; how many.
    pub fn collect_resolved(&self, before_ms: i64) -> usize {
        let mut alerts = self.alerts.write();
        let n = alerts.len();
        alerts.retain(|_, a| !a.resolved_at(before_ms));
        n - alerts.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LabelSet;

    fn alert(name: &str, starts: i64, ends: i64, updated: i64) -> Alert {
        Alert {
            labels: LabelSet::from([("alertname".to_string(), name.to_string())]),
            annotations: LabelSet::new(),
            starts_at_ms: starts,
            ends_at_ms: ends,
            generator_url: String::new(),
            updated_at_ms: updated,
            timeout: false,
        }
    }

    #[test]
    fn overlapping_reports_merge_and_a_new_occurrence_replaces() {
        let store = AlertStore::new(10);
        store.put(alert("A", 1_000, 60_000, 1_000)).unwrap();
        let merged = store.put(alert("A", 5_000, 70_000, 5_000)).unwrap();
        assert_eq!(merged.starts_at_ms, 1_000);
        assert_eq!(merged.ends_at_ms, 70_000);
        // After it resolved, a new occurrence starts afresh.
        let again = store.put(alert("A", 100_000, 160_000, 100_000)).unwrap();
        assert_eq!(again.starts_at_ms, 100_000);
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn a_full_store_refuses_new_alerts_but_takes_known_ones() {
        let store = AlertStore::new(1);
        store.put(alert("A", 1_000, 60_000, 1_000)).unwrap();
        assert_eq!(
            store.put(alert("B", 1_000, 60_000, 1_000)),
            Err(StoreError::Full(1))
        );
        assert!(store.put(alert("A", 2_000, 60_000, 2_000)).is_ok());
        assert_eq!(store.collect_resolved(61_000), 1);
        assert!(store.is_empty());
    }
}
