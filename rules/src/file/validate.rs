//! From the YAML shape to checked groups and rules: the checks of Prometheus's rule file
//! loader (and `promtool check rules`), each problem kept with the field it is about.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use promql_parser::parser::value::ValueType;
use serde_yaml_ng::Value;
use taishan_core::labels::{is_valid_label_name, is_valid_metric_name};
use taishan_core::{TenantId, METRIC_NAME};
use taishan_query::Engine;

use super::raw::{read, RawFile, RawGroup, RawRule, Scalar};
use super::{GroupSpec, LabelTemplate, Problem, RuleKind, RuleSpec};
use taishan_core::duration;
use taishan_template::Template;

struct Sink<'a> {
    problems: &'a mut Vec<Problem>,
}

impl Sink<'_> {
    fn push(&mut self, path: String, context: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            path,
            context: context.to_string(),
            message: message.into(),
        });
    }
}

/// Reads every group of `text`, recording every problem found.
pub(super) fn groups(text: &str, problems: &mut Vec<Problem>) -> Vec<GroupSpec> {
    let root: Value = if text.trim().is_empty() {
        Value::Null
    } else {
        match serde_yaml_ng::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                problems.push(Problem {
                    path: String::new(),
                    context: String::new(),
                    message: format!("not valid YAML: {e}"),
                });
                return Vec::new();
            }
        }
    };
    if root.is_null() {
        return Vec::new();
    }
    let Some(file) = read::<RawFile>(root, "", "", problems) else {
        return Vec::new();
    };
    let mut sink = Sink { problems };
    let mut names = HashSet::new();
    let mut out = Vec::new();
    for (gi, value) in file.groups.into_iter().enumerate() {
        let path = format!("groups[{gi}]");
        let Some(raw) = read::<RawGroup>(value, &path, "", sink.problems) else {
            continue;
        };
        if let Some(g) = group(gi, raw, &mut names, &mut sink) {
            out.push(g);
        }
    }
    out
}

fn duration(
    value: &Option<Scalar>,
    path: String,
    context: &str,
    sink: &mut Sink<'_>,
) -> Option<Duration> {
    let text = &value.as_ref()?.0;
    if text.is_empty() {
        return None;
    }
    match duration::parse(text) {
        Ok(d) => Some(d),
        Err(e) => {
            sink.push(path, context, e.to_string());
            None
        }
    }
}

fn group(
    gi: usize,
    raw: RawGroup,
    names: &mut HashSet<String>,
    sink: &mut Sink<'_>,
) -> Option<GroupSpec> {
    let path = format!("groups[{gi}]");
    let name = raw.name.0;
    let context = format!("group {name:?}");
    if name.is_empty() {
        sink.push(format!("{path}.name"), "", "group name must not be empty");
    } else if !names.insert(name.clone()) {
        sink.push(
            format!("{path}.name"),
            "",
            format!("group name {name:?} is repeated in the same file; names must be unique"),
        );
    }
    let interval = duration(&raw.interval, format!("{path}.interval"), &context, sink);
    if interval == Some(Duration::ZERO) {
        sink.push(
            format!("{path}.interval"),
            &context,
            "interval must be above 0",
        );
    }
    let query_offset = duration(
        &raw.query_offset,
        format!("{path}.query_offset"),
        &context,
        sink,
    );
    let limit = match raw.limit {
        Some(l) if l < 0 => {
            sink.push(
                format!("{path}.limit"),
                &context,
                "limit must be 0 (no limit) or more",
            );
            0
        }
        Some(l) => l as usize,
        None => 0,
    };
    let tenant = match raw.tenant.filter(|t| !t.0.is_empty()) {
        None => TenantId::default_tenant(),
        Some(t) => match TenantId::new(&t.0) {
            Ok(t) => t,
            Err(e) => {
                sink.push(format!("{path}.tenant"), &context, e.to_string());
                TenantId::default_tenant()
            }
        },
    };
    let mut rules = Vec::new();
    for (ri, value) in raw.rules.into_iter().enumerate() {
        let rpath = format!("{path}.rules[{ri}]");
        let rule_context = format!("{context}, rule {}", ri + 1);
        let Some(raw_rule) = read::<RawRule>(value, &rpath, &rule_context, sink.problems) else {
            continue;
        };
        if let Some(r) = rule(&rpath, &rule_context, raw_rule, sink) {
            rules.push(r);
        }
    }
    Some(GroupSpec {
        name,
        interval,
        limit,
        query_offset,
        tenant,
        rules,
    })
}

fn rule(path: &str, context: &str, raw: RawRule, sink: &mut Sink<'_>) -> Option<RuleSpec> {
    let record = raw.record.map(|s| s.0).filter(|s| !s.is_empty());
    let alert = raw.alert.map(|s| s.0).filter(|s| !s.is_empty());
    let context = format!(
        "{context}, {:?}",
        alert.as_deref().or(record.as_deref()).unwrap_or("")
    );
    let context = context.as_str();
    let before = sink.problems.len();
    match (&record, &alert) {
        (Some(_), Some(_)) => sink.push(
            format!("{path}.record"),
            context,
            "only one of 'record' and 'alert' must be set",
        ),
        (None, None) => sink.push(
            path.to_string(),
            context,
            "one of 'record' or 'alert' must be set",
        ),
        _ => {}
    }
    let expr = raw.expr.map(|s| s.0).unwrap_or_default();
    let parsed =
        if expr.trim().is_empty() {
            sink.push(
                format!("{path}.expr"),
                context,
                "field 'expr' must be set in rule",
            );
            None
        } else {
            match Engine::parse(&expr) {
                Ok(e) => {
                    match e.value_type() {
                        ValueType::Vector | ValueType::Scalar => Some(e),
                        other => {
                            sink.push(
                                format!("{path}.expr"),
                                context,
                                format!(
                            "the expression must give an instant vector or a scalar, not a {}",
                            if other == ValueType::Matrix { "range vector" } else { "string" }
                        ),
                            );
                            None
                        }
                    }
                }
                Err(e) => {
                    let msg = e.to_string();
                    let msg = msg
                        .strip_prefix("invalid parameter \"query\": ")
                        .unwrap_or(&msg)
                        .to_string();
                    sink.push(
                        format!("{path}.expr"),
                        context,
                        format!("could not parse expression: {msg}"),
                    );
                    None
                }
            }
        };
    let hold = duration(&raw.hold, format!("{path}.for"), context, sink);
    let keep = duration(
        &raw.keep_firing_for,
        format!("{path}.keep_firing_for"),
        context,
        sink,
    );
    let is_alert = alert.is_some();
    let annotations = raw.annotations.unwrap_or_default();
    if let Some(name) = &record {
        if !annotations.is_empty() {
            sink.push(
                format!("{path}.annotations"),
                context,
                "invalid field 'annotations' in recording rule",
            );
        }
        if hold.is_some_and(|d| !d.is_zero()) {
            sink.push(
                format!("{path}.for"),
                context,
                "invalid field 'for' in recording rule",
            );
        }
        if keep.is_some_and(|d| !d.is_zero()) {
            sink.push(
                format!("{path}.keep_firing_for"),
                context,
                "invalid field 'keep_firing_for' in recording rule",
            );
        }
        if !is_valid_metric_name(name) {
            sink.push(
                format!("{path}.record"),
                context,
                format!("invalid recording rule name: {name} (allowed: [a-zA-Z_:][a-zA-Z0-9_:]*)"),
            );
        }
    }
    let labels = templates(
        raw.labels.unwrap_or_default(),
        &format!("{path}.labels"),
        "label",
        is_alert,
        context,
        sink,
    );
    let annotations = templates(
        annotations,
        &format!("{path}.annotations"),
        "annotation",
        is_alert,
        context,
        sink,
    );
    if sink.problems.len() > before {
        return None;
    }
    let kind = match (record, alert) {
        (Some(record), None) => RuleKind::Recording { record },
        (None, Some(alert)) => RuleKind::Alerting {
            alert,
            hold: hold.unwrap_or_default(),
            keep_firing_for: keep.unwrap_or_default(),
            annotations,
        },
        _ => return None,
    };
    Some(RuleSpec {
        expr,
        parsed: parsed?,
        labels,
        kind,
        position: None,
    })
}

/// Checks label or annotation names and values, parsing them as templates for alerts.
fn templates(
    map: BTreeMap<String, Scalar>,
    path: &str,
    what: &str,
    is_alert: bool,
    context: &str,
    sink: &mut Sink<'_>,
) -> Vec<(String, LabelTemplate)> {
    let mut out = Vec::new();
    for (name, value) in map {
        let field = format!("{path}.{name}");
        let name_ok = is_valid_label_name(&name) && !(what == "label" && name == METRIC_NAME);
        if !name_ok {
            sink.push(
                field.clone(),
                context,
                format!(
                    "invalid {what} name: {name} (allowed: [a-zA-Z_][a-zA-Z0-9_]*, not __name__)"
                ),
            );
            continue;
        }
        let template = if is_alert {
            match Template::parse(&value.0) {
                Ok(t) => Some(t),
                Err(e) => {
                    sink.push(field, context, format!("{what} {name:?}: template: {e}"));
                    continue;
                }
            }
        } else {
            None
        };
        out.push((
            name,
            LabelTemplate {
                text: value.0,
                template,
            },
        ));
    }
    out
}
