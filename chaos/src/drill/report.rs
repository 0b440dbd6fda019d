//! A drill's verdict: what the timeline and the money proof say against the drill's targets.
//!
//! The runner observes; [`judge`] decides. A drill passes when the expected alert fired,
//! the loss stopped, the steady state came back, each within its target, and the money
//! proof is clean (the ledger balances, nothing was paid twice, the money in flight is back
//! to its baseline, compensation is drained, reconciliation found no difference). Every
//! reason it fails is listed, with the figures.

use serde::Serialize;

use crate::drill::spec::DrillSpec;

/// When things happened during a drill (Unix ms; `None`: it did not happen).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Timeline {
    /// The drill began (the steady-state check).
    pub started_ms: i64,
    /// The report was written.
    pub finished_ms: i64,
    /// The first fault armed.
    pub fault_start_ms: i64,
    /// The expected alert first firing.
    pub detected_ms: Option<i64>,
    /// The first notification delivered to the on-call.
    pub notified_ms: Option<i64>,
    /// The expected guard action seen.
    pub action_ms: Option<i64>,
    /// The loss no longer growing.
    pub loss_stopped_ms: Option<i64>,
    /// The last fault reverted.
    pub faults_end_ms: Option<i64>,
    /// The steady state holding again.
    pub recovered_ms: Option<i64>,
    /// Why the drill was stopped early, if it was.
    pub aborted: Option<String>,
}

/// The books after the drill.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MoneyProof {
    /// The ledger's imbalance (0 when debits equal credits).
    pub ledger_imbalance: f64,
    /// Payments paid out twice.
    pub paid_twice: u64,
    /// Money in flight before the faults.
    pub in_flight_baseline: f64,
    /// Money in flight at the end.
    pub in_flight_after: f64,
    /// Payments made during the drill that are still not final: money in flight that did
    /// not come back to its baseline.
    pub open_payments: u64,
    /// Their money.
    pub open_amount: f64,
    /// Transfers compensation still has to finish (outbox and dead letters).
    pub compensation_backlog: u64,
    /// Differences reconciliation found over the drill's window.
    pub reconciliation_differences: u64,
    /// Their money value.
    pub reconciliation_difference_amount: f64,
    /// Whether reconciliation ran over the drill's window.
    pub reconciled: bool,
    /// The money of the payments that failed during the drill.
    pub failed_amount: f64,
}

/// Pass or fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Every target met and the money proof clean.
    Pass,
    /// At least one reason listed.
    Fail,
}

/// The report of one drill run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DrillReport {
    /// The drill's name.
    pub drill: String,
    /// The service (or bank channel) the faults went into, for root-cause scoring.
    pub injected_service: String,
    /// Where the root-cause ranking put what the faults hit (when the alert fired and the
    /// platform ranks root causes).
    pub root_cause: Option<RootCauseCheck>,
    /// Pass or fail.
    pub verdict: Verdict,
    /// Why it failed (empty when it passed).
    pub reasons: Vec<String>,
    /// Fault start to the expected alert firing.
    pub time_to_detect_seconds: Option<f64>,
    /// Fault start to the first notification delivered.
    pub time_to_notify_seconds: Option<f64>,
    /// Fault start to the loss no longer growing.
    pub time_to_stop_loss_seconds: Option<f64>,
    /// Faults' end to the steady state holding again.
    pub time_to_recover_seconds: Option<f64>,
    /// Money that did not end where it belongs: the ledger's imbalance plus reconciliation's
    /// differences.
    pub money_lost: f64,
    /// The money of the payments that failed during the drill (refused, not lost).
    pub failed_amount: f64,
    /// Reconciliation's differences over the drill's window.
    pub reconciliation_differences: u64,
    /// 0 to 100: each of detect, stop-loss and recover scores its target over its time
    /// (capped at 1); the mean, times 100; 0 when money was lost.
    pub score: f64,
    /// The timeline it was judged on.
    pub timeline: Timeline,
    /// The money proof it was judged on.
    pub money: MoneyProof,
    /// How much the loss grew after it stopped (probes into a still-broken dependency,
    /// relapses).
    pub loss_after_stop: f64,
    /// The loss counter as sampled, `(Unix ms, value)`.
    pub loss: Vec<(i64, f64)>,
}

/// Money differences below this are rounding, not loss.
const CENT: f64 = 0.005;

fn seconds(from: i64, to: Option<i64>) -> Option<f64> {
    to.map(|t| (t - from).max(0) as f64 / 1000.0)
}

/// Judges a drill run.
pub fn judge(spec: &DrillSpec, timeline: Timeline, money: MoneyProof) -> DrillReport {
    let start = timeline.fault_start_ms;
    let ttd = seconds(start, timeline.detected_ms);
    let ttn = seconds(start, timeline.notified_ms);
    let tts = seconds(start, timeline.loss_stopped_ms);
    let ttr = timeline
        .faults_end_ms
        .and_then(|end| seconds(end, timeline.recovered_ms));
    let t = &spec.targets;
    let mut reasons = Vec::new();
    if let Some(why) = &timeline.aborted {
        reasons.push(format!("aborted: {why}"));
    }
    let mut timed = |what: &str, took: Option<f64>, target: std::time::Duration, missing: &str| {
        let target = target.as_secs_f64();
        match took {
            None => reasons.push(missing.to_string()),
            Some(s) if s > target => {
                reasons.push(format!("{what} took {s:.1}s, target {target:.0}s"))
            }
            Some(_) => {}
        }
        took.map_or(0.0, |s| if s <= 0.0 { 1.0 } else { (target / s).min(1.0) })
    };
    let alert = if spec.expect.alert.is_empty() {
        "an alert"
    } else {
        spec.expect.alert.as_str()
    };
    let detect = timed(
        "detection",
        ttd,
        t.detect,
        &format!("not detected: {alert} never fired"),
    );
    let stop = timed(
        "stopping the loss",
        tts,
        t.stop_loss,
        "the loss never stopped growing",
    );
    let recover = timed(
        "recovery",
        ttr,
        t.recover,
        "not recovered: the steady state never held again",
    );
    if spec.expect.action.is_some() && timeline.action_ms.is_none() {
        let a = spec
            .expect
            .action
            .as_ref()
            .map(|a| format!("{}/{} {}", a.service, a.guard, a.state));
        reasons.push(format!(
            "the expected action never happened: {}",
            a.unwrap_or_default()
        ));
    }
    let money_lost = money.ledger_imbalance.abs() + money.reconciliation_difference_amount.abs();
    money_reasons(&money, &mut reasons);
    let score = if money_lost > CENT {
        0.0
    } else {
        (detect + stop + recover) / 3.0 * 100.0
    };
    DrillReport {
        drill: spec.name.clone(),
        injected_service: injected(spec),
        root_cause: None,
        verdict: if reasons.is_empty() {
            Verdict::Pass
        } else {
            Verdict::Fail
        },
        reasons,
        time_to_detect_seconds: ttd,
        time_to_notify_seconds: ttn,
        time_to_stop_loss_seconds: tts,
        time_to_recover_seconds: ttr,
        money_lost: if money_lost > CENT { money_lost } else { 0.0 },
        failed_amount: money.failed_amount,
        reconciliation_differences: money.reconciliation_differences,
        score: (score * 10.0).round() / 10.0,
        timeline,
        money,
        loss_after_stop: 0.0,
        loss: Vec::new(),
    }
}

/// The report of a drill that could not start (its faults were never armed).
pub fn not_run(spec: &DrillSpec, why: String) -> DrillReport {
    DrillReport {
        drill: spec.name.clone(),
        injected_service: injected(spec),
        root_cause: None,
        verdict: Verdict::Fail,
        reasons: vec![why],
        time_to_detect_seconds: None,
        time_to_notify_seconds: None,
        time_to_stop_loss_seconds: None,
        time_to_recover_seconds: None,
        money_lost: 0.0,
        failed_amount: 0.0,
        reconciliation_differences: 0,
        score: 0.0,
        timeline: Timeline::default(),
        money: MoneyProof::default(),
        loss_after_stop: 0.0,
        loss: Vec::new(),
    }
}

fn money_reasons(m: &MoneyProof, reasons: &mut Vec<String>) {
    if m.ledger_imbalance.abs() > CENT {
        reasons.push(format!(
            "the ledger is out of balance by {:.2}",
            m.ledger_imbalance
        ));
    }
    if m.paid_twice > 0 {
        reasons.push(format!("{} payment(s) paid twice", m.paid_twice));
    }
    if m.open_payments > 0 {
        reasons.push(format!(
            "money in flight is not back to its baseline: {} payment(s) worth {:.2} made during the drill are still not final",
            m.open_payments, m.open_amount
        ));
    }
    if m.compensation_backlog > 0 {
        reasons.push(format!(
            "compensation still holds {} transfer(s)",
            m.compensation_backlog
        ));
    }
    if !m.reconciled {
        reasons.push("reconciliation could not run over the drill's window".to_string());
    }
    if m.reconciliation_differences > 0 {
        reasons.push(format!(
            "reconciliation found {} difference(s) worth {:.2}",
            m.reconciliation_differences, m.reconciliation_difference_amount
        ));
    }
}

/// Where the faults went: the first fault's bank channel or service.
/// The root-cause ranking of a drill's alert against what the faults hit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RootCauseCheck {
    /// The names that count as the right answer (`expect.root_cause`, or the injected
    /// service).
    pub expected: Vec<String>,
    /// The ranking, most likely first.
    pub ranking: Vec<String>,
    /// Where the first right answer stands (1 is first); `None`: not ranked at all.
    pub rank: Option<usize>,
}

impl RootCauseCheck {
    /// Scores `ranking` against what `spec` says the cause is.
    pub fn new(spec: &DrillSpec, ranking: Vec<String>) -> Self {
        let expected = if spec.expect.root_cause.is_empty() {
            vec![injected(spec)]
        } else {
            spec.expect.root_cause.clone()
        };
        let rank = ranking
            .iter()
            .position(|name| expected.iter().any(|e| same_suspect(name, e)))
            .map(|i| i + 1);
        RootCauseCheck {
            expected,
            ranking,
            rank,
        }
    }
}

/// Whether a ranked name (`ledger`, `compensation → ledger`) is the expected one (calls may
/// be written `a->b`).
fn same_suspect(ranked: &str, expected: &str) -> bool {
    let norm = |s: &str| s.replace(" → ", "->").replace('→', "->");
    norm(ranked) == norm(expected)
}

fn injected(spec: &DrillSpec) -> String {
    spec.faults
        .first()
        .map(
            |f| match (f.scope.service.as_str(), f.scope.channel.as_str()) {
                (_, channel) if !channel.is_empty() => channel.to_string(),
                (service, _) => service.to_string(),
            },
        )
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drill::spec::parse_drill;

    fn outage() -> DrillSpec {
        parse_drill(
            "o.yaml",
            include_str!("../../../drills/bank-channel-outage.yaml"),
        )
        .unwrap()
    }

    fn clean() -> MoneyProof {
        MoneyProof {
            reconciled: true,
            ..MoneyProof::default()
        }
    }

    fn timeline() -> Timeline {
        let t0 = 1_000_000;
        Timeline {
            fault_start_ms: t0,
            detected_ms: Some(t0 + 20_000),
            notified_ms: Some(t0 + 31_000),
            action_ms: Some(t0 + 21_000),
            loss_stopped_ms: Some(t0 + 45_000),
            faults_end_ms: Some(t0 + 180_000),
            recovered_ms: Some(t0 + 240_000),
            aborted: None,
            ..Timeline::default()
        }
    }

    #[test]
    fn a_drill_within_its_targets_with_clean_books_passes() {
        let r = judge(
            &outage(),
            timeline(),
            MoneyProof {
                failed_amount: 1234.5,
                ..clean()
            },
        );
        assert_eq!(r.verdict, Verdict::Pass, "{:?}", r.reasons);
        assert_eq!(
            (
                r.time_to_detect_seconds,
                r.time_to_notify_seconds,
                r.time_to_stop_loss_seconds,
                r.time_to_recover_seconds
            ),
            (Some(20.0), Some(31.0), Some(45.0), Some(60.0))
        );
        assert_eq!(
            (r.money_lost, r.failed_amount, r.score),
            (0.0, 1234.5, 100.0)
        );
        assert_eq!(r.injected_service, "bank-a");
        let json = serde_json::to_value(&r).unwrap();
        for field in [
            "verdict",
            "time_to_detect_seconds",
            "time_to_notify_seconds",
            "time_to_stop_loss_seconds",
            "time_to_recover_seconds",
            "money_lost",
            "failed_amount",
            "reconciliation_differences",
        ] {
            assert!(json.get(field).is_some(), "{field}");
        }
        assert_eq!(json["verdict"], "pass");
    }

    #[test]
    fn an_undetected_drill_fails_with_not_detected() {
        let t = Timeline {
            detected_ms: None,
            ..timeline()
        };
        let r = judge(&outage(), t, clean());
        assert_eq!(r.verdict, Verdict::Fail);
        assert_eq!(r.reasons, ["not detected: BankChannelFailing never fired"]);
        assert!((r.score - 66.7).abs() < 0.01, "{}", r.score);
    }

    #[test]
    fn slow_responses_score_their_target_over_their_time() {
        let t0 = 1_000_000;
        let t = Timeline {
            detected_ms: Some(t0 + 60_000),
            recovered_ms: Some(t0 + 180_000 + 240_000),
            ..timeline()
        };
        let r = judge(&outage(), t, clean());
        assert_eq!(
            r.reasons,
            [
                "detection took 60.0s, target 30s",
                "recovery took 240.0s, target 120s"
            ]
        );
        assert!((r.score - 66.7).abs() < 0.01, "{}", r.score);
    }

    #[test]
    fn lost_money_fails_the_proof_with_the_exact_amount_and_zeroes_the_score() {
        let money = MoneyProof {
            ledger_imbalance: 0.0,
            paid_twice: 1,
            in_flight_baseline: 100.0,
            in_flight_after: 5100.0,
            open_payments: 2,
            open_amount: 5000.0,
            reconciled: true,
            compensation_backlog: 3,
            reconciliation_differences: 2,
            reconciliation_difference_amount: 5000.0,
            failed_amount: 9000.0,
        };
        let r = judge(&outage(), timeline(), money);
        assert_eq!(r.verdict, Verdict::Fail);
        assert_eq!(r.money_lost, 5000.0);
        assert_eq!(r.score, 0.0);
        assert_eq!(
            r.reasons,
            [
                "1 payment(s) paid twice",
                "money in flight is not back to its baseline: 2 payment(s) worth 5000.00 made during the drill are still not final",
                "compensation still holds 3 transfer(s)",
                "reconciliation found 2 difference(s) worth 5000.00",
            ]
        );
    }

    #[test]
    fn an_aborted_drill_says_why_and_a_missing_action_is_named() {
        let t = Timeline {
            aborted: Some("the failed amount passed the cap of 500000".into()),
            action_ms: None,
            ..timeline()
        };
        let r = judge(&outage(), t, clean());
        assert_eq!(
            r.reasons,
            [
                "aborted: the failed amount passed the cap of 500000",
                "the expected action never happened: payment/bank-a open"
            ]
        );
    }
}
