//! What the alerter writes to its [`History`](crate::history::History): each alert's firing
//! and resolution (seen at its group's flushes, stamped with its own `startsAt` and
//! `endsAt`), the notifications and pages made with it, escalations, acknowledgements and
//! resolutions by hand.

use crate::history::{Event, EventKind, HistoryQuery};
use crate::model::{Alert, Fingerprint};
use crate::notifiers::Integration;
use crate::notify::{Delivery, FlushJob};
use crate::oncall::pager::Page;

use super::Alerter;

impl Alerter {
    /// Records the alerts of a flush whose state changed since they were last recorded.
    pub(super) fn record_alert_states(&self, alerts: &[Alert], now: i64) {
        let mut seen = self.lifecycle.lock();
        for a in alerts {
            let fp = a.fingerprint();
            let firing = !a.resolved_at(now);
            let before = match seen.get(&fp.0) {
                Some(s) => Some(*s),
                // New since this process started: nothing recorded of this firing yet.
                None if a.starts_at_ms >= self.started_ms => None,
                // First sight of an older alert (after a restart): what the history said.
                None => self.history.last_state(&fp.to_string()),
            };
            seen.insert(fp.0, firing);
            if before == Some(firing) {
                continue;
            }
            let (kind, at) = if firing {
                (EventKind::Firing, a.starts_at_ms)
            } else {
                (EventKind::Resolved, a.ends_at_ms)
            };
            self.history.record(Event::about(kind, &a.labels, at));
        }
    }

    /// Records what each integration of a plain receiver did with `job`.
    pub(super) fn record_deliveries(
        &self,
        job: &FlushJob,
        integrations: &[Integration],
        deliveries: &[Delivery],
    ) {
        let n = &job.notification;
        for (integration, d) in integrations.iter().zip(deliveries) {
            let (kind, detail) = match d {
                Delivery::Delivered => (
                    EventKind::Notified,
                    serde_json::json!({"integration": integration.name}),
                ),
                Delivery::Failed(reason) => (
                    EventKind::Failed,
                    serde_json::json!({"integration": integration.name, "error": reason}),
                ),
                Delivery::Deduplicated | Delivery::TimeMuted => continue,
            };
            for a in sent(job) {
                let mut e = Event::about(kind, &a.labels, n.at_ms);
                e.receiver = n.receiver.clone();
                e.detail = detail.clone();
                self.history.record(e);
            }
        }
    }

    /// Records a page delivered (or not) to a member.
    pub(super) fn record_page(&self, page: &Page, job: &FlushJob, deliveries: &[Delivery]) {
        let delivered = deliveries.iter().any(|d| matches!(d, Delivery::Delivered));
        let failed = deliveries.iter().find_map(|d| match d {
            Delivery::Failed(r) => Some(r.clone()),
            _ => None,
        });
        let kind = match (delivered, &failed) {
            (true, _) => EventKind::Paged,
            (false, Some(_)) => EventKind::Failed,
            (false, None) => return,
        };
        for a in sent(job) {
            let mut e = Event::about(kind, &a.labels, job.notification.at_ms);
            e.team = page.team.name.clone();
            e.person = page.paged.member.clone();
            e.receiver = job.notification.receiver.clone();
            e.detail = serde_json::json!({
                "incident": page.incident, "level": page.level + 1, "via": page.paged.via, "error": failed,
            });
            self.history.record(e);
        }
    }

    /// Records an escalation of `incident` to `level` (1-based).
    pub(super) fn record_escalation(&self, incident: &str, team: &str, level: usize, at: i64) {
        for fp in self.pager.incident_alerts(incident).unwrap_or_default() {
            if let Some(a) = self.alerts.get(fp) {
                let mut e = Event::about(EventKind::Escalated, &a.labels, at);
                e.team = team.to_string();
                e.detail = serde_json::json!({"incident": incident, "level": level});
                self.history.record(e);
            }
        }
    }

    /// Records an acknowledgement or a resolution by hand of `fps` by `by`.
    pub(super) fn record_action(
        &self,
        kind: EventKind,
        fps: &[Fingerprint],
        by: &str,
        comment: &str,
    ) {
        let now = self.clock.now_ms();
        for fp in fps {
            if let Some(a) = self.alerts.get(*fp) {
                let mut e = Event::about(kind, &a.labels, now);
                e.person = by.to_string();
                e.detail = serde_json::json!({"comment": comment});
                self.history.record(e);
            }
        }
    }

    /// The history rows matching `q`, newest first.
    pub fn history(&self, q: &HistoryQuery) -> Result<Vec<Event>, crate::history::HistoryError> {
        self.history.query(q)
    }

    /// Waits until every history row recorded so far is written.
    pub fn flush_history(&self) {
        self.history.flush();
    }
}

/// The alerts a notification told of: the unmuted ones, and muted ones resolving.
fn sent(job: &FlushJob) -> impl Iterator<Item = &Alert> {
    let at = job.notification.at_ms;
    job.notification
        .alerts
        .iter()
        .filter(move |a| !job.muted.contains(&a.fingerprint().0) || a.resolved_at(at))
}
