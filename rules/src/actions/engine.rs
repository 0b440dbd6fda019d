//! Turning alerts into guard decisions, with hysteresis: an action acts once its alert has
//! fired `after` evaluations in a row, lets go once it has not fired for `release_after`
//! evaluations in a row (or after `max_duration`, whichever comes first), and a guard driven
//! by several alerts is released only when none of them holds it any more.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use parking_lot::Mutex;
use taishan_core::{
    DecisionSink, DecisionSource, GuardCommand, GuardDecision, GuardTarget, Labels,
};

use super::file::ActionSpec;
use crate::alert::{Alert, AlertState};
use crate::group::{Group, GroupRun, Rule};
use crate::labelset::to_map;
use crate::manager::EvaluationListener;
use taishan_template::{AlertData, Expansion};

/// One action's memory of one alert.
#[derive(Debug, Clone, Default)]
struct Streak {
    firing: u32,
    healthy: u32,
    /// The guard it holds, and since when (ms).
    holding: Option<(GuardTarget, i64)>,
    /// It let go at `max_duration` while the alert still fired: it waits for the alert to
    /// clear before acting again.
    spent: bool,
}

#[derive(Debug, Default)]
struct State {
    streaks: HashMap<(usize, Labels), Streak>,
    /// Who holds each guard.
    holders: HashMap<GuardTarget, HashSet<(usize, Labels)>>,
}

/// Why a decision is made: the alert, its value, in words, and when.
struct Cause<'a> {
    labels: &'a Labels,
    value: f64,
    reason: String,
    at_ms: i64,
}

/// Evaluates actions after every group evaluation and sends their decisions to a sink.
pub struct ActionEngine {
    actions: Vec<ActionSpec>,
    sink: Arc<dyn DecisionSink>,
    state: Mutex<State>,
}

impl std::fmt::Debug for ActionEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActionEngine")
            .field("actions", &self.actions.len())
            .finish()
    }
}

fn describe(labels: &Labels) -> String {
    let parts: Vec<String> = labels
        .iter()
        .filter(|l| l.name != crate::alert::ALERT_NAME)
        .map(|l| format!("{}={}", l.name, l.value))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(", "))
    }
}

impl ActionEngine {
    /// Actions deciding into `sink`.
    pub fn new(actions: Vec<ActionSpec>, sink: Arc<dyn DecisionSink>) -> Self {
        Self {
            actions,
            sink,
            state: Mutex::new(State::default()),
        }
    }

    /// Takes over rule decisions still in force from before a restart or reload, so they
    /// are released when their alert stays quiet, as if this engine had made them. Returns
    /// the decisions no action of this engine could have made (their action was removed):
    /// nobody would ever release those, so the caller does.
    pub fn adopt(&self, in_force: &[GuardDecision]) -> Vec<GuardDecision> {
        let mut st = self.state.lock();
        let mut orphans = Vec::new();
        for d in in_force {
            let DecisionSource::Rule { alert, labels, .. } = &d.source else {
                continue;
            };
            let Some(i) = self.actions.iter().position(|a| {
                a.alert == *alert && a.service == d.target.service && a.command == d.command
            }) else {
                orphans.push(d.clone());
                continue;
            };
            let labels = Labels::from_sorted_unchecked(
                labels
                    .iter()
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            );
            let key = (i, labels);
            st.streaks.insert(
                key.clone(),
                Streak {
                    holding: Some((d.target.clone(), d.at_ms)),
                    ..Streak::default()
                },
            );
            st.holders.entry(d.target.clone()).or_default().insert(key);
        }
        orphans
    }

    fn applies(&self, a: &ActionSpec, group: &Group, alert: &Alert) -> bool {
        a.group.as_ref().is_none_or(|g| *g == group.name)
            && a.matchers
                .iter()
                .all(|(k, v)| alert.labels.get(k) == Some(v.as_str()))
    }

    fn target(&self, a: &ActionSpec, alert: &Alert) -> Option<GuardTarget> {
        let data = AlertData {
            labels: to_map(&alert.labels),
            value: alert.value,
            ..AlertData::default()
        };
        let ctx = Expansion {
            query: None,
            external_url: "",
            time_ms: 0,
        };
        match a.target.expand(&data, &ctx) {
            Ok(guard) if !guard.trim().is_empty() => Some(GuardTarget {
                service: a.service.clone(),
                guard: guard.trim().to_string(),
            }),
            Ok(_) => {
                tracing::warn!(alert = %a.alert, target = %a.target_text, labels = %alert.labels, "action target expanded to nothing; not acting");
                None
            }
            Err(e) => {
                tracing::warn!(alert = %a.alert, target = %a.target_text, error = %e, "action target could not be expanded; not acting");
                None
            }
        }
    }

    /// Sends a decision; whether the sink took it (a refused one is tried again at the
    /// next evaluation).
    fn decide(
        &self,
        group: &Group,
        target: GuardTarget,
        command: GuardCommand,
        cause: Cause<'_>,
    ) -> bool {
        let labels: BTreeMap<String, String> = to_map(cause.labels);
        let decision = GuardDecision {
            target,
            command,
            source: DecisionSource::Rule {
                tenant: group.tenant.as_str().to_string(),
                group: group.name.clone(),
                alert: cause
                    .labels
                    .get(crate::alert::ALERT_NAME)
                    .unwrap_or_default()
                    .to_string(),
                labels,
                value: cause.value,
            },
            reason: cause.reason,
            at_ms: cause.at_ms,
        };
        let (guard, command) = (decision.target.clone(), decision.command.clone());
        match self.sink.decide(decision) {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(guard = %guard, command = %command, error = %e, "guard decision refused; trying again at the next evaluation");
                false
            }
        }
    }

    /// Releases what `key` holds if it is the last holder of its guard; false when the
    /// release was refused (then `key` still holds it, to try again).
    fn let_go(
        &self,
        st: &mut State,
        key: &(usize, Labels),
        group: &Group,
        reason: String,
        value: f64,
        at_ms: i64,
    ) -> bool {
        let Some(streak) = st.streaks.get_mut(key) else {
            return true;
        };
        let Some((target, since)) = streak.holding.take() else {
            return true;
        };
        let holders = st.holders.entry(target.clone()).or_default();
        holders.remove(key);
        if !holders.is_empty() {
            return true;
        }
        st.holders.remove(&target);
        let a = &self.actions[key.0];
        let cause = Cause {
            labels: &key.1,
            value,
            reason,
            at_ms,
        };
        let command = GuardCommand::Release { probe: a.probe };
        if self.decide(group, target.clone(), command, cause) {
            return true;
        }
        st.holders
            .entry(target.clone())
            .or_default()
            .insert(key.clone());
        if let Some(streak) = st.streaks.get_mut(key) {
            streak.holding = Some((target, since));
        }
        false
    }

    /// Runs every action bound to `group`'s alerting rules after its evaluation at `at_ms`.
    pub fn on_group(&self, group: &Group, at_ms: i64) {
        let mut st = self.state.lock();
        for (i, a) in self.actions.iter().enumerate() {
            if a.group.as_ref().is_some_and(|g| *g != group.name) {
                continue;
            }
            let mut firing: Vec<&Alert> = Vec::new();
            let mut bound = false;
            for (_, rule, _) in group.rules() {
                let Rule::Alerting(r) = rule else { continue };
                if r.name() != a.alert {
                    continue;
                }
                bound = true;
                firing.extend(r.alerts().filter(|al| {
                    al.state == AlertState::Firing
                        && al.resolved_at_ms == 0
                        && self.applies(a, group, al)
                }));
            }
            if !bound {
                continue;
            }
            let mut now_firing: HashSet<Labels> = HashSet::new();
            for alert in firing {
                now_firing.insert(alert.labels.clone());
                let key = (i, alert.labels.clone());
                let streak = st.streaks.entry(key.clone()).or_default();
                streak.firing += 1;
                streak.healthy = 0;
                if let Some((_, since)) = &streak.holding {
                    if a.max_duration
                        .is_some_and(|m| at_ms - since >= m.as_millis() as i64)
                    {
                        streak.spent = true;
                        let reason = format!(
                            "{}{} still firing after the action's max_duration of {}; released",
                            a.alert,
                            describe(&alert.labels),
                            taishan_core::duration::format(a.max_duration.unwrap_or_default())
                        );
                        self.let_go(&mut st, &key, group, reason, alert.value, at_ms);
                    }
                    continue;
                }
                if streak.spent || streak.firing < a.after {
                    continue;
                }
                let Some(target) = self.target(a, alert) else {
                    continue;
                };
                streak.holding = Some((target.clone(), at_ms));
                let holders = st.holders.entry(target.clone()).or_default();
                let first = holders.is_empty();
                holders.insert(key.clone());
                if first {
                    let summary = alert
                        .annotations
                        .get("summary")
                        .map(|s| format!(": {s}"))
                        .unwrap_or_default();
                    let reason = format!(
                        "{}{} firing for {} evaluation(s), value {}{summary}",
                        a.alert,
                        describe(&alert.labels),
                        a.after,
                        taishan_template::go_fmt::format_g(alert.value, None)
                    );
                    let cause = Cause {
                        labels: &alert.labels,
                        value: alert.value,
                        reason,
                        at_ms,
                    };
                    if !self.decide(group, target.clone(), a.command.clone(), cause) {
                        // Not taken: not held, so the next evaluation tries again.
                        st.holders.remove(&target);
                        if let Some(streak) = st.streaks.get_mut(&key) {
                            streak.holding = None;
                        }
                    }
                }
            }
            let quiet: Vec<(usize, Labels)> = st
                .streaks
                .keys()
                .filter(|(j, l)| *j == i && !now_firing.contains(l))
                .cloned()
                .collect();
            for key in quiet {
                let Some(streak) = st.streaks.get_mut(&key) else {
                    continue;
                };
                streak.firing = 0;
                streak.healthy += 1;
                if streak.healthy < a.release_after {
                    continue;
                }
                let reason = format!(
                    "{}{} not firing for {} evaluation(s)",
                    a.alert,
                    describe(&key.1),
                    a.release_after
                );
                if self.let_go(&mut st, &key, group, reason, 0.0, at_ms) {
                    st.streaks.remove(&key);
                }
            }
        }
    }
}

impl EvaluationListener for ActionEngine {
    fn on_evaluated(&self, group: &Group, run: &GroupRun) {
        self.on_group(group, run.at_ms);
    }
}
