//! The rule engine's alerts, handed to the alerter in process the way Prometheus's notifier
//! sends them to Alertmanager: firing alerts at every evaluation with an end a few intervals
//! ahead (so they resolve by themselves if the rule engine stops), and each resolution once,
//! with the time it resolved.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use taishan_alerter::{Alert, AlertAnnotator, Alerter, Fingerprint, LabelSet};
use taishan_rules::{AlertState, EvaluationListener, Group, GroupRun, Rule};

/// Prometheus's default `--rules.alert.resend-delay`: the end of a firing alert is four of
/// these (or of the group interval, when longer) ahead.
const RESEND_DELAY: Duration = Duration::from_secs(60);

/// Forgets a resolution sent this long ago (Prometheus keeps resolved alerts 15 minutes).
const FORGET_AFTER_MS: i64 = 30 * 60 * 1000;

/// Listens to rule evaluations and posts their alerts to the alerter.
#[derive(Debug)]
pub struct AlertForwarder {
    alerter: Arc<Alerter>,
    external_url: String,
    resolutions_sent: Mutex<HashMap<Fingerprint, i64>>,
    annotators: Vec<Arc<dyn AlertAnnotator>>,
}

impl AlertForwarder {
    /// Forwards to `alerter`; generator URLs point at `external_url`.
    pub fn new(alerter: Arc<Alerter>, external_url: String) -> Self {
        Self {
            alerter,
            external_url,
            resolutions_sent: Mutex::new(HashMap::new()),
            annotators: Vec::new(),
        }
    }

    /// Also annotates firing alerts with `annotator`.
    pub fn with_annotator(mut self, annotator: Arc<dyn AlertAnnotator>) -> Self {
        self.annotators.push(annotator);
        self
    }

    fn generator_url(&self, expr: &str) -> String {
        let expr: String = form_urlencoded::byte_serialize(expr.as_bytes()).collect();
        format!(
            "{}/graph?g0.expr={expr}&g0.tab=1",
            self.external_url.trim_end_matches('/')
        )
    }
}

impl EvaluationListener for AlertForwarder {
    fn on_evaluated(&self, group: &Group, run: &GroupRun) {
        let now = run.at_ms;
        let valid_ms =
            i64::try_from((group.interval.max(RESEND_DELAY) * 4).as_millis()).unwrap_or(i64::MAX);
        let mut sent = self.resolutions_sent.lock();
        sent.retain(|_, at| now - *at < FORGET_AFTER_MS);
        let mut out = Vec::new();
        for (spec, rule, _) in group.rules() {
            let Rule::Alerting(rule) = rule else { continue };
            for a in rule.alerts() {
                let labels: LabelSet = a
                    .labels
                    .iter()
                    .map(|l| (l.name.to_string(), l.value.to_string()))
                    .collect();
                let ends_at_ms = match a.state {
                    AlertState::Pending => continue,
                    AlertState::Firing => now.saturating_add(valid_ms),
                    AlertState::Inactive => {
                        let fp = Fingerprint::of(&labels);
                        if a.fired_at_ms == 0 || sent.get(&fp) == Some(&a.resolved_at_ms) {
                            continue;
                        }
                        sent.insert(fp, a.resolved_at_ms);
                        a.resolved_at_ms
                    }
                };
                let mut annotations: LabelSet = a
                    .annotations
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                if a.state == AlertState::Firing {
                    for annotator in &self.annotators {
                        annotator.annotate(&labels, a.active_at_ms, &mut annotations);
                    }
                }
                out.push(Alert {
                    labels,
                    annotations,
                    starts_at_ms: a.fired_at_ms,
                    ends_at_ms,
                    generator_url: self.generator_url(&spec.expr),
                    updated_at_ms: now,
                    timeout: false,
                });
            }
        }
        drop(sent);
        if !out.is_empty() {
            let accepted = self.alerter.take(out);
            if accepted.refused > 0 {
                tracing::error!(refused = accepted.refused, group = %group.name, "the alerter refused alerts: it holds its maximum");
            }
        }
    }
}
