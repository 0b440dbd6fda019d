//! `alertmanager.yml`, unchanged: read whole, checked, every problem reported with
//! file:line. [`load_str`] returns the file as written ([`AlertmanagerConfig`]); the
//! [`crate::Alerter`] compiles it into routes and notifiers.

mod global;
mod masked;
mod receiver;
mod route;

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use taishan_core::config::{read_section, ConfigDiagnostic, FieldError};

pub use global::GlobalConfig;
pub use masked::masked;
pub use receiver::{IntegrationConfig, ReceiverConfig};
pub use route::{InhibitRuleConfig, RouteConfig};

use crate::time_intervals::TimeInterval;

/// A duration in Prometheus's notation (`30s`, `5m`, `1h30m`, `1d`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct PromDuration(pub Duration);

impl PromDuration {
    /// `secs` seconds.
    pub const fn from_secs(secs: u64) -> Self {
        PromDuration(Duration::from_secs(secs))
    }

    /// In milliseconds.
    pub fn as_millis_i64(self) -> i64 {
        i64::try_from(self.0.as_millis()).unwrap_or(i64::MAX)
    }
}

impl<'de> Deserialize<'de> for PromDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        taishan_core::duration::parse(&text)
            .map(PromDuration)
            .map_err(serde::de::Error::custom)
    }
}

impl Serialize for PromDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&taishan_core::duration::format(self.0))
    }
}

/// A named set of time intervals (`time_intervals` and the older `mute_time_intervals`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeIntervalConfig {
    /// The name routes refer to.
    pub name: String,
    /// The intervals, as written.
    #[serde(default)]
    pub time_intervals: Vec<serde_yaml_ng::Value>,
    /// Where it is in the file (`time_intervals[2]`), for errors.
    #[serde(skip)]
    pub path: String,
}

/// The whole file as written.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AlertmanagerConfig {
    /// `global`.
    pub global: GlobalConfig,
    /// `route`: the root of the routing tree.
    pub route: RouteConfig,
    /// `inhibit_rules`.
    pub inhibit_rules: Vec<InhibitRuleConfig>,
    /// `receivers`.
    pub receivers: Vec<ReceiverConfig>,
    /// `templates`: globs of template files, relative to the config file.
    pub templates: Vec<String>,
    /// `time_intervals` and `mute_time_intervals`, together.
    pub time_intervals: Vec<TimeIntervalConfig>,
}

const SECTIONS: &[&str] = &[
    "global",
    "route",
    "inhibit_rules",
    "receivers",
    "templates",
    "time_intervals",
    "mute_time_intervals",
];

/// Why a config was refused: every problem, placed.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigDiagnostic>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

/// Parses and checks config text; `teams` are names routes may use as receivers besides
/// the file's own (the on-call teams); `more` adds the checks of parts built from it (the
/// notifiers' own settings), whose errors are placed in the file too.
pub fn load_str(
    file: &str,
    text: &str,
    teams: &std::collections::BTreeSet<String>,
    more: &mut dyn FnMut(&AlertmanagerConfig) -> Vec<FieldError>,
) -> Result<AlertmanagerConfig, ConfigErrors> {
    parse_placed(file, text, |root| {
        let mut errors = Vec::new();
        let config = sections(root, &mut errors);
        if errors.is_empty() {
            errors.extend(validate(&config, teams));
        }
        if errors.is_empty() {
            errors.extend(more(&config));
        }
        if errors.is_empty() {
            Ok(config)
        } else {
            Err(errors)
        }
    })
}

/// Reads YAML text and gives its root to `check`; a syntax error, or each error `check`
/// returns at a field path, becomes a diagnostic with the file, line and column.
pub fn parse_placed<T>(
    file: &str,
    text: &str,
    check: impl FnOnce(serde_yaml_ng::Value) -> Result<T, Vec<FieldError>>,
) -> Result<T, ConfigErrors> {
    taishan_core::config::parse_placed(file, text, check).map_err(ConfigErrors)
}

/// A config file's name (as errors show it) and text; a file that cannot be read is one
/// diagnostic saying why.
pub fn read_file(path: &std::path::Path) -> Result<(String, String), ConfigErrors> {
    let file = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => Ok((file, text)),
        Err(e) => Err(ConfigErrors(vec![ConfigDiagnostic {
            file,
            position: None,
            path: String::new(),
            message: format!("cannot read the file: {e}"),
        }])),
    }
}

fn sections(root: serde_yaml_ng::Value, errors: &mut Vec<FieldError>) -> AlertmanagerConfig {
    let mut config = AlertmanagerConfig::default();
    let mapping = match root {
        serde_yaml_ng::Value::Mapping(m) => m,
        serde_yaml_ng::Value::Null => {
            errors.push(FieldError::new("route", "no route provided in config"));
            return config;
        }
        _ => {
            errors.push(FieldError::new(
                "",
                "the config must be a mapping of sections",
            ));
            return config;
        }
    };
    let mut has_route = false;
    for (key, value) in mapping {
        let name = key.as_str().unwrap_or_default().to_string();
        match name.as_str() {
            "global" => read_section(&name, value, errors, &mut config.global),
            "route" => {
                has_route = true;
                read_section(&name, value, errors, &mut config.route)
            }
            "inhibit_rules" => read_section(&name, value, errors, &mut config.inhibit_rules),
            "receivers" => read_section(&name, value, errors, &mut config.receivers),
            "templates" => read_section(&name, value, errors, &mut config.templates),
            "time_intervals" | "mute_time_intervals" => {
                let mut list: Vec<TimeIntervalConfig> = Vec::new();
                read_section(&name, value, errors, &mut list);
                for (i, t) in list.iter_mut().enumerate() {
                    t.path = format!("{name}[{i}]");
                }
                config.time_intervals.extend(list);
            }
            other => errors.push(FieldError::new(
                other,
                format!(
                    "unknown section `{other}`; known sections: {}",
                    SECTIONS.join(", ")
                ),
            )),
        }
    }
    if !has_route {
        errors.push(FieldError::new("route", "no route provided in config"));
    }
    config
}

fn validate(
    config: &AlertmanagerConfig,
    teams: &std::collections::BTreeSet<String>,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut receivers: std::collections::BTreeSet<&str> =
        teams.iter().map(String::as_str).collect();
    for (i, r) in config.receivers.iter().enumerate() {
        if r.name.is_empty() {
            errors.push(FieldError::new(
                format!("receivers[{i}].name"),
                "missing name in receiver",
            ));
        } else if teams.contains(&r.name) {
            errors.push(FieldError::new(
                format!("receivers[{i}].name"),
                format!(
                    "{:?} is also an on-call team; a route names one or the other",
                    r.name
                ),
            ));
        } else if !receivers.insert(r.name.as_str()) {
            errors.push(FieldError::new(
                format!("receivers[{i}].name"),
                format!("notification config name {:?} is not unique", r.name),
            ));
        }
    }
    let mut intervals = std::collections::BTreeSet::new();
    for t in &config.time_intervals {
        if !intervals.insert(t.name.as_str()) {
            errors.push(FieldError::new(
                format!("{}.name", t.path),
                format!("time interval {:?} is not unique", t.name),
            ));
        }
        for (j, value) in t.time_intervals.iter().enumerate() {
            if let Err(e) = TimeInterval::parse(value, &format!("{}.time_intervals[{j}]", t.path)) {
                errors.extend(e);
            }
        }
    }
    let root = &config.route;
    if root.receiver.as_deref().unwrap_or_default().is_empty() {
        errors.push(FieldError::new(
            "route",
            "root route must specify a default receiver",
        ));
    }
    if !root.match_eq.is_empty() || !root.match_re.is_empty() || !root.matchers.is_empty() {
        errors.push(FieldError::new(
            "route",
            "root route must not have any matchers",
        ));
    }
    if !root.mute_time_intervals.is_empty() || !root.active_time_intervals.is_empty() {
        errors.push(FieldError::new(
            "route",
            "root route must not have any mute or active time intervals",
        ));
    }
    if root.continue_matching {
        errors.push(FieldError::new(
            "route.continue",
            "cannot have continue in root route",
        ));
    }
    let names = Names {
        receivers: &receivers,
        intervals: &intervals,
    };
    check_route(root, "route", &names, &mut errors);
    for (i, rule) in config.inhibit_rules.iter().enumerate() {
        let path = format!("inhibit_rules[{i}]");
        rule.matchers(&path, &mut errors);
        for (j, l) in rule.equal.iter().enumerate() {
            if !taishan_core::labels::is_valid_label_name(l) {
                errors.push(FieldError::new(
                    format!("{path}.equal[{j}]"),
                    format!("{l:?} is not a valid label name"),
                ));
            }
        }
    }
    errors
}

struct Names<'a> {
    receivers: &'a std::collections::BTreeSet<&'a str>,
    intervals: &'a std::collections::BTreeSet<&'a str>,
}

fn check_route(route: &RouteConfig, path: &str, names: &Names<'_>, errors: &mut Vec<FieldError>) {
    route.all_matchers(path, errors);
    if let Some(r) = &route.receiver {
        if !names.receivers.contains(r.as_str()) {
            errors.push(FieldError::new(
                format!("{path}.receiver"),
                format!("undefined receiver {r:?} used in route"),
            ));
        }
    }
    if let Some(group_by) = &route.group_by {
        let mut seen = std::collections::BTreeSet::new();
        for (i, l) in group_by.iter().enumerate() {
            let at = format!("{path}.group_by[{i}]");
            if l == "..." {
                if group_by.len() > 1 {
                    errors.push(FieldError::new(
                        at,
                        "cannot have wildcard group_by (`...`) and other labels at the same time",
                    ));
                }
            } else if !taishan_core::labels::is_valid_label_name(l) {
                errors.push(FieldError::new(
                    at,
                    format!("invalid label name {l:?} in group_by list"),
                ));
            } else if !seen.insert(l) {
                errors.push(FieldError::new(
                    at,
                    format!("duplicated label {l:?} in group_by"),
                ));
            }
        }
    }
    for (field, value) in [
        ("group_interval", route.group_interval),
        ("repeat_interval", route.repeat_interval),
    ] {
        if value.is_some_and(|d| d.0.is_zero()) {
            errors.push(FieldError::new(
                format!("{path}.{field}"),
                format!("{field} cannot be zero"),
            ));
        }
    }
    for (field, list) in [
        ("mute_time_intervals", &route.mute_time_intervals),
        ("active_time_intervals", &route.active_time_intervals),
    ] {
        for (i, name) in list.iter().enumerate() {
            if !names.intervals.contains(name.as_str()) {
                errors.push(FieldError::new(
                    format!("{path}.{field}[{i}]"),
                    format!("undefined time interval {name:?} used in route"),
                ));
            }
        }
    }
    for (i, child) in route.routes.iter().enumerate() {
        check_route(child, &format!("{path}.routes[{i}]"), names, errors);
    }
}

#[cfg(test)]
mod tests;
