//! Alerting rules: each element of the expression's result is an alert, pending until it
//! has held for `for`, then firing, kept firing `keep_firing_for` after it clears, and
//! remembered 15 minutes once resolved — Prometheus's state machine, step for step.

use crate::eval_error::RuleEvalError;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use taishan_core::{Labels, Sample, METRIC_NAME};

use crate::alert::{
    Alert, AlertState, ALERTS_FOR_STATE_METRIC, ALERTS_METRIC, ALERT_NAME, ALERT_STATE,
};
use crate::file::LabelTemplate;
use crate::labelset::LabelEdit;
use taishan_template::{AlertData, Expansion, TemplateQuery};

/// How long a resolved alert is kept (and reported resolved), as in Prometheus.
pub const RESOLVED_RETENTION: Duration = Duration::from_secs(15 * 60);

/// What an evaluation may use besides the query result.
pub struct AlertContext<'a> {
    /// `$externalLabels`.
    pub external_labels: &'a BTreeMap<String, String>,
    /// `$externalURL`.
    pub external_url: &'a str,
    /// Answers the templates' `query`.
    pub query: Option<&'a dyn TemplateQuery>,
    /// The group's `limit` (0: none).
    pub limit: usize,
}

/// An alerting rule with its alerts.
#[derive(Debug, Clone)]
pub struct AlertingRule {
    name: String,
    hold_ms: i64,
    keep_firing_ms: i64,
    labels: Vec<(String, LabelTemplate)>,
    annotations: Vec<(String, LabelTemplate)>,
    active: HashMap<Labels, Alert>,
    restored: bool,
}

impl AlertingRule {
    /// A rule with no alerts yet. `restored` is false when its `for` state should first be
    /// restored from storage (after a restart); until then it writes no `ALERTS`.
    pub fn new(
        name: String,
        hold: Duration,
        keep_firing_for: Duration,
        labels: Vec<(String, LabelTemplate)>,
        annotations: Vec<(String, LabelTemplate)>,
        restored: bool,
    ) -> Self {
        Self {
            name,
            hold_ms: hold.as_millis() as i64,
            keep_firing_ms: keep_firing_for.as_millis() as i64,
            labels,
            annotations,
            active: HashMap::new(),
            restored,
        }
    }

    /// The alert's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its `for`.
    pub fn hold(&self) -> Duration {
        Duration::from_millis(self.hold_ms as u64)
    }

    /// Whether its state has been restored (or needed no restoring).
    pub fn is_restored(&self) -> bool {
        self.restored
    }

    /// Marks the state restored: `ALERTS` are written from the next evaluation.
    pub fn set_restored(&mut self) {
        self.restored = true;
    }

    /// Every alert held, resolved ones included.
    pub fn alerts(&self) -> impl Iterator<Item = &Alert> {
        self.active.values()
    }

    /// The alerts held, for restoring their `for` state.
    pub fn alerts_mut(&mut self) -> impl Iterator<Item = &mut Alert> {
        self.active.values_mut()
    }

    /// The highest state of its alerts.
    pub fn state(&self) -> AlertState {
        self.active
            .values()
            .map(|a| a.state)
            .max()
            .unwrap_or(AlertState::Inactive)
    }

    /// Takes over the alerts of the same rule from before a reload.
    pub fn adopt_alerts(&mut self, previous: &AlertingRule) {
        self.active = previous.active.clone();
        self.restored = previous.restored;
    }

    fn expand(&self, text: &LabelTemplate, data: &AlertData, expansion: &Expansion<'_>) -> String {
        match &text.template {
            Some(t) => t.expand_or_placeholder(data, expansion),
            None => text.text.clone(),
        }
    }

    /// Evaluates the result of the rule's expression at `ts_ms` and returns the `ALERTS`
    /// and `ALERTS_FOR_STATE` samples to write (at `sample_ms`).
    pub fn eval(
        &mut self,
        ts_ms: i64,
        sample_ms: i64,
        result: Vec<(Labels, f64)>,
        ctx: &AlertContext<'_>,
    ) -> Result<Vec<(Labels, Sample)>, RuleEvalError> {
        let expansion = Expansion {
            query: ctx.query,
            external_url: ctx.external_url,
            time_ms: sample_ms,
        };
        let mut current: HashMap<Labels, Alert> = HashMap::with_capacity(result.len());
        for (metric, value) in result {
            let data = AlertData {
                labels: crate::labelset::to_map(&metric),
                external_labels: ctx.external_labels.clone(),
                external_url: ctx.external_url.to_string(),
                value,
            };
            let mut edit = LabelEdit::from(&metric);
            edit.remove(METRIC_NAME);
            for (name, text) in &self.labels {
                edit.set(name, self.expand(text, &data, &expansion));
            }
            edit.set(ALERT_NAME, self.name.clone());
            let annotations: BTreeMap<String, String> = self
                .annotations
                .iter()
                .map(|(name, text)| (name.clone(), self.expand(text, &data, &expansion)))
                .collect();
            let labels = edit.build();
            if current.contains_key(&labels) {
                return Err(RuleEvalError::DuplicateLabelset("alert"));
            }
            current.insert(
                labels.clone(),
                Alert::pending(labels, annotations, value, ts_ms),
            );
        }

        for (labels, fresh) in current.iter() {
            match self.active.get_mut(labels) {
                Some(alert) if alert.state != AlertState::Inactive => {
                    alert.value = fresh.value;
                    alert.annotations = fresh.annotations.clone();
                }
                _ => {
                    self.active.insert(labels.clone(), fresh.clone());
                }
            }
        }

        let mut out = Vec::new();
        let mut active_or_pending = 0usize;
        let mut forget = Vec::new();
        for (labels, alert) in self.active.iter_mut() {
            if !current.contains_key(labels) {
                let mut keep_firing = false;
                if alert.state == AlertState::Firing && self.keep_firing_ms > 0 {
                    if alert.keep_firing_since_ms == 0 {
                        alert.keep_firing_since_ms = ts_ms;
                    }
                    keep_firing = ts_ms - alert.keep_firing_since_ms < self.keep_firing_ms;
                }
                let retention = RESOLVED_RETENTION.as_millis() as i64;
                if alert.state == AlertState::Pending
                    || (alert.resolved_at_ms != 0 && ts_ms - alert.resolved_at_ms > retention)
                {
                    forget.push(labels.clone());
                }
                if alert.state != AlertState::Inactive && !keep_firing {
                    alert.state = AlertState::Inactive;
                    alert.resolved_at_ms = ts_ms;
                }
                if !keep_firing {
                    continue;
                }
            } else {
                alert.keep_firing_since_ms = 0;
            }
            active_or_pending += 1;
            if alert.state == AlertState::Pending && ts_ms - alert.active_at_ms >= self.hold_ms {
                alert.state = AlertState::Firing;
                alert.fired_at_ms = ts_ms;
            }
            if self.restored {
                out.push(alerts_sample(alert, sample_ms));
                out.push(for_state_sample(alert, sample_ms));
            }
        }
        for labels in forget {
            self.active.remove(&labels);
        }
        if ctx.limit > 0 && active_or_pending > ctx.limit {
            self.active.clear();
            return Err(RuleEvalError::LimitExceeded {
                limit: ctx.limit,
                count: active_or_pending,
                what: "alerts",
            });
        }
        Ok(out)
    }
}

/// `ALERTS{alertname, alertstate, ...} 1`.
fn alerts_sample(alert: &Alert, at_ms: i64) -> (Labels, Sample) {
    let mut edit = LabelEdit::from(&alert.labels);
    edit.set(METRIC_NAME, ALERTS_METRIC)
        .set(ALERT_STATE, alert.state.as_str());
    (edit.build(), Sample::new(at_ms, 1.0))
}

/// `ALERTS_FOR_STATE{alertname, ...} <active since, Unix seconds>`.
fn for_state_sample(alert: &Alert, at_ms: i64) -> (Labels, Sample) {
    (
        for_state_labels(&alert.labels),
        Sample::new(at_ms, alert.active_at_ms.div_euclid(1000) as f64),
    )
}

/// The labels of an alert's `ALERTS_FOR_STATE` series.
pub fn for_state_labels(alert_labels: &Labels) -> Labels {
    let mut edit = LabelEdit::from(alert_labels);
    edit.set(METRIC_NAME, ALERTS_FOR_STATE_METRIC);
    edit.build()
}
