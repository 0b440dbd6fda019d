//! Action files: Taishan's extension to rule files, kept in files of their own so the rule
//! files stay exactly Prometheus's (and keep passing `promtool check rules`).
//!
//! ```yaml
//! actions:
//!   - alert: BankChannelFailing        # the alerting rule whose firing alerts drive it
//!     group: payments                  # optional: only that group's rule of this name
//!     match: {severity: page}          # optional: only alerts with these labels
//!     do: open_breaker                 # open_breaker | half_open_breaker | close_breaker
//!                                      # | degrade | set_rate_limit (with rate, burst)
//!     service: payment
//!     target: "{{ $labels.channel }}"  # the guard, a template over the alert's labels
//!     after: 1                         # act once the alert has fired this many evaluations
//!     release_after: 3                 # release after this many evaluations not firing
//!     max_duration: 15m                # release at the latest after this long
//!     probe: true                      # breakers: release through half-open probes
//! ```

use std::time::Duration;

use serde::Deserialize;
use serde_yaml_ng::Value;
use taishan_core::config::{FieldPositions, Position};
use taishan_core::GuardCommand;

use crate::file::{RuleFile, RuleFileError, RuleKind};
use taishan_template::Template;

/// A loaded action file.
#[derive(Debug, Clone)]
pub struct ActionFile {
    /// The file as named.
    pub path: String,
    /// Its actions, in file order.
    pub actions: Vec<ActionSpec>,
}

/// One action: what to do to which guard when an alert fires, and when to let go.
#[derive(Debug, Clone)]
pub struct ActionSpec {
    /// The alert whose firing alerts drive it.
    pub alert: String,
    /// Only the rule of this group, when given.
    pub group: Option<String>,
    /// Only alerts carrying these labels.
    pub matchers: Vec<(String, String)>,
    /// The command while it acts.
    pub command: GuardCommand,
    /// The service whose guard it drives.
    pub service: String,
    /// The guard's name, expanded per alert.
    pub target: Template,
    /// The target as written.
    pub target_text: String,
    /// Firing evaluations in a row before it acts.
    pub after: u32,
    /// Evaluations in a row without the alert firing before it releases.
    pub release_after: u32,
    /// Longest it acts on one alert.
    pub max_duration: Option<Duration>,
    /// Release breakers through half-open probes.
    pub probe: bool,
    /// Where it is in its file.
    pub position: Option<Position>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    actions: Vec<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAction {
    alert: String,
    #[serde(default)]
    group: Option<String>,
    #[serde(default, rename = "match")]
    matchers: std::collections::BTreeMap<String, String>,
    #[serde(rename = "do")]
    command: String,
    service: String,
    target: String,
    #[serde(default)]
    rate: Option<f64>,
    #[serde(default)]
    burst: Option<u32>,
    #[serde(default = "one")]
    after: u32,
    #[serde(default = "one")]
    release_after: u32,
    #[serde(default)]
    max_duration: Option<String>,
    #[serde(default = "yes")]
    probe: bool,
}

fn one() -> u32 {
    1
}

fn yes() -> bool {
    true
}

/// The commands an action may give.
const COMMANDS: &str =
    "open_breaker, half_open_breaker, close_breaker, degrade, set_rate_limit (with rate)";

impl ActionFile {
    /// Whether `text` is an action file (its top level has `actions`) rather than rules.
    pub fn looks_like(text: &str) -> bool {
        serde_yaml_ng::from_str::<Value>(text)
            .ok()
            .and_then(|v| v.as_mapping().map(|m| m.contains_key("actions")))
            .unwrap_or(false)
    }

    /// Parses and checks an action file; every problem is reported with file:line.
    pub fn parse(file: &str, text: &str) -> Result<Self, Vec<RuleFileError>> {
        let positions = FieldPositions::index(text).map_err(|e| {
            vec![RuleFileError {
                file: file.to_string(),
                position: Some(e.position),
                context: String::new(),
                message: format!("not valid YAML: {}", e.message),
            }]
        })?;
        let mut errors = Vec::new();
        let mut push = |path: &str, context: String, message: String| {
            errors.push(RuleFileError {
                file: file.to_string(),
                position: positions.find(path),
                context,
                message,
            })
        };
        let raw: RawFile = match serde_yaml_ng::from_str(text) {
            Ok(r) => r,
            Err(e) => {
                push("", String::new(), e.to_string());
                return Err(errors);
            }
        };
        let mut actions = Vec::new();
        for (i, value) in raw.actions.into_iter().enumerate() {
            let path = format!("actions[{i}]");
            let context = format!("action {}", i + 1);
            let a: RawAction = match serde_path_to_error::deserialize(value) {
                Ok(a) => a,
                Err(e) => {
                    let inner = e.path().to_string();
                    let at = if inner == "." {
                        path.clone()
                    } else {
                        format!("{path}.{inner}")
                    };
                    push(&at, context, e.into_inner().to_string());
                    continue;
                }
            };
            let context = format!("action {} ({})", i + 1, a.alert);
            let command = match (a.command.as_str(), a.rate) {
                ("open_breaker", _) => Some(GuardCommand::OpenBreaker),
                ("half_open_breaker", _) => Some(GuardCommand::HalfOpenBreaker),
                ("close_breaker", _) => Some(GuardCommand::CloseBreaker),
                ("degrade", _) => Some(GuardCommand::Degrade),
                ("set_rate_limit", Some(rate)) if rate.is_finite() && rate > 0.0 => {
                    Some(GuardCommand::SetRateLimit {
                        rate,
                        burst: a.burst,
                    })
                }
                ("set_rate_limit", _) => {
                    let at = if a.rate.is_some() { "rate" } else { "do" };
                    push(
                        &format!("{path}.{at}"),
                        context.clone(),
                        "set_rate_limit needs a rate above 0 (calls per second)".into(),
                    );
                    None
                }
                (other, _) => {
                    push(
                        &format!("{path}.do"),
                        context.clone(),
                        format!("unknown command {other:?}; allowed: {COMMANDS}"),
                    );
                    None
                }
            };
            if a.rate.is_some() && a.command != "set_rate_limit" {
                push(
                    &format!("{path}.rate"),
                    context.clone(),
                    "rate only applies to set_rate_limit".into(),
                );
            }
            if a.alert.is_empty() {
                push(
                    &format!("{path}.alert"),
                    context.clone(),
                    "alert must name an alerting rule".into(),
                );
            }
            if a.service.is_empty() {
                push(
                    &format!("{path}.service"),
                    context.clone(),
                    "service must name the service whose guard is driven".into(),
                );
            }
            if a.after == 0 {
                push(
                    &format!("{path}.after"),
                    context.clone(),
                    "after must be at least 1 evaluation".into(),
                );
            }
            if a.release_after == 0 {
                push(
                    &format!("{path}.release_after"),
                    context.clone(),
                    "release_after must be at least 1 evaluation".into(),
                );
            }
            let max_duration = match a.max_duration.as_deref() {
                None | Some("") => None,
                Some(d) => match taishan_core::duration::parse(d) {
                    Ok(d) if !d.is_zero() => Some(d),
                    Ok(_) => {
                        push(
                            &format!("{path}.max_duration"),
                            context.clone(),
                            "max_duration must be above 0".into(),
                        );
                        None
                    }
                    Err(e) => {
                        push(
                            &format!("{path}.max_duration"),
                            context.clone(),
                            e.to_string(),
                        );
                        None
                    }
                },
            };
            let target = match Template::parse(&a.target) {
                Ok(t) if !a.target.trim().is_empty() => Some(t),
                Ok(_) => {
                    push(
                        &format!("{path}.target"),
                        context.clone(),
                        "target must name the guard (a template over the alert's labels)".into(),
                    );
                    None
                }
                Err(e) => {
                    push(
                        &format!("{path}.target"),
                        context.clone(),
                        format!("template: {e}"),
                    );
                    None
                }
            };
            if let (Some(command), Some(target)) = (command, target) {
                actions.push(ActionSpec {
                    alert: a.alert,
                    group: a.group,
                    matchers: a.matchers.into_iter().collect(),
                    command,
                    service: a.service,
                    target,
                    target_text: a.target,
                    after: a.after.max(1),
                    release_after: a.release_after.max(1),
                    max_duration,
                    probe: a.probe,
                    position: positions.find(&path),
                });
            }
        }
        errors.sort_by_key(|e| e.position.map(|p| (p.line, p.column)));
        if errors.is_empty() {
            Ok(Self {
                path: file.to_string(),
                actions,
            })
        } else {
            Err(errors)
        }
    }

    /// Checks that every action names an alerting rule of `rules`; the errors otherwise.
    pub fn check_against(&self, rules: &[RuleFile]) -> Vec<RuleFileError> {
        let mut errors = Vec::new();
        for (i, a) in self.actions.iter().enumerate() {
            let found = rules.iter().flat_map(|f| &f.groups).any(|g| {
                a.group.as_ref().is_none_or(|want| *want == g.name)
                    && g.rules.iter().any(|r| {
                        matches!(&r.kind, RuleKind::Alerting { alert, .. } if *alert == a.alert)
                    })
            });
            if !found {
                let alerts: Vec<&str> = rules
                    .iter()
                    .flat_map(|f| &f.groups)
                    .flat_map(|g| &g.rules)
                    .filter_map(|r| match &r.kind {
                        RuleKind::Alerting { alert, .. } => Some(alert.as_str()),
                        RuleKind::Recording { .. } => None,
                    })
                    .collect();
                errors.push(RuleFileError {
                    file: self.path.clone(),
                    position: a.position,
                    context: format!("action {} ({})", i + 1, a.alert),
                    message: format!(
                        "no alerting rule {:?}{} among the rule files loaded (alerts: {})",
                        a.alert,
                        a.group
                            .as_ref()
                            .map(|g| format!(" in group {g:?}"))
                            .unwrap_or_default(),
                        if alerts.is_empty() {
                            "none".to_string()
                        } else {
                            alerts.join(", ")
                        }
                    ),
                });
            }
        }
        errors
    }
}
