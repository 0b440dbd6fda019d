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
