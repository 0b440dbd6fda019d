use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use taishan_core::{DecisionRefused, DecisionSink, GuardCommand, GuardDecision};

use super::*;
use crate::file::RuleFile;
use crate::group::{EvalEnv, Group};
use crate::unittest::harness::Harness;
use crate::unittest::spec::InputSeries;

/// The decisions taken; while the flag is up, decisions are refused (as a control plane
/// whose audit log cannot be written refuses them).
#[derive(Default)]
struct Recorded(Mutex<Vec<GuardDecision>>, AtomicBool);

impl DecisionSink for Recorded {
    fn decide(&self, d: GuardDecision) -> Result<(), DecisionRefused> {
        if self.1.load(Ordering::SeqCst) {
            return Err(DecisionRefused {
                reason: "audit log full".into(),
            });
        }
        self.0.lock().push(d);
        Ok(())
    }
}

impl Recorded {
    fn take(&self) -> Vec<(String, String)> {
        self.0
            .lock()
            .drain(..)
            .map(|d| (d.target.guard, d.command.name().to_string()))
            .collect()
    }
}

const RULES: &str = r#"
groups:
  - name: payments
    rules:
      - alert: BankChannelFailing
        expr: failure_ratio > 0.5
        labels:
          severity: page
        annotations:
          summary: "{{ $labels.channel }} fails {{ $value | humanizePercentage }}"
"#;

/// A scratch store holding `series` (values a minute apart), the payments rule, and an
/// action engine over `actions` deciding into a recorder.
struct Setup {
    harness: Harness,
    group: Group,
    engine: ActionEngine,
    sink: Arc<Recorded>,
}

impl Setup {
    fn new(series: &[(&str, &str)], actions: &str) -> Self {
        let harness = Harness::new(Duration::from_secs(60)).expect("store");
        let input: Vec<InputSeries> = series
            .iter()
            .map(|(s, v)| InputSeries {
                series: s.to_string(),
                values: v.to_string(),
            })
            .collect();
        harness.load(&input, Duration::from_secs(60)).expect("load");
        let rules = RuleFile::parse("payments.yaml", RULES).expect("rules");
        let file = ActionFile::parse("actions.yaml", actions).expect("actions");
        assert!(file.check_against(std::slice::from_ref(&rules)).is_empty());
        let sink = Arc::new(Recorded::default());
        Self {
            engine: ActionEngine::new(file.actions, sink.clone()),
            group: Group::new(
                "payments.yaml",
                &rules.groups[0],
                Duration::from_secs(60),
                true,
            ),
            harness,
            sink,
        }
    }

    /// Evaluates the group and the actions at `t` (ms).
    fn step(&mut self, t: i64) {
        let labels = Default::default();
        let env = EvalEnv {
            engine: &self.harness.engine,
            writer: &self.harness,
            external_labels: &labels,
            external_url: "",
        };
        self.group.eval(t, &env);
        self.engine.on_group(&self.group, t);
    }
}

/// The decisions made at each of `evaluations` one-minute evaluations.
fn scenario(
    series: &[(&str, &str)],
    actions: &str,
    evaluations: usize,
) -> Vec<Vec<(String, String)>> {
    let mut setup = Setup::new(series, actions);
    (0..evaluations)
        .map(|i| {
            setup.step(i as i64 * 60_000);
            setup.sink.take()
        })
        .collect()
}

fn d(guard: &str, command: &str) -> (String, String) {
    (guard.to_string(), command.to_string())
}

#[test]
fn acts_after_n_firing_evaluations_and_releases_after_m_healthy_ones() {
    let got = scenario(
        &[("failure_ratio{channel=\"bank-a\"}", "0 0.9 0.9 0.9 0.1 0.1 0.1 0.1")],
        "actions:\n  - alert: BankChannelFailing\n    do: open_breaker\n    service: payment\n    target: '{{ $labels.channel }}'\n    after: 2\n    release_after: 2\n",
        8,
    );
    let none: Vec<(String, String)> = Vec::new();
    assert_eq!(got[0], none);
    assert_eq!(got[1], none, "fired once: not yet");
    assert_eq!(got[2], [d("bank-a", "open_breaker")]);
    assert_eq!(got[3], none, "acts once");
    assert_eq!(got[4], none, "healthy once: not yet");
    assert_eq!(got[5], [d("bank-a", "release")]);
    assert_eq!(got[6..], [none.clone(), none]);
}

#[test]
fn max_duration_releases_and_waits_for_the_alert_to_clear() {
    let got = scenario(
        &[("failure_ratio{channel=\"bank-b\"}", "0.9 0.9 0.9 0.9 0.9 0 0.9 0.9")],
        "actions:\n  - alert: BankChannelFailing\n    do: open_breaker\n    service: payment\n    target: '{{ $labels.channel }}'\n    max_duration: 2m\n    probe: false\n",
        8,
    );
    assert_eq!(got[0], [d("bank-b", "open_breaker")]);
    assert_eq!(got[2], [d("bank-b", "release")], "held 2m");
    assert!(
        got[3].is_empty() && got[4].is_empty(),
        "still firing: not again"
    );
    assert_eq!(got[5], [], "cleared (and nothing held to release)");
    assert_eq!(
        got[6],
        [d("bank-b", "open_breaker")],
        "fires anew: acts again"
    );
}

#[test]
fn a_guard_held_for_several_alerts_is_released_by_the_last() {
    let got = scenario(
        &[
            ("failure_ratio{channel=\"bank-a\", type=\"payout\"}", "0.9 0.9 0.9 0 0"),
            ("failure_ratio{channel=\"bank-a\", type=\"collection\"}", "0.9 0.9 0.9 0.9 0"),
            ("failure_ratio{channel=\"bank-c\", type=\"payout\"}", "0.9 0.9 0.9 0.9 0.9"),
        ],
        "actions:\n  - alert: BankChannelFailing\n    match: {type: payout}\n    do: degrade\n    service: risk\n    target: 'risk-model'\n  - alert: BankChannelFailing\n    do: open_breaker\n    service: payment\n    target: '{{ $labels.channel }}'\n",
        5,
    );
    let mut first = got[0].clone();
    first.sort();
    assert_eq!(
        first,
        [
            d("bank-a", "open_breaker"),
            d("bank-c", "open_breaker"),
            d("risk-model", "degrade")
        ]
    );
    assert_eq!(
        got[3],
        [],
        "bank-a still held by the collection alert; risk-model by bank-c's payout"
    );
    assert_eq!(got[4], [d("bank-a", "release")]);
}

#[test]
fn action_files_report_every_problem() {
    let bad = "actions:\n  - alert: X\n    do: explode\n    service: ''\n    target: '{{ $labels.x | nope }}'\n    after: 0\n  - alert: Y\n    do: set_rate_limit\n    service: gateway\n    target: api\n  - alert: Z\n    do: degrade\n    service: risk\n    target: risk-model\n    surprise: 1\n";
    let errors = ActionFile::parse("a.yaml", bad).expect_err("invalid");
    let all: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    let all = all.join("\n");
    for want in [
        "a.yaml:3:5: action 1 (X): unknown command \"explode\"; allowed: open_breaker",
        "a.yaml:4:5: action 1 (X): service must name",
        "a.yaml:5:5: action 1 (X): template: 1:1: function \"nope\" not defined",
        "a.yaml:6:5: action 1 (X): after must be at least 1",
        "a.yaml:8:5: action 2 (Y): set_rate_limit needs a rate above 0",
        "a.yaml:15:5: action 3: unknown field `surprise`",
    ] {
        assert!(all.contains(want), "missing {want:?} in\n{all}");
    }
    let ok = ActionFile::parse(
        "a.yaml",
        "actions:\n  - alert: Nope\n    do: degrade\n    service: risk\n    target: risk-model\n",
    )
    .expect("valid");
    let rules = RuleFile::parse("r.yaml", RULES).expect("rules");
    let e = ok.check_against(&[rules]);
    assert!(
        e[0].to_string().contains(
            "no alerting rule \"Nope\" among the rule files loaded (alerts: BankChannelFailing)"
        ),
        "{}",
        e[0]
    );
    assert!(ActionFile::looks_like("actions: []") && !ActionFile::looks_like("groups: []"));
}

#[test]
fn decisions_carry_the_rule_the_value_and_the_time() {
    let mut setup = Setup::new(
        &[("failure_ratio{channel=\"bank-a\"}", "0.75")],
        "actions:\n  - alert: BankChannelFailing\n    do: set_rate_limit\n    rate: 5\n    service: gateway\n    target: api\n",
    );
    setup.step(30_000);
    let sink = &setup.sink;
    let decided = sink.0.lock().clone();
    assert_eq!(decided.len(), 1);
    let dec = &decided[0];
    assert_eq!(
        dec.command,
        GuardCommand::SetRateLimit {
            rate: 5.0,
            burst: None
        }
    );
    assert_eq!(dec.at_ms, 30_000);
    assert_eq!(dec.target.to_string(), "gateway/api");
    assert!(dec.reason.contains("BankChannelFailing{channel=bank-a, severity=page} firing for 1 evaluation(s), value 0.75: bank-a fails 75%"), "{}", dec.reason);
    match &dec.source {
        taishan_core::DecisionSource::Rule {
            group,
            alert,
            value,
            labels,
            ..
        } => {
            assert_eq!(
                (group.as_str(), alert.as_str(), *value),
                ("payments", "BankChannelFailing", 0.75)
            );
            assert_eq!(labels.get("channel").map(String::as_str), Some("bank-a"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_refused_decision_is_tried_again_at_the_next_evaluation() {
    let mut setup = Setup::new(
        &[("failure_ratio{channel=\"bank-a\"}", "0.9 0.9 0.9 0.1 0.1 0.1")],
        "actions:\n  - alert: BankChannelFailing\n    do: open_breaker\n    service: payment\n    target: '{{ $labels.channel }}'\n    release_after: 1\n",
    );
    let none: Vec<(String, String)> = Vec::new();
    let at = |setup: &mut Setup, i: i64, refuse: bool| {
        setup.sink.1.store(refuse, Ordering::SeqCst);
        setup.step(i * 60_000);
        setup.sink.take()
    };
    assert_eq!(at(&mut setup, 0, true), none, "refused: not held");
    assert_eq!(at(&mut setup, 1, false), [d("bank-a", "open_breaker")]);
    assert_eq!(at(&mut setup, 2, false), none, "held: acts once");
    assert_eq!(at(&mut setup, 3, true), none, "release refused: still held");
    assert_eq!(at(&mut setup, 4, false), [d("bank-a", "release")]);
    assert_eq!(at(&mut setup, 5, false), none);
}
