//! The alerter's own metrics, after Alertmanager's `alertmanager_*` with Taishan's prefix.

use prometheus::{
    HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
};

/// What the alerter counts.
#[derive(Debug, Clone)]
pub struct AlerterMetrics {
    /// Alerts received, by `status` (firing, resolved).
    pub alerts_received: IntCounterVec,
    /// Alerts refused as malformed.
    pub alerts_invalid: IntCounter,
    /// Alerts refused because the alerter is full.
    pub alerts_refused: IntCounter,
    /// Alerts held.
    pub alerts: IntGauge,
    /// Notification attempts, by `integration` kind.
    pub notifications: IntCounterVec,
    /// Failed notification attempts, by `integration` kind.
    pub notifications_failed: IntCounterVec,
    /// Seconds a notification attempt took, by `integration` kind.
    pub notification_latency: HistogramVec,
    /// Aggregation groups.
    pub groups: IntGauge,
    /// Config reloads, by `result` (success, failure).
    pub reloads: IntCounterVec,
    /// On-call pages sent, by `team` and `member`.
    pub pages: IntCounterVec,
    /// Escalations to a next level, by `team`.
    pub escalations: IntCounterVec,
    /// Seconds from an incident's opening to its first acknowledgement, by `team` and
    /// `service`: MTTA is `rate(_sum) / rate(_count)`.
    pub time_to_acknowledge: HistogramVec,
    /// Seconds from an incident's opening to the resolution of all its alerts, by `team`
    /// and `service`: MTTR likewise.
    pub time_to_resolve: HistogramVec,
    /// History rows dropped because the writer could not keep up.
    pub history_dropped: IntCounter,
}

impl AlerterMetrics {
    /// Creates the metrics and registers them with `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let m = Self::unregistered()?;
        registry.register(Box::new(m.alerts_received.clone()))?;
        registry.register(Box::new(m.alerts_invalid.clone()))?;
        registry.register(Box::new(m.alerts_refused.clone()))?;
        registry.register(Box::new(m.alerts.clone()))?;
        registry.register(Box::new(m.notifications.clone()))?;
        registry.register(Box::new(m.notifications_failed.clone()))?;
        registry.register(Box::new(m.notification_latency.clone()))?;
        registry.register(Box::new(m.groups.clone()))?;
        registry.register(Box::new(m.reloads.clone()))?;
        registry.register(Box::new(m.pages.clone()))?;
        registry.register(Box::new(m.escalations.clone()))?;
        registry.register(Box::new(m.time_to_acknowledge.clone()))?;
        registry.register(Box::new(m.time_to_resolve.clone()))?;
        registry.register(Box::new(m.history_dropped.clone()))?;
        Ok(m)
    }

    /// The metrics, kept but not exported (tests, one-shot commands).
    pub fn unregistered() -> prometheus::Result<Self> {
        let by = |name: &str, help: &str, label: &str| {
            IntCounterVec::new(Opts::new(name, help), &[label])
        };
        Ok(Self {
            alerts_received: by(
                "taishan_alerter_alerts_received_total",
                "Alerts received.",
                "status",
            )?,
            alerts_invalid: IntCounter::new(
                "taishan_alerter_alerts_invalid_total",
                "Alerts refused as malformed.",
            )?,
            alerts_refused: IntCounter::new(
                "taishan_alerter_alerts_refused_total",
                "New alerts refused because the alerter holds its maximum.",
            )?,
            alerts: IntGauge::new("taishan_alerter_alerts", "Alerts held.")?,
            notifications: by(
                "taishan_alerter_notifications_total",
                "Notification attempts.",
                "integration",
            )?,
            notifications_failed: by(
                "taishan_alerter_notifications_failed_total",
                "Notification attempts that failed.",
                "integration",
            )?,
            notification_latency: HistogramVec::new(
                HistogramOpts::new(
                    "taishan_alerter_notification_latency_seconds",
                    "Seconds a notification attempt took.",
                )
                .buckets(vec![
                    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 10.0,
                ]),
                &["integration"],
            )?,
            groups: IntGauge::new("taishan_alerter_aggregation_groups", "Aggregation groups.")?,
            reloads: by(
                "taishan_alerter_config_reloads_total",
                "Configuration reloads.",
                "result",
            )?,
            pages: IntCounterVec::new(
                Opts::new("taishan_alerter_oncall_pages_total", "On-call pages sent."),
                &["team", "member"],
            )?,
            escalations: by(
                "taishan_alerter_oncall_escalations_total",
                "Incidents escalated to a next level.",
                "team",
            )?,
            time_to_acknowledge: incident_histogram(
                "taishan_alerter_oncall_time_to_acknowledge_seconds",
                "Seconds from an incident's opening to its first acknowledgement.",
            )?,
            history_dropped: IntCounter::new(
                "taishan_alerter_history_dropped_total",
                "Alert history rows dropped because the writer could not keep up.",
            )?,
            time_to_resolve: incident_histogram(
                "taishan_alerter_oncall_time_to_resolve_seconds",
                "Seconds from an incident's opening to the resolution of all its alerts.",
            )?,
        })
    }
}

/// Minutes to hours: the spans incidents take to be answered and fixed.
fn incident_histogram(name: &str, help: &str) -> prometheus::Result<HistogramVec> {
    HistogramVec::new(
        HistogramOpts::new(name, help).buckets(vec![
            30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 43200.0,
            86400.0,
        ]),
        &["team", "service"],
    )
}
