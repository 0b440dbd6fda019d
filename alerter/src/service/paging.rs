//! The alerter's side of on-call: groups routed to a team (or to `owner`, the team owning
//! each alert's service) become pages delivered to members' contacts, escalations are
//! sent as they fall due, acknowledgements are kept across restarts, and the pager's
//! events become the MTTA and MTTR series.

use std::sync::Arc;

use crate::history::EventKind;
use crate::model::{Alert, Fingerprint};
use crate::notifiers::PageContext;
use crate::notify::{deliver, Delivery, DeliveryRecord, FlushJob};
use crate::oncall::links::{LinkAction, LinkClaims};
use crate::oncall::pager::{Ack, Page, PagerEvent};
use crate::oncall::{OnCall, Team};
use crate::state::StateEvent;

use super::Alerter;

/// Why an on-call request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PagingError {
    /// No open incident has that id.
    #[error("no open incident {0:?} (it may have resolved)")]
    NoIncident(String),
}

impl Alerter {
    /// Pages `team` with a flush of one of its groups.
    pub(super) async fn page_team(&self, team: &Arc<Team>, job: FlushJob) -> Vec<Delivery> {
        let pages = self.pager.on_flush(team, job);
        self.record_pager_events();
        self.deliver_pages(pages).await
    }

    /// Splits a flush routed to `owner` by the team owning each alert; alerts no team
    /// owns are reported, not dropped silently.
    pub(super) async fn page_owners(&self, oncall: &OnCall, job: FlushJob) -> Vec<Delivery> {
        let mut by_team: std::collections::BTreeMap<&str, Vec<crate::model::Alert>> =
            Default::default();
        for a in &job.notification.alerts {
            match oncall.owner(&a.labels) {
                Some(team) => by_team.entry(team).or_default().push(a.clone()),
                None => {
                    tracing::warn!(alert = %a.fingerprint(), labels = ?a.labels, "routed to owner, but no team owns it (services in the on-call file)")
                }
            }
        }
        let mut out = Vec::new();
        for (name, alerts) in by_team {
            let Some(team) = oncall.team(name) else {
                continue;
            };
            let mut part = job.clone();
            part.notification.alerts = alerts;
            out.extend(self.page_team(team, part).await);
        }
        out
    }

    /// Sends the escalations due now; `run` calls it every second, tests after moving a
    /// manual clock.
    pub async fn escalate_due(&self) -> Vec<Delivery> {
        let config = self.config();
        let pages = self.pager.tick(&config.oncall, self.clock.now_ms());
        self.record_pager_events();
        self.deliver_pages(pages).await
    }

    async fn deliver_pages(&self, pages: Vec<Page>) -> Vec<Delivery> {
        let wait = self.replica_wait();
        if !pages.is_empty() && !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        let record = DeliveryRecord {
            log: &self.log,
            metrics: &self.metrics,
            clock: &self.clock,
        };
        let mut out = Vec::new();
        for page in pages {
            let Some(member) = page.team.members.get(&page.paged.member) else {
                continue;
            };
            let mut job = page.job.clone();
            job.notification.page = Some(self.page_context(&page));
            let delivered = deliver(&job, &member.contacts, record, self.options.backoff).await;
            self.record_page(&page, &job, &delivered);
            if delivered.iter().any(|d| matches!(d, Delivery::Delivered)) {
                self.metrics
                    .pages
                    .with_label_values(&[&page.team.name, &page.paged.member])
                    .inc();
                tracing::info!(team = %page.team.name, member = %page.paged.member, via = %page.paged.via, incident = %page.incident, level = page.level + 1, "paged");
            }
            out.extend(delivered);
        }
        out
    }

    fn page_context(&self, page: &Page) -> PageContext {
        let expires = (self.clock.now_ms()
            + i64::try_from(self.options.link_ttl.as_millis()).unwrap_or(i64::MAX / 2))
            / 1000;
        let base = format!("{}/api/taishan/v1/link", self.options.external_url);
        let link = |action| {
            self.links.url(
                &base,
                LinkClaims {
                    action,
                    incident: page.incident.clone(),
                    member: page.paged.member.clone(),
                    expires,
                    sig: String::new(),
                },
            )
        };
        PageContext {
            team: page.team.name.clone(),
            member: page.paged.member.clone(),
            via: page.paged.via.clone(),
            incident: page.incident.clone(),
            level: page.level + 1,
            ack_url: link(LinkAction::Ack),
            resolve_url: link(LinkAction::Resolve),
        }
    }

    fn record_pager_events(&self) {
        let seconds = |ms: i64| ms.max(0) as f64 / 1000.0;
        for e in self.pager.take_events() {
            match &e {
                PagerEvent::Opened { incident, team, .. } => {
                    tracing::info!(%incident, %team, "incident opened");
                }
                PagerEvent::Escalated {
                    incident,
                    team,
                    level,
                    at_ms,
                } => {
                    self.metrics.escalations.with_label_values(&[team]).inc();
                    self.record_escalation(incident, team, level + 1, *at_ms);
                    tracing::warn!(%incident, %team, level = level + 1, "not acknowledged in time: escalated");
                }
                PagerEvent::Acknowledged {
                    team,
                    service,
                    after_ms,
                    ..
                } => self
                    .metrics
                    .time_to_acknowledge
                    .with_label_values(&[team, service])
                    .observe(seconds(*after_ms)),
                PagerEvent::Resolved {
                    team,
                    service,
                    after_ms,
                    ..
                } => self
                    .metrics
                    .time_to_resolve
                    .with_label_values(&[team, service])
                    .observe(seconds(*after_ms)),
            }
        }
    }

    /// Acknowledges alerts until they resolve: they leave pages, escalation stops for
    /// incidents with nothing else firing, and the acknowledgement outlives a restart.
    pub fn acknowledge(&self, fps: &[Fingerprint], by: &str, comment: &str) {
        let now = self.clock.now_ms();
        self.pager.acknowledge(fps, by, comment, now);
        self.persist_acks(fps);
        self.record_action(EventKind::Acknowledged, fps, by, comment);
        self.record_pager_events();
        tracing::info!(alerts = fps.len(), %by, "acknowledged");
    }

    /// Acknowledges every firing alert of incident `id`.
    pub fn acknowledge_incident(
        &self,
        id: &str,
        by: &str,
        comment: &str,
    ) -> Result<Vec<Fingerprint>, PagingError> {
        let fps = self
            .pager
            .incident_alerts(id)
            .ok_or_else(|| PagingError::NoIncident(id.to_string()))?;
        self.acknowledge(&fps, by, comment);
        Ok(fps)
    }

    /// Resolves the firing alerts of incident `id` now, as if their source had said so;
    /// a source that still sees the problem will fire them again.
    pub fn resolve_incident(
        &self,
        id: &str,
        by: &str,
        comment: &str,
    ) -> Result<Vec<Fingerprint>, PagingError> {
        let fps = self
            .pager
            .incident_alerts(id)
            .ok_or_else(|| PagingError::NoIncident(id.to_string()))?;
        self.resolve(&fps, by, comment);
        Ok(fps)
    }

    /// Resolves the alerts `fps` now.
    /// `comment` (why) goes into the history beside `by` (who).
    pub fn resolve(&self, fps: &[Fingerprint], by: &str, comment: &str) -> usize {
        let now = self.clock.now_ms();
        let resolved: Vec<_> = self
            .alerts
            .list()
            .into_iter()
            .filter(|a| fps.contains(&a.fingerprint()) && !a.resolved_at(now))
            .map(|held| {
                let mut a = Alert::clone(&held);
                a.ends_at_ms = now;
                a.updated_at_ms = now;
                a.timeout = false;
                a
            })
            .collect();
        let n = resolved.len();
        let fps_resolved: Vec<Fingerprint> = resolved.iter().map(|a| a.fingerprint()).collect();
        self.record_action(EventKind::ResolvedByHand, &fps_resolved, by, comment);
        self.take(resolved);
        tracing::info!(alerts = n, %by, "resolved by hand");
        n
    }

    /// The acknowledgement of `fp`, if it has one.
    pub fn ack_of(&self, fp: Fingerprint) -> Option<Ack> {
        self.pager.ack_of(fp)
    }

    fn persist_acks(&self, fps: &[Fingerprint]) {
        for fp in fps {
            let Some(ack) = self.pager.ack_of(*fp) else {
                continue;
            };
            let event = StateEvent::Acknowledged {
                fingerprint: fp.to_string(),
                by: ack.by,
                at_ms: ack.at_ms,
                comment: ack.comment,
            };
            if let Some(state) = &self.state {
                if let Err(e) = state.append(&event) {
                    tracing::error!(error = %e, alert = %fp, "the acknowledgement could not be saved; it holds until a restart");
                }
            }
            self.publish(event);
        }
    }
}
