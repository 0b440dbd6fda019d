//! `net_bandwidth`: a fault proxy passes at most `rate` bytes a second each way. The scope's
//! service is the proxy's name.

use std::sync::Arc;

use rand::rngs::SmallRng;
use serde::Deserialize;
use taishan_core::config::ByteSize;

use super::{params, Fault, FaultKind, LinkEffect};

/// `net_bandwidth` in the registry.
pub(super) const KIND: FaultKind = FaultKind {
    name: "net_bandwidth",
    what: "a fault proxy passes at most `rate` per second (e.g. 10KiB) each way",
    build,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    rate: ByteSize,
}

#[derive(Debug)]
struct NetBandwidth(u64);

impl Fault for NetBandwidth {
    fn link(&self, _rng: &mut SmallRng) -> Option<LinkEffect> {
        Some(LinkEffect::Throttle(self.0))
    }
}

fn build(v: &serde_json::Value) -> Result<Arc<dyn Fault>, String> {
    let p: Params = params(v)?;
    match p.rate.bytes() {
        0 => Err("rate must be above 0 bytes a second (0 is a blackhole)".into()),
        rate => Ok(Arc::new(NetBandwidth(rate))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use serde_json::json;

    #[test]
    fn data_is_throttled_to_the_rate_and_zero_is_refused() {
        let mut rng = SmallRng::seed_from_u64(7);
        let slow = build(&json!({"rate": "10KiB"})).unwrap();
        assert_eq!(slow.link(&mut rng), Some(LinkEffect::Throttle(10 << 10)));
        let e = build(&json!({"rate": 0})).unwrap_err();
        assert!(e.contains("above 0"), "{e}");
    }
}
