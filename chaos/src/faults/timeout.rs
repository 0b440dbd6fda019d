//! `timeout`: requests are held (`after`, 30 s by default) and then answered 504, as an
//! upstream that accepted the connection and never answered; callers' own timeouts fire
//! first, as they would in production.

use std::sync::Arc;
use std::time::Duration;

use rand::rngs::SmallRng;
use serde::Deserialize;

use super::{params, Fault, FaultKind, Injection};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    #[serde(default = "half_a_minute", with = "humantime_serde")]
    after: Duration,
}

fn half_a_minute() -> Duration {
    Duration::from_secs(30)
}

/// `timeout` in the registry.
pub(super) const KIND: FaultKind = FaultKind {
    name: "timeout",
    what: "holds the request (30s by default), then answers 504",
    build,
};

fn build(v: &serde_json::Value) -> Result<Arc<dyn Fault>, String> {
    let p: Params = params(v)?;
    if p.after.is_zero() || p.after > Duration::from_secs(600) {
        return Err("after must be above 0 and at most 10m".into());
    }
    Ok(Arc::new(TimeoutFault(p.after)))
}

#[derive(Debug)]
struct TimeoutFault(Duration);

impl Fault for TimeoutFault {
    fn inject(&self, _: &mut SmallRng) -> Option<Injection> {
        Some(Injection::Hold(self.0))
    }
}
