//! The `route` tree and `inhibit_rules` of `alertmanager.yml`, as written.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use taishan_core::config::FieldError;

use super::PromDuration;
use crate::matcher::{parse_matchers, MatchOp, Matcher, MatcherError};

/// One node of the routing tree, as written; unset options inherit from the parent.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// The receiver (or on-call team) notified; the root must set one.
    #[serde(default)]
    pub receiver: Option<String>,
    /// Labels that split alerts into groups; `...` groups by every label.
    #[serde(default)]
    pub group_by: Option<Vec<String>>,
    /// Deprecated equality matchers.
    #[serde(default, rename = "match")]
    pub match_eq: BTreeMap<String, String>,
    /// Deprecated regex matchers.
    #[serde(default)]
    pub match_re: BTreeMap<String, String>,
    /// Matchers in Alertmanager's syntax, each string one or more of them.
    #[serde(default)]
    pub matchers: Vec<String>,
    /// Time intervals during which this route is muted.
    #[serde(default)]
    pub mute_time_intervals: Vec<String>,
    /// Time intervals outside which this route is muted.
    #[serde(default)]
    pub active_time_intervals: Vec<String>,
    /// Whether an alert matching this route goes on to its siblings.
    #[serde(default, rename = "continue")]
    pub continue_matching: bool,
    /// Child routes, tried in order.
    #[serde(default)]
    pub routes: Vec<RouteConfig>,
    /// How long a new group waits for more alerts before its first notification.
    #[serde(default)]
    pub group_wait: Option<PromDuration>,
    /// How long a group waits before notifying of new alerts in it.
    #[serde(default)]
    pub group_interval: Option<PromDuration>,
    /// How long before a notification that changed nothing is sent again.
    #[serde(default)]
    pub repeat_interval: Option<PromDuration>,
}

impl RouteConfig {
    /// The route's matchers in every syntax, each error placed at `path`.
    pub fn all_matchers(&self, path: &str, errors: &mut Vec<FieldError>) -> Vec<Matcher> {
        legacy_and_new(
            &self.match_eq,
            &self.match_re,
            &self.matchers,
            [
                format!("{path}.match"),
                format!("{path}.match_re"),
                format!("{path}.matchers"),
            ],
            errors,
        )
    }
}

/// A rule that mutes target alerts while a source alert fires.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InhibitRuleConfig {
    /// Deprecated equality matchers for the source.
    #[serde(default)]
    pub source_match: BTreeMap<String, String>,
    /// Deprecated regex matchers for the source.
    #[serde(default)]
    pub source_match_re: BTreeMap<String, String>,
    /// The source alerts' matchers.
    #[serde(default)]
    pub source_matchers: Vec<String>,
    /// Deprecated equality matchers for the target.
    #[serde(default)]
    pub target_match: BTreeMap<String, String>,
    /// Deprecated regex matchers for the target.
    #[serde(default)]
    pub target_match_re: BTreeMap<String, String>,
    /// The muted alerts' matchers.
    #[serde(default)]
    pub target_matchers: Vec<String>,
    /// Labels the source and target must share for the rule to apply.
    #[serde(default)]
    pub equal: Vec<String>,
}

impl InhibitRuleConfig {
    /// The source and target matchers, errors placed under `path`.
    pub fn matchers(
        &self,
        path: &str,
        errors: &mut Vec<FieldError>,
    ) -> (Vec<Matcher>, Vec<Matcher>) {
        let side = |prefix: &str, eq, re, new, errors: &mut Vec<FieldError>| {
            legacy_and_new(
                eq,
                re,
                new,
                [
                    format!("{path}.{prefix}_match"),
                    format!("{path}.{prefix}_match_re"),
                    format!("{path}.{prefix}_matchers"),
                ],
                errors,
            )
        };
        let source = side(
            "source",
            &self.source_match,
            &self.source_match_re,
            &self.source_matchers,
            errors,
        );
        let target = side(
            "target",
            &self.target_match,
            &self.target_match_re,
            &self.target_matchers,
            errors,
        );
        (source, target)
    }
}

fn legacy_and_new(
    eq: &BTreeMap<String, String>,
    re: &BTreeMap<String, String>,
    new: &[String],
    paths: [String; 3],
    errors: &mut Vec<FieldError>,
) -> Vec<Matcher> {
    let mut out = Vec::new();
    let mut push = |path: String, m: Result<Matcher, MatcherError>| match m {
        Ok(m) => out.push(m),
        Err(e) => errors.push(FieldError::new(path, e.to_string())),
    };
    for (name, value) in eq {
        push(
            format!("{}.{name}", paths[0]),
            legacy(name, MatchOp::Equal, value),
        );
    }
    for (name, value) in re {
        push(
            format!("{}.{name}", paths[1]),
            legacy(name, MatchOp::Regex, value),
        );
    }
    for (i, text) in new.iter().enumerate() {
        match parse_matchers(text) {
            Ok(ms) => out.extend(ms),
            Err(e) => errors.push(FieldError::new(format!("{}[{i}]", paths[2]), e.to_string())),
        }
    }
    out
}

fn legacy(name: &str, op: MatchOp, value: &str) -> Result<Matcher, MatcherError> {
    if !taishan_core::labels::is_valid_label_name(name) {
        return Err(MatcherError::Format(format!(
            "{name:?} is not a valid label name"
        )));
    }
    Ok(Matcher::new(name, op, value)?)
}
