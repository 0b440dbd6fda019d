//! `bank_slow`: a slow bank channel: acceptance takes `latency`, settlement `settle_after`.
//! Scope it with `service: banks` and the channel.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::{params, Fault, FaultKind};
use crate::ChannelProfile;

/// `bank_slow` in the registry.
pub(super) const KIND: FaultKind = FaultKind {
    name: "bank_slow",
    what: "a slow bank channel: acceptance takes `latency`, settlement `settle_after`",
    build,
};

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

fn build(v: &serde_json::Value) -> Result<Arc<dyn Fault>, String> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::channel_under;

    #[test]
    fn a_slow_channel_changes_only_its_timings() {
        let base = channel_under(None);
        let slow = channel_under(Some((build, serde_json::json!({"latency": "3s"}))));
        assert_eq!(
            (slow.latency, slow.settle_after),
            (Duration::from_secs(3), base.settle_after)
        );
        assert!(build(&serde_json::json!({}))
            .unwrap_err()
            .contains("needs latency"));
        assert!(build(&serde_json::json!({"latency": "1h"}))
            .unwrap_err()
            .contains("at most 5m"));
    }
}
