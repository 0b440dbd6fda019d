//! What a notification says, in Alertmanager's template data shape (`.Receiver`,
//! `.Status`, `.Alerts`, `.GroupLabels`, `.CommonLabels`, `.CommonAnnotations`,
//! `.ExternalURL`), which is also the body of a version 4 webhook.

use serde::Serialize;

use crate::model::{Alert, AlertStatus, LabelSet};
use crate::timefmt::go_json_time;

/// One alert of a notification.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertData {
    /// `firing` or `resolved`.
    pub status: AlertStatus,
    /// Its labels.
    pub labels: LabelSet,
    /// Its annotations.
    pub annotations: LabelSet,
    /// Go JSON time.
    pub starts_at: String,
    /// Go JSON time; the zero time while firing.
    pub ends_at: String,
    /// Where it came from.
    #[serde(rename = "generatorURL")]
    pub generator_url: String,
    /// Its fingerprint, 16 hex digits.
    pub fingerprint: String,
}

/// A whole notification's data.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationData {
    /// The receiver's name, regex-quoted as Alertmanager does.
    pub receiver: String,
    /// `firing` when any alert fires.
    pub status: AlertStatus,
    /// The alerts.
    pub alerts: Vec<AlertData>,
    /// The group's labels.
    pub group_labels: LabelSet,
    /// Labels every alert has with the same value.
    pub common_labels: LabelSet,
    /// Annotations every alert has with the same value.
    pub common_annotations: LabelSet,
    /// The alerter's external URL.
    #[serde(rename = "externalURL")]
    pub external_url: String,
}

impl NotificationData {
    /// The data of `alerts` for `receiver` at `now_ms`.
    pub fn new(
        receiver: &str,
        group_labels: &LabelSet,
        alerts: &[Alert],
        now_ms: i64,
        external_url: &str,
    ) -> Self {
        let status_of = |a: &Alert| {
            if a.resolved_at(now_ms) {
                AlertStatus::Resolved
            } else {
                AlertStatus::Firing
            }
        };
        let status = if alerts.iter().any(|a| status_of(a) == AlertStatus::Firing) {
            AlertStatus::Firing
        } else {
            AlertStatus::Resolved
        };
        Self {
            receiver: regex::escape(receiver),
            status,
            alerts: alerts
                .iter()
                .map(|a| AlertData {
                    status: status_of(a),
                    labels: a.labels.clone(),
                    annotations: a.annotations.clone(),
                    starts_at: go_json_time(a.starts_at_ms),
                    ends_at: go_json_time(a.ends_at_ms),
                    generator_url: a.generator_url.clone(),
                    fingerprint: a.fingerprint().to_string(),
                })
                .collect(),
            group_labels: group_labels.clone(),
            common_labels: common(alerts.iter().map(|a| &a.labels)),
            common_annotations: common(alerts.iter().map(|a| &a.annotations)),
            external_url: external_url.to_string(),
        }
    }
}

fn common<'a>(mut sets: impl Iterator<Item = &'a LabelSet>) -> LabelSet {
    let Some(first) = sets.next() else {
        return LabelSet::new();
    };
    let mut out = first.clone();
    for s in sets {
        out.retain(|k, v| s.get(k) == Some(v));
        if out.is_empty() {
            break;
        }
    }
    out
}
