//! The on-call file as written (`teams`, `services`), and its compilation into [`OnCall`]:
//! every name checked against what it refers to, every problem placed at its path.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, TimeZone};
use serde::Deserialize;
use taishan_core::config::{read_section, FieldError};
use taishan_template::TemplateSet;

use super::schedule::{Layer, Override, Schedule};
use super::{EscalationLevel, EscalationPolicy, Member, OnCall, Ownership, Target, Team};
use crate::config::{GlobalConfig, PromDuration};
use crate::matcher::parse_matcher;
use crate::notifiers::{self, Entry};
use crate::time_intervals::TimeInterval;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TeamConfig {
    name: String,
    #[serde(default)]
    members: Vec<MemberConfig>,
    #[serde(default)]
    schedules: Vec<ScheduleConfig>,
    #[serde(default)]
    escalation: Option<EscalationConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberConfig {
    name: String,
    #[serde(default)]
    time_zone: Option<String>,
    /// Each a one-key map: the notifier kind and its settings.
    #[serde(default)]
    contacts: Vec<BTreeMap<String, serde_yaml_ng::Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScheduleConfig {
    name: String,
    #[serde(default)]
    time_zone: Option<String>,
    #[serde(default)]
    layers: Vec<LayerConfig>,
    #[serde(default)]
    overrides: Vec<OverrideConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LayerConfig {
    #[serde(default)]
    name: Option<String>,
    start: String,
    rotation: PromDuration,
    members: Vec<String>,
    #[serde(default)]
    active: Vec<serde_yaml_ng::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OverrideConfig {
    member: String,
    start: String,
    end: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EscalationConfig {
    levels: Vec<LevelConfig>,
    #[serde(default)]
    repeat: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LevelConfig {
    notify: Vec<TargetConfig>,
    #[serde(default)]
    after: Option<PromDuration>,
}

/// One of `schedule: NAME`, `member: NAME` or `team: NAME`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetConfig {
    #[serde(default)]
    schedule: Option<String>,
    #[serde(default)]
    member: Option<String>,
    #[serde(default)]
    team: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OwnershipConfig {
    team: String,
    matchers: Vec<String>,
}

/// How long a level waits for an acknowledgement when it does not say.
const DEFAULT_AFTER: PromDuration = PromDuration::from_secs(600);

/// What contacts are built with: the alerter config's `global`, client and templates.
#[derive(Debug, Clone, Copy)]
pub struct ContactEnv<'a> {
    /// `global` of alertmanager.yml (SMTP and chat defaults).
    pub global: &'a GlobalConfig,
    /// The shared HTTP client.
    pub http: &'a reqwest::Client,
    /// The notification templates.
    pub templates: &'a Arc<TemplateSet>,
}

/// Reads the sections of the file's root mapping; errors carry paths.
pub(super) fn compile(
    root: serde_yaml_ng::Value,
    env: ContactEnv<'_>,
) -> Result<OnCall, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut teams: Vec<TeamConfig> = Vec::new();
    let mut services: Vec<OwnershipConfig> = Vec::new();
    match root {
        serde_yaml_ng::Value::Mapping(m) => {
            for (key, value) in m {
                match key.as_str().unwrap_or_default() {
                    "teams" => read_section("teams", value, &mut errors, &mut teams),
                    "services" => read_section("services", value, &mut errors, &mut services),
                    other => errors.push(FieldError::new(
                        other,
                        format!("unknown section `{other}`; known sections: teams, services"),
                    )),
                }
            }
        }
        serde_yaml_ng::Value::Null => {}
        _ => errors.push(FieldError::new(
            "",
            "the on-call file must be a mapping of sections",
        )),
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut out = OnCall::default();
    for (i, t) in teams.iter().enumerate() {
        let path = format!("teams[{i}]");
        if out.teams.contains_key(&t.name) {
            errors.push(FieldError::new(
                format!("{path}.name"),
                format!("team {:?} is not unique", t.name),
            ));
            continue;
        }
        match team(t, &path, env) {
            Ok(team) => {
                out.teams.insert(t.name.clone(), Arc::new(team));
            }
            Err(e) => errors.extend(e),
        }
    }
    for (i, o) in services.iter().enumerate() {
        let path = format!("services[{i}]");
        if !out.teams.contains_key(&o.team) && !teams.iter().any(|t| t.name == o.team) {
            errors.push(FieldError::new(
                format!("{path}.team"),
                format!("no team named {:?}", o.team),
            ));
        }
        let mut matchers = Vec::new();
        for (j, m) in o.matchers.iter().enumerate() {
            match parse_matcher(m) {
                Ok(m) => matchers.push(m),
                Err(e) => errors.push(FieldError::new(
                    format!("{path}.matchers[{j}]"),
                    e.to_string(),
                )),
            }
        }
        if o.matchers.is_empty() {
            errors.push(FieldError::new(
                format!("{path}.matchers"),
                "at least one matcher is needed",
            ));
        }
        out.ownership.push(Ownership {
            team: o.team.clone(),
            matchers,
        });
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn team(t: &TeamConfig, path: &str, env: ContactEnv<'_>) -> Result<Team, Vec<FieldError>> {
    let mut errors = Vec::new();
    if t.name.is_empty() {
        errors.push(FieldError::new(
            format!("{path}.name"),
            "a team needs a name",
        ));
    }
    let mut members = BTreeMap::new();
    for (i, m) in t.members.iter().enumerate() {
        let at = format!("{path}.members[{i}]");
        if members.contains_key(&m.name) {
            errors.push(FieldError::new(
                format!("{at}.name"),
                format!("member {:?} is not unique in the team", m.name),
            ));
            continue;
        }
        match member(m, &at, env) {
            Ok(member) => {
                members.insert(m.name.clone(), member);
            }
            Err(e) => errors.extend(e),
        }
    }
    let names: BTreeSet<&str> = t.members.iter().map(|m| m.name.as_str()).collect();
    let mut schedules = BTreeMap::new();
    for (i, s) in t.schedules.iter().enumerate() {
        let at = format!("{path}.schedules[{i}]");
        if schedules.contains_key(&s.name) {
            errors.push(FieldError::new(
                format!("{at}.name"),
                format!("schedule {:?} is not unique in the team", s.name),
            ));
            continue;
        }
        match schedule(s, &at, &names) {
            Ok(schedule) => {
                schedules.insert(s.name.clone(), schedule);
            }
            Err(e) => errors.extend(e),
        }
    }
    let escalation = match &t.escalation {
        Some(e) => escalation(
            e,
            &format!("{path}.escalation"),
            &t.name,
            &names,
            &t.schedules,
            &mut errors,
        ),
        None => default_escalation(t),
    };
    if errors.is_empty() {
        Ok(Team {
            name: t.name.clone(),
            members,
            schedules,
            escalation,
        })
    } else {
        Err(errors)
    }
}

/// Without a policy: everyone on call in the team's schedules (or, with none, every
/// member) at once, no escalation.
fn default_escalation(t: &TeamConfig) -> EscalationPolicy {
    let targets = if t.schedules.is_empty() {
        vec![Target::Team]
    } else {
        t.schedules
            .iter()
            .map(|s| Target::Schedule(s.name.clone()))
            .collect()
    };
    EscalationPolicy {
        levels: vec![EscalationLevel {
            targets,
            after: DEFAULT_AFTER.0,
        }],
        repeat: 0,
    }
}

fn member(m: &MemberConfig, path: &str, env: ContactEnv<'_>) -> Result<Member, Vec<FieldError>> {
    let mut errors = Vec::new();
    let time_zone = m
        .time_zone
        .as_deref()
        .and_then(|z| time_zone(z, &format!("{path}.time_zone"), &mut errors));
    let mut contacts = Vec::new();
    for (i, c) in m.contacts.iter().enumerate() {
        let at = format!("{path}.contacts[{i}]");
        let mut entries = c.iter();
        let (Some((kind, value)), None) = (entries.next(), entries.next()) else {
            errors.push(FieldError::new(
                at,
                "a contact is one notifier kind and its settings, e.g. `webhook: {url: ...}`",
            ));
            continue;
        };
        let entry = Entry {
            kind,
            value,
            path: format!("{at}.{kind}"),
            name: format!("{}/{kind}[{i}]", m.name),
            key_suffix: "",
        };
        match notifiers::build_entry(&entry, env.global, env.http, env.templates) {
            Ok(Some(integration)) => contacts.push(integration),
            Ok(None) => errors.push(FieldError::new(
                &*entry.path,
                format!("Taishan does not deliver to {kind}"),
            )),
            Err(e) => errors.extend(e.into_iter().map(|mut e| {
                if e.path.is_empty() {
                    e.path = entry.path.clone();
                }
                e
            })),
        }
    }
    if m.contacts.is_empty() {
        errors.push(FieldError::new(
            format!("{path}.contacts"),
            format!("{} has no contact to be paged at", m.name),
        ));
    }
    if errors.is_empty() {
        Ok(Member {
            name: m.name.clone(),
            time_zone,
            contacts,
        })
    } else {
        Err(errors)
    }
}

fn time_zone(name: &str, path: &str, errors: &mut Vec<FieldError>) -> Option<chrono_tz::Tz> {
    match name.parse() {
        Ok(tz) => Some(tz),
        Err(_) => {
            errors.push(FieldError::new(
                path,
                format!("unknown time zone {name:?} (an IANA name such as Asia/Shanghai)"),
            ));
            None
        }
    }
}

fn schedule(
    s: &ScheduleConfig,
    path: &str,
    members: &BTreeSet<&str>,
) -> Result<Schedule, Vec<FieldError>> {
    let mut errors = Vec::new();
    let tz = match &s.time_zone {
        Some(z) => {
            time_zone(z, &format!("{path}.time_zone"), &mut errors).unwrap_or(chrono_tz::UTC)
        }
        None => chrono_tz::UTC,
    };
    let known = |name: &str, at: String, errors: &mut Vec<FieldError>| {
        if !members.contains(name) {
            errors.push(FieldError::new(
                at,
                format!("{name:?} is not a member of the team"),
            ));
        }
    };
    let mut layers = Vec::new();
    for (i, l) in s.layers.iter().enumerate() {
        let at = format!("{path}.layers[{i}]");
        if l.members.is_empty() {
            errors.push(FieldError::new(
                format!("{at}.members"),
                "a layer needs at least one member",
            ));
        }
        for (j, m) in l.members.iter().enumerate() {
            known(m, format!("{at}.members[{j}]"), &mut errors);
        }
        if l.rotation.0.is_zero() {
            errors.push(FieldError::new(
                format!("{at}.rotation"),
                "the rotation must be longer than 0s",
            ));
        }
        let start = local_time(&l.start, &format!("{at}.start"), &mut errors);
        let mut active = Vec::new();
        for (j, v) in l.active.iter().enumerate() {
            match TimeInterval::parse(v, &format!("{at}.active[{j}]")) {
                // Restrictions are read in the schedule's zone unless they name their own.
                Ok(mut t) => {
                    t.location.get_or_insert(tz);
                    active.push(t);
                }
                Err(e) => errors.extend(e),
            }
        }
        if let Some(start) = start {
            layers.push(Layer {
                name: l.name.clone().unwrap_or_else(|| format!("layer {}", i + 1)),
                start,
                rotation_ms: l.rotation.as_millis_i64(),
                members: l.members.clone(),
                active,
            });
        }
    }
    let mut overrides = Vec::new();
    for (i, o) in s.overrides.iter().enumerate() {
        let at = format!("{path}.overrides[{i}]");
        known(&o.member, format!("{at}.member"), &mut errors);
        let start = instant(&o.start, tz, &format!("{at}.start"), &mut errors);
        let end = instant(&o.end, tz, &format!("{at}.end"), &mut errors);
        if let (Some(start_ms), Some(end_ms)) = (start, end) {
            if end_ms <= start_ms {
                errors.push(FieldError::new(
                    format!("{at}.end"),
                    "the override must end after it starts",
                ));
            }
            overrides.push(Override {
                member: o.member.clone(),
                start_ms,
                end_ms,
            });
        }
    }
    if s.layers.is_empty() && s.overrides.is_empty() {
        errors.push(FieldError::new(
            format!("{path}.layers"),
            "a schedule needs at least one layer",
        ));
    }
    if errors.is_empty() {
        Ok(Schedule {
            name: s.name.clone(),
            tz,
            layers,
            overrides,
        })
    } else {
        Err(errors)
    }
}

const LOCAL_FORMATS: &[&str] = &[
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
];

/// A wall-clock time in the schedule's zone (`2026-11-30 09:00`).
fn local_time(text: &str, path: &str, errors: &mut Vec<FieldError>) -> Option<NaiveDateTime> {
    let parsed = LOCAL_FORMATS
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok());
    if parsed.is_none() {
        errors.push(FieldError::new(
            path,
            format!("{text:?}: expected a local time such as 2026-11-30 09:00"),
        ));
    }
    parsed
}

/// An instant: RFC 3339 with its offset, or a wall-clock time in `tz`.
fn instant(text: &str, tz: chrono_tz::Tz, path: &str, errors: &mut Vec<FieldError>) -> Option<i64> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp_millis());
    }
    let mut local_errors = Vec::new();
    let local = local_time(text, path, &mut local_errors);
    match local.and_then(|l| tz.from_local_datetime(&l).earliest()) {
        Some(t) => Some(t.timestamp_millis()),
        None => {
            errors.push(FieldError::new(
                path,
                format!("{text:?}: expected 2026-12-24 18:00 (in the schedule's zone) or RFC 3339"),
            ));
            None
        }
    }
}

fn escalation(
    e: &EscalationConfig,
    path: &str,
    team: &str,
    members: &BTreeSet<&str>,
    schedules: &[ScheduleConfig],
    errors: &mut Vec<FieldError>,
) -> EscalationPolicy {
    if e.levels.is_empty() {
        errors.push(FieldError::new(
            format!("{path}.levels"),
            "an escalation policy needs at least one level",
        ));
    }
    let mut levels = Vec::new();
    for (i, l) in e.levels.iter().enumerate() {
        let at = format!("{path}.levels[{i}]");
        if l.notify.is_empty() {
            errors.push(FieldError::new(
                format!("{at}.notify"),
                "a level must notify someone",
            ));
        }
        let mut targets = Vec::new();
        for (j, t) in l.notify.iter().enumerate() {
            let place = format!("{at}.notify[{j}]");
            let target = match (&t.schedule, &t.member, &t.team) {
                (Some(s), None, None) => {
                    if !schedules.iter().any(|c| &c.name == s) {
                        errors.push(FieldError::new(
                            place,
                            format!("no schedule {s:?} in team {team:?}"),
                        ));
                    }
                    Target::Schedule(s.clone())
                }
                (None, Some(m), None) => {
                    if !members.contains(m.as_str()) {
                        errors.push(FieldError::new(
                            place,
                            format!("{m:?} is not a member of team {team:?}"),
                        ));
                    }
                    Target::Member(m.clone())
                }
                (None, None, Some(t)) => {
                    if t != team {
                        errors.push(FieldError::new(
                            place,
                            format!("a level notifies its own team ({team:?}), not {t:?}"),
                        ));
                    }
                    Target::Team
                }
                _ => {
                    errors.push(FieldError::new(
                        place,
                        "a target is one of `schedule: NAME`, `member: NAME` or `team: NAME`",
                    ));
                    continue;
                }
            };
            targets.push(target);
        }
        levels.push(EscalationLevel {
            targets,
            after: l.after.unwrap_or(DEFAULT_AFTER).0,
        });
    }
    EscalationPolicy {
        levels,
        repeat: e.repeat,
    }
}
