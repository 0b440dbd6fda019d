//! On-call, built in: teams and their members' contacts, schedules of rotation layers with
//! hand-overs, time zones and overrides ([`schedule`]), which team owns which service, and
//! escalation policies. A route whose receiver names a team pages whoever is on call at
//! that moment ([`pager`]), and climbs the team's policy until someone acknowledges.
//!
//! The file (`alerter.oncall_file`, `taishan up --alerter-oncall FILE`):
//!
//! ```yaml
//! teams:
//!   - name: payments
//!     members:
//!       - name: alice
//!         time_zone: Asia/Shanghai
//!         contacts:                     # any notifier kind, with its settings
//!           - webhook: {url: http://127.0.0.1:9000/alice}
//!           - email: {to: alice@bank.example}
//!       - name: bob
//!         contacts: [{dingtalk: {webhook_url: https://oapi.dingtalk.com/robot/send?access_token=...}}]
//!     schedules:
//!       - name: primary
//!         time_zone: Asia/Shanghai
//!         layers:                       # later layers on top of earlier ones
//!           - name: weekly
//!             start: 2026-11-30 09:00   # the first hand-over, wall clock in the zone
//!             rotation: 1w
//!             members: [alice, bob]
//!         overrides:
//!           - {member: bob, start: 2026-12-24 18:00, end: 2026-12-26 09:00}
//!     escalation:
//!       levels:
//!         - notify: [{schedule: primary}]
//!           after: 5m                   # not acknowledged within 5m: the next level
//!         - notify: [{member: bob}, {team: payments}]
//!       repeat: 1                       # then once more from the first level
//! services:                             # which team owns which service
//!   - team: payments
//!     matchers: ['service=~"payment|gateway"']
//! ```

mod file;
pub mod links;
pub mod pager;
pub mod schedule;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

pub use file::ContactEnv;
pub use schedule::{Schedule, Shift};

use crate::config::ConfigErrors;
use crate::matcher::{all_match, Matcher};
use crate::model::LabelSet;
use crate::notifiers::Integration;

/// The compiled on-call file.
#[derive(Debug, Clone, Default)]
pub struct OnCall {
    /// The teams by name.
    pub teams: BTreeMap<String, Arc<Team>>,
    /// Which team owns which alerts, first match wins.
    pub ownership: Vec<Ownership>,
}

/// A team.
#[derive(Debug)]
pub struct Team {
    /// Its name, which routes use as a receiver.
    pub name: String,
    /// Its members by name.
    pub members: BTreeMap<String, Member>,
    /// Its schedules by name.
    pub schedules: BTreeMap<String, Schedule>,
    /// How it is paged.
    pub escalation: EscalationPolicy,
}

/// A person who can be paged.
#[derive(Debug)]
pub struct Member {
    /// Their name.
    pub name: String,
    /// Where they live, for showing times.
    pub time_zone: Option<chrono_tz::Tz>,
    /// How they are reached.
    pub contacts: Vec<Integration>,
}

/// The levels a page climbs.
#[derive(Debug, Clone, PartialEq)]
pub struct EscalationPolicy {
    /// The levels, first first.
    pub levels: Vec<EscalationLevel>,
    /// How many more times the levels are climbed after the last.
    pub repeat: u32,
}

/// One level: who is paged, and how long they have to acknowledge.
#[derive(Debug, Clone, PartialEq)]
pub struct EscalationLevel {
    /// Who.
    pub targets: Vec<Target>,
    /// How long before the next level.
    pub after: Duration,
}

/// Whom a level pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Whoever is on call in this schedule.
    Schedule(String),
    /// This member.
    Member(String),
    /// Every member of the team.
    Team,
}

/// Alerts a team owns.
#[derive(Debug, Clone)]
pub struct Ownership {
    /// The team.
    pub team: String,
    /// All must match.
    pub matchers: Vec<Matcher>,
}

/// A person a level pages, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Paged {
    /// The member.
    pub member: String,
    /// `schedule primary (weekly)`, `member`, `team`.
    pub via: String,
}

impl OnCall {
    /// Compiles on-call text; `file` names it in errors.
    pub fn load_str(file: &str, text: &str, env: ContactEnv<'_>) -> Result<Self, ConfigErrors> {
        crate::config::parse_placed(file, text, |root| file::compile(root, env))
    }

    /// The team named `name`.
    pub fn team(&self, name: &str) -> Option<&Arc<Team>> {
        self.teams.get(name)
    }

    /// The team that owns alerts with `labels`, by the `services` section.
    pub fn owner(&self, labels: &LabelSet) -> Option<&str> {
        self.ownership
            .iter()
            .find(|o| all_match(&o.matchers, labels))
            .map(|o| o.team.as_str())
    }
}

impl Team {
    /// Who level `level` pages at `ms`, each person once, in the level's order; a schedule
    /// with nobody on call adds no one.
    pub fn paged_at(&self, level: usize, ms: i64) -> Vec<Paged> {
        let mut out: Vec<Paged> = Vec::new();
        let Some(l) = self.escalation.levels.get(level) else {
            return out;
        };
        let mut add = |member: &str, via: String| {
            if !out.iter().any(|p| p.member == member) {
                out.push(Paged {
                    member: member.to_string(),
                    via,
                });
            }
        };
        for t in &l.targets {
            match t {
                Target::Schedule(s) => {
                    if let Some(shift) = self.schedules.get(s).and_then(|s| s.on_call(ms)) {
                        add(&shift.member, format!("schedule {s} ({})", shift.source));
                    }
                }
                Target::Member(m) => add(m, "member".into()),
                Target::Team => {
                    for m in self.members.keys() {
                        add(m, "team".into());
                    }
                }
            }
        }
        out
    }

    /// Each schedule's shift at `ms`.
    pub fn on_call_at(&self, ms: i64) -> BTreeMap<String, Option<Shift>> {
        self.schedules
            .iter()
            .map(|(name, s)| (name.clone(), s.on_call(ms)))
            .collect()
    }

    /// The number of levels climbed in all, repeats included.
    pub fn total_levels(&self) -> usize {
        self.escalation.levels.len() * (self.escalation.repeat as usize + 1)
    }
}

#[cfg(test)]
mod tests;
