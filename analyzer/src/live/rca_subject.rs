//! What an alert is about, for the root-cause ranking to look along its call paths: the
//! services its labels name (`service`, `service_name`, `channel`) or, when they name none,
//! those its rule's expression reads (`payment:failures:ratio_rate5m` is about payment).

use crate::rca::Scene;
use promql_parser::parser::Expr;
use taishan_core::TenantId;
use taishan_query::{each_node, Engine, QueryValue};
use taishan_rules::RuleManager;

/// Labels whose values name the services an alert is about.
const SUBJECT_LABELS: [&str; 3] = ["service", "service_name", "channel"];

/// What an alert is about, before the graph is known.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Subject {
    /// Services its labels name.
    pub named: Vec<String>,
    /// Words of the series its rule reads and of the services its selectors pick; those
    /// naming a service of the graph are its subject when `named` is empty.
    pub words: Vec<String>,
}

impl Subject {
    /// The subject of an alert with `labels`, whose rule (by `alertname`) is among `rules`.
    pub fn of_alert(
        rules: &RuleManager,
        labels: impl IntoIterator<Item = (String, String)>,
    ) -> Self {
        let labels: Vec<(String, String)> = labels.into_iter().collect();
        let named = named_by(labels.iter().cloned());
        let words = match labels.iter().find(|(k, _)| k == "alertname") {
            Some((_, name)) if named.is_empty() => words_of_rule(rules, name),
            _ => Vec::new(),
        };
        Subject { named, words }
    }

    /// The services of `scene` the alert is about (a plural word names its service too:
    /// `loans` is about `loan`).
    pub fn focus_in(&self, scene: &Scene) -> Vec<String> {
        if !self.named.is_empty() {
            return self.named.clone();
        }
        let nodes = scene.nodes();
        let mut focus: Vec<String> = Vec::new();
        for word in &self.words {
            let service = nodes
                .iter()
                .find(|n| *n == word || word.strip_suffix('s') == Some(n.as_str()));
            if let Some(s) = service.filter(|s| !focus.contains(s)) {
                focus.push(s.clone());
            }
        }
        focus
    }
}

/// The services named by `labels` (name, value pairs), each once.
pub fn named_by(labels: impl IntoIterator<Item = (String, String)>) -> Vec<String> {
    let mut named: Vec<String> = Vec::new();
    for (name, value) in labels {
        if SUBJECT_LABELS.contains(&name.as_str()) && !named.contains(&value) {
            named.push(value);
        }
    }
    named
}

/// The subject labels of the alert named `alertname`: those of its `ALERTS` series firing
/// in the 5 minutes up to `at_ms` (so an alert already resolved still says what it was
/// about), with `alertname` itself.
pub fn labels_of_alert(
    engine: &Engine,
    tenant: &TenantId,
    alertname: &str,
    at_ms: i64,
) -> Vec<(String, String)> {
    let name = alertname.replace('\\', "\\\\").replace('"', "\\\"");
    let query = format!(
        r#"max by ({}) (last_over_time(ALERTS{{alertname="{name}", alertstate="firing"}}[5m]))"#,
        SUBJECT_LABELS.join(", ")
    );
    let mut labels = vec![("alertname".to_string(), alertname.to_string())];
    if let Ok(out) = engine.instant(tenant, &query, at_ms) {
        if let QueryValue::Vector(series) = out.value {
            labels.extend(
                series
                    .iter()
                    .flat_map(|(l, _)| l.iter().map(|l| (l.name.to_string(), l.value.to_string()))),
            );
        }
    }
    labels
}

/// The words of the metric names an alerting rule named `alertname` reads, and the values
/// its selectors require of the subject labels.
fn words_of_rule(rules: &RuleManager, alertname: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for slot in rules.groups() {
        let view = slot.view();
        for rule in view.json["rules"].as_array().into_iter().flatten() {
            if rule["type"] != "alerting" || rule["name"] != alertname {
                continue;
            }
            let Some(Ok(expr)) = rule["query"].as_str().map(Engine::parse) else {
                continue;
            };
            words_of_expr(&expr, &mut words);
        }
    }
    words
}

fn words_of_expr(expr: &Expr, words: &mut Vec<String>) {
    let mut add = |w: &str| {
        if !w.is_empty() && !words.iter().any(|x| x == w) {
            words.push(w.to_string());
        }
    };
    each_node(expr, &mut |e| {
        let Expr::VectorSelector(vs) = e else {
            return;
        };
        for matcher in &vs.matchers.matchers {
            let is_name = matcher.name == "__name__";
            let is_subject = SUBJECT_LABELS.contains(&matcher.name.as_str());
            if matches!(matcher.op, promql_parser::label::MatchOp::Equal) && is_subject {
                add(&matcher.value);
            } else if is_name {
                matcher.value.split(['_', ':']).for_each(&mut add);
            }
        }
        if let Some(name) = &vs.name {
            name.split(['_', ':']).for_each(&mut add);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(expr: &str) -> Vec<String> {
        let mut w = Vec::new();
        words_of_expr(&Engine::parse(expr).unwrap(), &mut w);
        w
    }

    #[test]
    fn a_rule_is_about_the_words_of_what_it_reads() {
        let mut w = words(
            r#"payment:failures:ratio_rate5m > 0.01 and on () rate(up{service="risk", job=~"x"}[1m]) > 0"#,
        );
        w.sort();
        assert_eq!(w, ["failures", "payment", "rate5m", "ratio", "risk", "up"]);
    }

    #[test]
    fn words_naming_services_of_the_graph_are_the_focus() {
        let scene = Scene {
            edges: vec![
                ("gateway".into(), "loan".into()),
                ("loan".into(), "risk".into()),
            ],
            evidence: Default::default(),
        };
        let by_rule = Subject {
            named: Vec::new(),
            words: ["loans", "granted", "risk", "rate10m"]
                .map(String::from)
                .to_vec(),
        };
        assert_eq!(by_rule.focus_in(&scene), ["loan", "risk"]);
        let by_labels = Subject {
            named: vec!["bank-a".into()],
            words: by_rule.words.clone(),
        };
        assert_eq!(by_labels.focus_in(&scene), ["bank-a"]);
    }
}
