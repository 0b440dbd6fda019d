//! Paging a team: one incident per (team, group), opened by the group's first firing
//! flush and closed when all its alerts resolve. Its first level is paged at once; each
//! level that leaves a firing alert unacknowledged for its `after` hands over to the next
//! (the policy climbed `repeat` more times), and everyone paged hears each later flush of
//! the group (new alerts, repeats, resolutions) once per interval through the notification
//! log, keyed per person.
//!
//! An acknowledgement holds an alert until it resolves (unlike a silence, which guesses a
//! duration): acknowledged alerts leave pages and stop the climb, and their resolution is
//! still told to those paged. The pager decides; the alerter delivers its [`Page`]s.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use parking_lot::Mutex;
use serde::Serialize;

use super::{OnCall, Paged, Team};
use crate::model::Fingerprint;
use crate::notify::FlushJob;

/// Someone to page with a notification.
#[derive(Debug, Clone)]
pub struct Page {
    /// The team.
    pub team: Arc<Team>,
    /// The member paged, and why.
    pub paged: Paged,
    /// The incident's id.
    pub incident: String,
    /// The level (0-based, counting repeats) this page is from.
    pub level: usize,
    /// What to deliver to the member's contacts.
    pub job: FlushJob,
}

/// An acknowledgement of one alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Ack {
    /// Who.
    pub by: String,
    /// When (Unix ms).
    pub at_ms: i64,
    /// Why, or what is being done.
    pub comment: String,
}

/// An open incident, as the API shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Incident {
    /// Its id, used by links and the API.
    pub id: String,
    /// The team paged.
    pub team: String,
    /// The alert group.
    pub group_key: String,
    /// The `service` label its alerts share ("" when none).
    pub service: String,
    /// When it opened (Unix ms).
    pub opened_ms: i64,
    /// The level reached (0-based, counting repeats).
    pub level: usize,
    /// Since when at that level.
    pub level_since_ms: i64,
    /// Everyone paged so far.
    pub paged: Vec<Paged>,
    /// Its firing alerts.
    pub firing: Vec<Fingerprint>,
    /// The first acknowledgement.
    pub acknowledged: Option<Ack>,
    /// Whether every firing alert is acknowledged.
    pub fully_acknowledged: bool,
    #[serde(skip)]
    last: Option<FlushJob>,
}

/// What happened that history and metrics record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PagerEvent {
    /// An incident opened.
    Opened {
        incident: String,
        team: String,
        service: String,
        at_ms: i64,
    },
    /// It climbed to `level`.
    Escalated {
        incident: String,
        team: String,
        level: usize,
        at_ms: i64,
    },
    /// Its first acknowledgement, `after_ms` after it opened.
    Acknowledged {
        incident: String,
        team: String,
        service: String,
        by: String,
        after_ms: i64,
    },
    /// Every alert resolved, `after_ms` after it opened.
    Resolved {
        incident: String,
        team: String,
        service: String,
        after_ms: i64,
    },
}

/// The pager's state.
#[derive(Debug, Default)]
pub struct Pager {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    incidents: BTreeMap<(String, String), Incident>,
    acks: BTreeMap<u64, Ack>,
    events: Vec<PagerEvent>,
}

impl Pager {
    /// An idle pager.
    pub fn new() -> Self {
        Self::default()
    }

    /// A flush of a group routed to `team`: the pages it makes.
    pub fn on_flush(&self, team: &Arc<Team>, mut job: FlushJob) -> Vec<Page> {
        let now = job.notification.at_ms;
        let mut st = self.state.lock();
        let firing: BTreeSet<u64> = job
            .notification
            .alerts
            .iter()
            .filter(|a| !a.resolved_at(now))
            .map(|a| a.fingerprint().0)
            .collect();
        for a in &job.notification.alerts {
            if a.resolved_at(now) {
                st.acks.remove(&a.fingerprint().0);
            }
        }
        job.muted
            .extend(firing.iter().filter(|fp| st.acks.contains_key(fp)));
        let key = (team.name.clone(), job.notification.group_key.clone());
        if !st.incidents.contains_key(&key) {
            if firing.is_empty() {
                return Vec::new();
            }
            let incident = open(team, &job, now);
            st.events.push(PagerEvent::Opened {
                incident: incident.id.clone(),
                team: team.name.clone(),
                service: incident.service.clone(),
                at_ms: now,
            });
            st.incidents.insert(key.clone(), incident);
            // Nothing to send yet: everyone reached is paged below.
            climb_while_nobody(&mut st, &key, team, now);
        }
        let acks = st.acks.clone();
        let Some(incident) = st.incidents.get_mut(&key) else {
            return Vec::new();
        };
        incident.firing = firing.iter().map(|fp| Fingerprint(*fp)).collect();
        incident.fully_acknowledged = firing.iter().all(|fp| acks.contains_key(fp));
        incident.last = Some(job.clone());
        let pages = incident
            .paged
            .iter()
            .map(|p| Page {
                team: team.clone(),
                paged: p.clone(),
                incident: incident.id.clone(),
                level: incident.level,
                job: job.clone(),
            })
            .collect();
        if firing.is_empty() {
            let closed = st.incidents.remove(&key);
            if let Some(i) = closed {
                st.events.push(PagerEvent::Resolved {
                    incident: i.id,
                    team: i.team,
                    service: i.service,
                    after_ms: now - i.opened_ms,
                });
            }
        }
        pages
    }

    /// Climbs every incident whose level waited long enough unacknowledged: the pages of
    /// the levels reached.
    pub fn tick(&self, oncall: &OnCall, now: i64) -> Vec<Page> {
        let mut st = self.state.lock();
        let keys: Vec<(String, String)> = st.incidents.keys().cloned().collect();
        let mut pages = Vec::new();
        for key in keys {
            let Some(team) = oncall.team(&key.0) else {
                continue;
            };
            let Some(incident) = st.incidents.get(&key) else {
                continue;
            };
            let levels = &team.escalation.levels;
            let after = levels
                .get(incident.level % levels.len().max(1))
                .map_or(i64::MAX, |l| {
                    i64::try_from(l.after.as_millis()).unwrap_or(i64::MAX)
                });
            if incident.fully_acknowledged
                || incident.level + 1 >= team.total_levels()
                || now - incident.level_since_ms < after
            {
                continue;
            }
            pages.extend(climb(&mut st, &key, team, now));
            pages.extend(climb_while_nobody(&mut st, &key, team, now));
        }
        pages
    }

    /// Acknowledges the firing alerts of incident `id`, by `by`: the fingerprints acked.
    pub fn acknowledge_incident(
        &self,
        id: &str,
        by: &str,
        comment: &str,
        now: i64,
    ) -> Option<Vec<Fingerprint>> {
        let fps = {
            let st = self.state.lock();
            st.incidents.values().find(|i| i.id == id)?.firing.clone()
        };
        self.acknowledge(&fps, by, comment, now);
        Some(fps)
    }

    /// Acknowledges alerts until they resolve.
    pub fn acknowledge(&self, fps: &[Fingerprint], by: &str, comment: &str, now: i64) {
        let mut st = self.state.lock();
        for fp in fps {
            st.acks.entry(fp.0).or_insert_with(|| Ack {
                by: by.to_string(),
                at_ms: now,
                comment: comment.to_string(),
            });
        }
        let acks = st.acks.clone();
        let mut events = Vec::new();
        for i in st.incidents.values_mut() {
            let touched = i.firing.iter().any(|fp| fps.contains(fp));
            i.fully_acknowledged = i.firing.iter().all(|fp| acks.contains_key(&fp.0));
            if touched && i.acknowledged.is_none() {
                let ack = Ack {
                    by: by.to_string(),
                    at_ms: now,
                    comment: comment.to_string(),
                };
                events.push(PagerEvent::Acknowledged {
                    incident: i.id.clone(),
                    team: i.team.clone(),
                    service: i.service.clone(),
                    by: by.to_string(),
                    after_ms: now - i.opened_ms,
                });
                i.acknowledged = Some(ack);
            }
        }
        st.events.extend(events);
    }

    /// The acknowledgement of alert `fp`, if it has one.
    pub fn ack_of(&self, fp: Fingerprint) -> Option<Ack> {
        self.state.lock().acks.get(&fp.0).cloned()
    }

    /// Every acknowledgement in force.
    pub fn acks(&self) -> BTreeMap<u64, Ack> {
        self.state.lock().acks.clone()
    }

    /// Takes an acknowledgement made on another replica: like [`Pager::acknowledge`], so
    /// the incident here stops climbing too.
    pub fn acknowledge_restored(&self, fp: Fingerprint, ack: Ack) {
        let (by, comment, at) = (ack.by.clone(), ack.comment.clone(), ack.at_ms);
        self.state.lock().acks.insert(fp.0, ack);
        self.acknowledge(&[fp], &by, &comment, at);
    }

    /// Puts back an acknowledgement read from the state log.
    pub fn restore_ack(&self, fp: Fingerprint, ack: Ack) {
        self.state.lock().acks.insert(fp.0, ack);
    }

    /// The open incidents.
    pub fn incidents(&self) -> Vec<Incident> {
        self.state.lock().incidents.values().cloned().collect()
    }

    /// The incident `id`'s firing alerts, if it is open.
    pub fn incident_alerts(&self, id: &str) -> Option<Vec<Fingerprint>> {
        let st = self.state.lock();
        st.incidents
            .values()
            .find(|i| i.id == id)
            .map(|i| i.firing.clone())
    }

    /// What happened since the last call.
    pub fn take_events(&self) -> Vec<PagerEvent> {
        std::mem::take(&mut self.state.lock().events)
    }
}

fn open(team: &Team, job: &FlushJob, now: i64) -> Incident {
    let n = &job.notification;
    let service = n
        .alerts
        .first()
        .and_then(|a| a.labels.get("service"))
        .filter(|s| n.alerts.iter().all(|a| a.labels.get("service") == Some(*s)))
        .cloned()
        .unwrap_or_default();
    let id = Fingerprint::of(&crate::model::LabelSet::from([
        ("team".to_string(), team.name.clone()),
        ("group".to_string(), n.group_key.clone()),
        ("opened".to_string(), now.to_string()),
    ]));
    Incident {
        id: id.to_string(),
        team: team.name.clone(),
        group_key: n.group_key.clone(),
        service,
        opened_ms: now,
        level: 0,
        level_since_ms: now,
        paged: team.paged_at(0, now),
        firing: Vec::new(),
        acknowledged: None,
        fully_acknowledged: false,
        last: None,
    }
}

/// Moves incident `key` one level up: the pages of those the new level adds.
fn climb(st: &mut State, key: &(String, String), team: &Arc<Team>, now: i64) -> Vec<Page> {
    let Some(i) = st.incidents.get_mut(key) else {
        return Vec::new();
    };
    let waited = now - i.level_since_ms;
    i.level += 1;
    i.level_since_ms = now;
    let levels = team.escalation.levels.len().max(1);
    let reached = team.paged_at(i.level % levels, now);
    st.events.push(PagerEvent::Escalated {
        incident: i.id.clone(),
        team: team.name.clone(),
        level: i.level,
        at_ms: now,
    });
    let mut pages = Vec::new();
    for p in reached {
        if !i.paged.iter().any(|q| q.member == p.member) {
            i.paged.push(p.clone());
        }
        if let Some(last) = &i.last {
            // An escalation pages now whatever was sent before the level began; what was
            // sent since (by another replica) is not sent again.
            let mut job = last.clone();
            job.repeat =
                std::time::Duration::from_millis(u64::try_from(waited.max(1)).unwrap_or(1));
            job.notification.at_ms = now;
            pages.push(Page {
                team: team.clone(),
                paged: p,
                incident: i.id.clone(),
                level: i.level,
                job,
            });
        }
    }
    pages
}

/// Climbs past levels at which nobody is on call (a schedule's gap), so a page never
/// waits on no one.
fn climb_while_nobody(
    st: &mut State,
    key: &(String, String),
    team: &Arc<Team>,
    now: i64,
) -> Vec<Page> {
    let levels = team.escalation.levels.len().max(1);
    let mut pages = Vec::new();
    while let Some(i) = st.incidents.get(key) {
        if !team.paged_at(i.level % levels, now).is_empty() || i.level + 1 >= team.total_levels() {
            break;
        }
        tracing::warn!(team = %team.name, incident = %i.id, level = i.level, "no one is on call at this escalation level; climbing");
        pages.extend(climb(st, key, team, now));
    }
    pages
}
