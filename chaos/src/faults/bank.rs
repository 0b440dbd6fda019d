//! Faults of a bank channel itself, as the simulated banks play them: an outage (transfers
//! accepted then failed, or refused outright), a slowdown (slow acceptance and settlement),
//! and result callbacks lost, late or duplicated. Scope them with `service: banks` and the
//! channel; the bank reads its behaviour through them for every transfer.

use std::sync::Arc;
use std::time::Duration;

use crate::ChannelProfile;
use serde::Deserialize;

use super::{params, Fault};

/// How a channel is down.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum OutageMode {
    /// Transfers are accepted and end failed: money is refused after the fact.
    Fail,
    /// Transfers are refused with 503 before the bank records them.
    Refuse,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OutageParams {
    #[serde(default = "fail")]
    mode: OutageMode,
}

fn fail() -> OutageMode {
    OutageMode::Fail
}

#[derive(Debug)]
struct Outage(OutageMode);

impl Fault for Outage {
    fn bank_channel(&self, p: &mut ChannelProfile) {
        match self.0 {
            OutageMode::Fail => p.failure_rate = 1.0,
            OutageMode::Refuse => p.error_rate = 1.0,
        }
    }
}

pub(super) fn build_outage(v: &serde_json::Value) -> Result<Arc<dyn Fault>, String> {
    let p: OutageParams = params(v)?;
    Ok(Arc::new(Outage(p.mode)))
}

/// Slower than this and a drill is not testing slowness any more.
const MAX_SLOW: Duration = Duration::from_secs(300);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SlowParams {
    #[serde(default, with = "humantime_serde")]
    latency: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    settle_after: Option<Duration>,
}

#[derive(Debug)]
struct Slow {
    latency: Option<Duration>,
    settle_after: Option<Duration>,
}

impl Fault for Slow {
    fn bank_channel(&self, p: &mut ChannelProfile) {
        if let Some(l) = self.latency {
            p.latency = l;
        }
        if let Some(s) = self.settle_after {
            p.settle_after = s;
        }
    }
}

pub(super) fn build_slow(v: &serde_json::Value) -> Result<Arc<dyn Fault>, String> {
    let p: SlowParams = params(v)?;
    if p.latency.is_none() && p.settle_after.is_none() {
        return Err("needs latency, settle_after or both".into());
    }
    for (name, d) in [("latency", p.latency), ("settle_after", p.settle_after)] {
        if d.is_some_and(|d| d > MAX_SLOW) {
            return Err(format!("{name} must be at most 5m"));
        }
    }
    Ok(Arc::new(Slow {
        latency: p.latency,
        settle_after: p.settle_after,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CallbackParams {
    #[serde(default)]
    lost: f64,
    #[serde(default)]
    duplicated: f64,
    #[serde(default, with = "humantime_serde")]
    late: Option<Duration>,
}

#[derive(Debug)]
struct Callbacks(CallbackParams);

impl Fault for Callbacks {
    fn bank_channel(&self, p: &mut ChannelProfile) {
        p.callback_loss_rate = p.callback_loss_rate.max(self.0.lost);
        p.callback_duplicate_rate = p.callback_duplicate_rate.max(self.0.duplicated);
        if let Some(late) = self.0.late {
            p.callback_delay = late;
        }
    }
}

pub(super) fn build_callbacks(v: &serde_json::Value) -> Result<Arc<dyn Fault>, String> {
    let p: CallbackParams = params(v)?;
    for (name, share) in [("lost", p.lost), ("duplicated", p.duplicated)] {
        if !(0.0..=1.0).contains(&share) {
            return Err(format!("{name} is a share, 0 to 1; got {share}"));
        }
    }
    if p.lost == 0.0 && p.duplicated == 0.0 && p.late.is_none() {
        return Err("needs lost, duplicated or late".into());
    }
    if p.late.is_some_and(|d| d > MAX_SLOW) {
        return Err("late must be at most 5m".into());
    }
    Ok(Arc::new(Callbacks(p)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile() -> ChannelProfile {
        serde_json::from_value(serde_json::json!({"name": "bank-a"})).unwrap()
    }

    fn applied(
        build: fn(&serde_json::Value) -> Result<Arc<dyn Fault>, String>,
        v: serde_json::Value,
    ) -> ChannelProfile {
        let mut p = profile();
        build(&v).unwrap().bank_channel(&mut p);
        p
    }

    #[test]
    fn each_bank_fault_changes_only_its_part_of_the_channel() {
        let base = profile();
        let down = applied(build_outage, serde_json::json!({}));
        assert_eq!((down.failure_rate, down.error_rate), (1.0, base.error_rate));
        let refusing = applied(build_outage, serde_json::json!({"mode": "refuse"}));
        assert_eq!(
            (refusing.failure_rate, refusing.error_rate),
            (base.failure_rate, 1.0)
        );
        let slow = applied(build_slow, serde_json::json!({"latency": "3s"}));
        assert_eq!(
            (slow.latency, slow.settle_after),
            (Duration::from_secs(3), base.settle_after)
        );
        let lost = applied(
            build_callbacks,
            serde_json::json!({"lost": 1.0, "late": "20s"}),
        );
        assert_eq!(
            (
                lost.callback_loss_rate,
                lost.callback_delay,
                lost.callback_duplicate_rate
            ),
            (1.0, Duration::from_secs(20), base.callback_duplicate_rate)
        );
    }

    #[test]
    fn impossible_bank_faults_are_refused_by_name() {
        assert!(build_outage(&serde_json::json!({"mode": "melt"})).is_err());
        assert!(build_slow(&serde_json::json!({}))
            .unwrap_err()
            .contains("needs latency"));
        let e = build_callbacks(&serde_json::json!({"lost": 2.0})).unwrap_err();
        assert!(e.contains("lost is a share"), "{e}");
        assert!(build_slow(&serde_json::json!({"latency": "1h"}))
            .unwrap_err()
            .contains("at most 5m"));
    }
}
