//! One alert: an element of an alerting rule's result, identified by its labels, moving
//! from pending to firing to resolved as Prometheus's alerts do.

use std::collections::BTreeMap;

use serde::Serialize;
use taishan_core::Labels;

/// Where an alert is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// Its condition cleared; kept a while so receivers hear it resolved.
    Inactive,
    /// Its condition holds, not yet for the rule's `for`.
    Pending,
    /// Its condition has held for `for` (or it is kept firing by `keep_firing_for`).
    Firing,
}

impl AlertState {
    /// The value of `alertstate` and of the API's `state`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Inactive => "inactive",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
        }
    }
}

/// An alert of one rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Its identity: the result's labels without `__name__`, the rule's labels and
    /// `alertname`.
    pub labels: Labels,
    /// Expanded annotations.
    pub annotations: BTreeMap<String, String>,
    /// Its state.
    pub state: AlertState,
    /// The value of the result element that made it, at the last evaluation.
    pub value: f64,
    /// When it became pending (ms).
    pub active_at_ms: i64,
    /// When it started firing (ms), 0 if it has not.
    pub fired_at_ms: i64,
    /// When it was resolved (ms), 0 while active.
    pub resolved_at_ms: i64,
    /// Since when its condition has been clear while `keep_firing_for` holds it (ms), 0
    /// otherwise.
    pub keep_firing_since_ms: i64,
}

impl Alert {
    /// A new pending alert.
    pub fn pending(
        labels: Labels,
        annotations: BTreeMap<String, String>,
        value: f64,
        at_ms: i64,
    ) -> Self {
        Self {
            labels,
            annotations,
            state: AlertState::Pending,
            value,
            active_at_ms: at_ms,
            fired_at_ms: 0,
            resolved_at_ms: 0,
            keep_firing_since_ms: 0,
        }
    }

    /// The alert's name.
    pub fn name(&self) -> &str {
        self.labels.get(ALERT_NAME).unwrap_or_default()
    }
}

/// The label naming an alert.
pub const ALERT_NAME: &str = "alertname";
/// The label giving an alert's state on `ALERTS`.
pub const ALERT_STATE: &str = "alertstate";
/// The series of active alerts (1 per pending or firing alert).
pub const ALERTS_METRIC: &str = "ALERTS";
/// The series of when each active alert became active (Unix seconds), used to restore
/// `for` state after a restart.
pub const ALERTS_FOR_STATE_METRIC: &str = "ALERTS_FOR_STATE";
