//! A drill as code (YAML in `drills/`), read with every problem placed at file:line.
//!
//! ```yaml
//! name: bank-channel-outage
//! max_duration: 10m                 # the drill is aborted past this
//! steady_state:                     # PromQL that must hold (return a sample) before and after
//!   - {name: payments succeed, expr: 'sum(rate(payment_results_total{status="succeeded"}[1m])) > 0'}
//! faults:                           # what is injected, when, for how long
//!   - fault: {kind: error, status: 503}
//!     scope: {service: banks, channel: bank-a}
//!     at: 0s
//!     duration: 3m
//! expect:                           # what the platform must do
//!   alert: BankChannelFailing
//!   action: {service: payment, guard: bank-a, state: open}
//! loss: 'sum(increase(payment_results_total{status="failed"}[30s]))'   # must stop growing
//! abort:
//!   max_failed_amount: 200000       # the blast-radius cap, in money
//!   when: ['sum(abs(ledger_imbalance)) > 0']
//! targets: {detect: 30s, stop_loss: 60s, recover: 120s}
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};
use taishan_core::config::{parse_placed, ConfigDiagnostic, FieldError};

use crate::faults::{build_fault, FaultSpec};
use crate::scope::Scope;

/// One drill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrillSpec {
    /// Its name, used in reports and history.
    pub name: String,
    /// What it rehearses.
    #[serde(default)]
    pub description: String,
    /// Past this the drill is aborted and every fault reverted (15 minutes by default).
    #[serde(default = "quarter_hour", with = "humantime_serde")]
    pub max_duration: Duration,
    /// Conditions that must hold before the faults and again for recovery.
    pub steady_state: Vec<Condition>,
    /// The faults and their schedule.
    pub faults: Vec<ScheduledFault>,
    /// What the platform must do about it.
    #[serde(default)]
    pub expect: Expectation,
    /// The failed business outcomes the response must stop (PromQL; its growth is the loss).
    #[serde(default)]
    pub loss: String,
    /// When to stop early.
    #[serde(default)]
    pub abort: Abort,
    /// The times the response is scored against.
    #[serde(default)]
    pub targets: Targets,
}

fn quarter_hour() -> Duration {
    Duration::from_secs(900)
}

/// A PromQL condition that holds when it returns at least one sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// What it checks, in words.
    pub name: String,
    /// The query.
    pub expr: String,
}

/// A fault, where, when and for how long.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduledFault {
    /// What is injected.
    pub fault: FaultSpec,
    /// Where.
    #[serde(default)]
    pub scope: Scope,
    /// After the drill starts (0s by default).
    #[serde(default, with = "humantime_serde")]
    pub at: Duration,
    /// For how long.
    #[serde(with = "humantime_serde")]
    pub duration: Duration,
}

/// What must happen.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// The alert that must fire (its `alertname`).
    #[serde(default)]
    pub alert: String,
    /// The guard that must act.
    #[serde(default)]
    pub action: Option<ExpectedAction>,
    /// What the root-cause ranking should name first, when not the faults' own scope: a
    /// node (`ledger`) or a call (`compensation->ledger`), e.g. for a fault proxy on a link.
    /// Default: the service (or bank channel) the first fault is scoped to.
    #[serde(default)]
    pub root_cause: Vec<String>,
}

/// A guard reaching a state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedAction {
    /// The service the guard is in.
    pub service: String,
    /// The guard.
    pub guard: String,
    /// The state it must report (`open`, `degraded`, `limiting`).
    pub state: String,
}

/// When a drill stops early, reverting every fault.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Abort {
    /// The blast-radius cap: stop once the payments failed during the drill add up to more.
    #[serde(default)]
    pub max_failed_amount: Option<f64>,
    /// PromQL conditions that stop the drill as soon as one returns a sample.
    #[serde(default)]
    pub when: Vec<String>,
}

/// The targets the response is scored against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    /// From the first fault to the expected alert firing.
    #[serde(default = "half_minute", with = "humantime_serde")]
    pub detect: Duration,
    /// From the first fault to the loss no longer growing.
    #[serde(default = "minute", with = "humantime_serde")]
    pub stop_loss: Duration,
    /// From the faults' end to the steady state holding again.
    #[serde(default = "two_minutes", with = "humantime_serde")]
    pub recover: Duration,
}

fn half_minute() -> Duration {
    Duration::from_secs(30)
}
fn minute() -> Duration {
    Duration::from_secs(60)
}
fn two_minutes() -> Duration {
    Duration::from_secs(120)
}

impl Default for Targets {
    fn default() -> Self {
        Self {
            detect: half_minute(),
            stop_loss: minute(),
            recover: two_minutes(),
        }
    }
}

impl DrillSpec {
    /// The same drill with every fault held for `d` (a shorter rehearsal), the schedule
    /// kept in order.
    pub fn with_fault_duration(mut self, d: Duration) -> Self {
        let scale = |at: Duration, longest: Duration| {
            if longest.is_zero() {
                at
            } else {
                at.mul_f64(d.as_secs_f64() / longest.as_secs_f64())
            }
        };
        let longest = self
            .faults
            .iter()
            .map(|f| f.duration)
            .max()
            .unwrap_or_default();
        for f in &mut self.faults {
            f.at = scale(f.at, longest);
            f.duration = d;
        }
        self
    }
}

/// Reads a drill; every problem placed in `file`.
pub fn parse_drill(file: &str, text: &str) -> Result<DrillSpec, Vec<ConfigDiagnostic>> {
    parse_placed(file, text, |root| {
        let spec: DrillSpec = serde_path_to_error::deserialize(root).map_err(|e| {
            let path = e.path().to_string();
            let path = if path == "." { String::new() } else { path };
            vec![FieldError::new(path, e.into_inner().to_string())]
        })?;
        let errors = validate(&spec);
        if errors.is_empty() {
            Ok(spec)
        } else {
            Err(errors)
        }
    })
}

/// What serde cannot check: the faults build, the queries parse, the schedule fits.
fn validate(d: &DrillSpec) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut promql = |path: String, expr: &str| {
        if let Err(e) = promql_parser::parser::parse(expr) {
            errors.push(FieldError::new(path, format!("not PromQL: {e}")));
        }
    };
    for (i, c) in d.steady_state.iter().enumerate() {
        promql(format!("steady_state[{i}].expr"), &c.expr);
    }
    if !d.loss.is_empty() {
        promql("loss".into(), &d.loss);
    }
    for (i, w) in d.abort.when.iter().enumerate() {
        promql(format!("abort.when[{i}]"), w);
    }
    if d.steady_state.is_empty() {
        errors.push(FieldError::new(
            "steady_state",
            "needs a condition: recovery is measured against it",
        ));
    }
    if d.faults.is_empty() {
        errors.push(FieldError::new("faults", "needs a fault"));
    }
    for (i, f) in d.faults.iter().enumerate() {
        if let Err(e) = build_fault(&f.fault) {
            errors.push(FieldError::new(format!("faults[{i}].fault"), e));
        }
        if let Some(p) = f.scope.problem() {
            errors.push(FieldError::new(format!("faults[{i}].scope.percent"), p));
        }
        if f.duration.is_zero() {
            errors.push(FieldError::new(
                format!("faults[{i}].duration"),
                "must be above 0",
            ));
        }
        if f.at + f.duration > d.max_duration {
            let message = "ends after max_duration: the drill would be aborted before it";
            errors.push(FieldError::new(format!("faults[{i}].duration"), message));
        }
    }
    if d.abort
        .max_failed_amount
        .is_some_and(|m| m.is_nan() || m <= 0.0)
    {
        errors.push(FieldError::new(
            "abort.max_failed_amount",
            "must be above 0",
        ));
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTAGE: &str = include_str!("../../../drills/bank-channel-outage.yaml");

    #[test]
    fn the_standard_outage_drill_reads_with_its_defaults() {
        let d = parse_drill("drills/bank-channel-outage.yaml", OUTAGE).unwrap();
        assert_eq!(d.name, "bank-channel-outage");
        assert_eq!(d.faults[0].scope.channel, "bank-a");
        assert_eq!(d.expect.alert, "BankChannelFailing");
        assert_eq!(d.targets.detect, Duration::from_secs(30));
        assert!(d.abort.max_failed_amount.is_some());
    }

    #[test]
    fn every_problem_is_placed_at_its_line() {
        let text = "name: x\nsteady_state:\n  - {name: up, expr: 'sum(up'}\nfaults:\n  - fault: {kind: latency, dealy: 1s}\n    duration: 20m\n  - fault: {kind: error}\n    scope: {percent: 150}\n    duration: 1m\nabort:\n  max_failed_amount: -5\n";
        let errors = parse_drill("d.yaml", text).unwrap_err();
        let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
        let find = |needle: &str| {
            shown
                .iter()
                .find(|s| s.contains(needle))
                .unwrap_or_else(|| panic!("{needle:?} not in {shown:#?}"))
                .clone()
        };
        assert!(find("not PromQL").starts_with("d.yaml:3:"));
        assert!(find("dealy").starts_with("d.yaml:5:"));
        assert!(find("ends after max_duration").starts_with("d.yaml:6:"));
        assert!(find("percent must be above 0").starts_with("d.yaml:8:"));
        assert!(find("abort.max_failed_amount").starts_with("d.yaml:11:"));
    }

    #[test]
    fn unknown_fields_are_refused_where_they_are() {
        let e = parse_drill(
            "d.yaml",
            "name: x\nsteady_state: []\nfaults: []\nexpectt: {}\n",
        )
        .unwrap_err();
        assert!(e[0].to_string().starts_with("d.yaml:4:"), "{e:?}");
        assert!(e[0].to_string().contains("unknown field `expectt`"));
    }
}
