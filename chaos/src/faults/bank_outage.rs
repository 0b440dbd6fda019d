//! `bank_outage`: a bank channel down, as the simulated banks play it: transfers accepted
//! then failed (`mode: fail`), or refused with 503 before the bank records them
//! (`mode: refuse`). Scope it with `service: banks` and the channel.

use std::sync::Arc;

use serde::Deserialize;

use super::{params, Fault, FaultKind};
use crate::ChannelProfile;

/// `bank_outage` in the registry.
pub(super) const KIND: FaultKind = FaultKind {
    name: "bank_outage",
    what: "a bank channel down: transfers accepted then failed (mode: fail), or refused with 503 (mode: refuse)",
    build,
};

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

fn build(v: &serde_json::Value) -> Result<Arc<dyn Fault>, String> {
    let p: OutageParams = params(v)?;
    Ok(Arc::new(Outage(p.mode)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::channel_under;

    #[test]
    fn a_failing_channel_fails_or_refuses_and_nothing_else() {
        let base = channel_under(None);
        let down = channel_under(Some((build, serde_json::json!({}))));
        assert_eq!((down.failure_rate, down.error_rate), (1.0, base.error_rate));
        let refusing = channel_under(Some((build, serde_json::json!({"mode": "refuse"}))));
        assert_eq!(
            (refusing.failure_rate, refusing.error_rate),
            (base.failure_rate, 1.0)
        );
        assert!(build(&serde_json::json!({"mode": "melt"})).is_err());
    }
}
