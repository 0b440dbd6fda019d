//! Restoring alerts' `for` state after a restart, as Prometheus does: an alert that was
//! pending keeps the time it already spent pending (shifted by the downtime), one that was
//! firing fires again at once, and one close to firing gets at least a grace period.

use std::time::Duration;

use taishan_core::{is_stale_marker, TenantId};
use taishan_store::{Matcher, Tsdb};

use crate::alerting::for_state_labels;
use crate::group::Group;

/// Prometheus's `--rules.alert.for-outage-tolerance` default: state older than this is not
/// restored.
pub const OUTAGE_TOLERANCE: Duration = Duration::from_secs(3600);
/// Prometheus's `--rules.alert.for-grace-period` default.
pub const FOR_GRACE_PERIOD: Duration = Duration::from_secs(600);

/// Restores the `for` state of `group`'s pending alerts from `ALERTS_FOR_STATE` in `db`,
/// then marks every alerting rule restored. Called after the group's second evaluation
/// following a start, so its alerts exist again.
pub fn restore_for_state(
    group: &mut Group,
    db: &Tsdb,
    now_ms: i64,
    outage_tolerance: Duration,
    grace: Duration,
) {
    let tenant: TenantId = group.tenant.clone();
    let min_t = now_ms - outage_tolerance.as_millis() as i64;
    let grace_ms = grace.as_millis() as i64;
    for rule in group.alerting_rules_mut() {
        let hold_ms = rule.hold().as_millis() as i64;
        if hold_ms < grace_ms {
            // Waiting the grace period would be longer than the rule's own `for`.
            rule.set_restored();
            continue;
        }
        for alert in rule.alerts_mut() {
            let labels = for_state_labels(&alert.labels);
            let matchers: Vec<Matcher> = labels
                .iter()
                .map(|l| Matcher::equal(l.name, l.value))
                .collect();
            let series = match db.select(&tenant, &matchers, min_t, now_ms) {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(alert = %alert.name(), error = %e, "could not read the 'for' state to restore");
                    continue;
                }
            };
            let Some(last) = series
                .iter()
                .find(|s| s.labels == labels)
                .and_then(|s| s.samples.last())
            else {
                continue;
            };
            if is_stale_marker(last.value) {
                continue;
            }
            // Both in whole seconds, as Prometheus reads them.
            let down_at_ms = last.timestamp_ms.div_euclid(1000) * 1000;
            let was_active_ms = (last.value as i64) * 1000;
            let remaining = hold_ms - (down_at_ms - was_active_ms);
            let restored = if remaining <= 0 {
                was_active_ms
            } else if remaining < grace_ms {
                now_ms + grace_ms - hold_ms
            } else {
                was_active_ms + (now_ms - down_at_ms)
            };
            tracing::debug!(alert = %alert.name(), labels = %alert.labels, active_at_ms = restored, "'for' state restored");
            alert.active_at_ms = restored;
        }
        rule.set_restored();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::alert::AlertState;
    use crate::file::RuleFile;
    use crate::group::{EvalEnv, Group, Rule};
    use crate::unittest::harness::Harness;
    use crate::unittest::spec::InputSeries;

    const RULES: &str = "groups:\n  - name: g\n    rules:\n      - alert: Slow\n        expr: up == 0\n        for: 20m\n      - alert: Quick\n        expr: up == 0\n        for: 1m\n";

    fn alert<'a>(g: &'a Group, name: &str) -> &'a crate::alert::Alert {
        g.rules()
            .find_map(|(_, r, _)| match r {
                Rule::Alerting(a) if a.name() == name => a.alerts().next(),
                _ => None,
            })
            .expect("the alert exists")
    }

    /// `up` is 0 throughout. A first process evaluates every minute up to `down_after`; a
    /// second starts at `back`, evaluates twice and restores, as Prometheus does; the second
    /// process is returned with the store it reads.
    fn restart(down_after: i64, back: i64) -> (Group, Harness) {
        let h = Harness::new(Duration::from_secs(60)).expect("store");
        h.load(
            &[InputSeries {
                series: "up{job=\"api\"}".into(),
                values: "0x200".into(),
            }],
            Duration::from_secs(60),
        )
        .expect("load");
        let file = RuleFile::parse("r.yaml", RULES).expect("rules");
        let labels = Default::default();
        let min = 60_000;
        let mut after = Group::new("r.yaml", &file.groups[0], Duration::from_secs(60), false);
        {
            let env = EvalEnv {
                engine: &h.engine,
                writer: &h,
                external_labels: &labels,
                external_url: "",
            };
            let mut before = Group::new("r.yaml", &file.groups[0], Duration::from_secs(60), true);
            for m in 0..=down_after {
                before.eval(m * min, &env);
            }
            after.eval(back * min, &env);
            after.eval((back + 1) * min, &env);
        }
        restore_for_state(
            &mut after,
            h.db(),
            (back + 1) * min,
            OUTAGE_TOLERANCE,
            Duration::from_secs(5 * 60),
        );
        (after, h)
    }

    const MIN: i64 = 60_000;

    #[test]
    fn a_pending_alert_keeps_the_time_it_spent_pending() {
        // Pending minutes 0–8, down until 10, restored at 11: shifted by the 3 minutes down.
        let (g, _h) = restart(8, 10);
        let slow = alert(&g, "Slow");
        assert_eq!(slow.active_at_ms, 3 * MIN);
        assert_eq!(slow.state, AlertState::Pending);
        assert!(g.rules().all(|(_, r, _)| match r {
            Rule::Alerting(a) => a.is_restored(),
            Rule::Recording(_) => true,
        }));
        // A `for` shorter than the grace period is not restored: it starts over.
        assert_eq!(alert(&g, "Quick").active_at_ms, 10 * MIN);
    }

    #[test]
    fn an_alert_close_to_firing_gets_the_grace_period() {
        // 17 of 20 minutes spent when it went down: restored at 21 it fires at 21 + 5.
        let (g, _h) = restart(17, 20);
        assert_eq!(alert(&g, "Slow").active_at_ms, (21 + 5 - 20) * MIN);
    }

    #[test]
    fn a_firing_alert_fires_again_at_once() {
        let (mut g, h) = restart(25, 30);
        assert_eq!(alert(&g, "Slow").active_at_ms, 0, "firing since minute 20");
        let labels = Default::default();
        let env = EvalEnv {
            engine: &h.engine,
            writer: &h,
            external_labels: &labels,
            external_url: "",
        };
        g.eval(32 * MIN, &env);
        assert_eq!(alert(&g, "Slow").state, AlertState::Firing);
    }

    #[test]
    fn state_older_than_the_outage_tolerance_is_not_restored() {
        let (g, _h) = restart(8, 80);
        assert_eq!(alert(&g, "Slow").active_at_ms, 80 * MIN);
    }
}
