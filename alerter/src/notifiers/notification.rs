//! What every notifier is handed: one flushed group's notification, and its template data
//! in Alertmanager's shape ([`Notification::data`]).

use super::data::{NotificationData, PageContext};
use crate::model::{Alert, LabelSet};

/// A group's notification, as every notifier receives it.
#[derive(Debug, Clone)]
pub struct Notification {
    /// The receiver.
    pub receiver: String,
    /// The group key.
    pub group_key: String,
    /// The group labels.
    pub group_labels: LabelSet,
    /// The alerts (only firing ones for integrations without `send_resolved`).
    pub alerts: Vec<Alert>,
    /// The flush time (ms).
    pub at_ms: i64,
    /// The alerter's external URL.
    pub external_url: String,
    /// Set when it pages an on-call member: who, why, and their links.
    pub page: Option<PageContext>,
}

impl Notification {
    /// Alertmanager's template data of it.
    pub fn data(&self) -> NotificationData {
        let mut data = NotificationData::new(
            &self.receiver,
            &self.group_labels,
            &self.alerts,
            self.at_ms,
            &self.external_url,
        );
        data.taishan = self.page.clone();
        data
    }
}
