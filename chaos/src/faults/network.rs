//! Network faults, acted out by a fault proxy ([`crate::proxy`]) on the data crossing it:
//! `net_latency` (each chunk held `delay`, ± `jitter`), `net_bandwidth` (at most `rate` bytes
//! a second each way), `net_reset` (the connection reset, both sides) and `net_blackhole`
//! (everything swallowed: connections stay open and nothing arrives, as a dropped route).
//! The scope's service is the proxy's name (`payment-ledger`).

use std::sync::Arc;
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::Rng;
use serde::Deserialize;
use taishan_core::config::ByteSize;

use super::{params, Fault};

/// What a network fault does to a chunk of data crossing a fault proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkEffect {
    /// Passed on after this long.
    Delay(Duration),
    /// Passed on no faster than this many bytes a second.
    Throttle(u64),
    /// The connection is reset, both sides.
    Reset,
    /// Dropped; the connection stays open.
    Blackhole,
}

/// The longest a chunk may be held: past this it is a blackhole.
const MAX_DELAY: Duration = Duration::from_secs(60);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LatencyParams {
    #[serde(with = "humantime_serde")]
    delay: Duration,
    #[serde(default, with = "humantime_serde")]
    jitter: Duration,
}

#[derive(Debug)]
struct NetLatency(LatencyParams);

impl Fault for NetLatency {
    fn link(&self, rng: &mut SmallRng) -> Option<LinkEffect> {
        let LatencyParams { delay, jitter } = self.0;
        let spread = jitter.as_secs_f64();
        let drawn = delay.as_secs_f64() + rng.random_range(-spread..=spread);
        Some(LinkEffect::Delay(Duration::from_secs_f64(drawn.max(0.0))))
    }
}

pub(super) fn build_latency(v: &serde_json::Value) -> Result<Arc<dyn Fault>, String> {
    let p: LatencyParams = params(v)?;
    if p.delay + p.jitter > MAX_DELAY {
        return Err("delay plus jitter is at most 1m (longer is a blackhole)".into());
    }
    if p.jitter > p.delay {
        return Err("jitter must not exceed delay".into());
    }
    Ok(Arc::new(NetLatency(p)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BandwidthParams {
    rate: ByteSize,
}

#[derive(Debug)]
struct NetBandwidth(u64);

impl Fault for NetBandwidth {
    fn link(&self, _rng: &mut SmallRng) -> Option<LinkEffect> {
        Some(LinkEffect::Throttle(self.0))
    }
}

pub(super) fn build_bandwidth(v: &serde_json::Value) -> Result<Arc<dyn Fault>, String> {
    let p: BandwidthParams = params(v)?;
    match p.rate.bytes() {
        0 => Err("rate must be above 0 bytes a second (0 is a blackhole)".into()),
        rate => Ok(Arc::new(NetBandwidth(rate))),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoParams {}

#[derive(Debug)]
struct Fixed(LinkEffect);

impl Fault for Fixed {
    fn link(&self, _rng: &mut SmallRng) -> Option<LinkEffect> {
        Some(self.0)
    }
}

pub(super) fn build_reset(v: &serde_json::Value) -> Result<Arc<dyn Fault>, String> {
    params::<NoParams>(v)?;
    Ok(Arc::new(Fixed(LinkEffect::Reset)))
}

pub(super) fn build_blackhole(v: &serde_json::Value) -> Result<Arc<dyn Fault>, String> {
    params::<NoParams>(v)?;
    Ok(Arc::new(Fixed(LinkEffect::Blackhole)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use serde_json::json;

    #[test]
    fn each_network_fault_says_what_happens_to_the_data() {
        let mut rng = SmallRng::seed_from_u64(7);
        let fixed = build_latency(&json!({"delay": "200ms"})).unwrap();
        assert_eq!(
            fixed.link(&mut rng),
            Some(LinkEffect::Delay(Duration::from_millis(200)))
        );
        let jittery = build_latency(&json!({"delay": "200ms", "jitter": "50ms"})).unwrap();
        for _ in 0..100 {
            let Some(LinkEffect::Delay(d)) = jittery.link(&mut rng) else {
                panic!("a delay")
            };
            assert!((150..=250).contains(&d.as_millis()), "{d:?}");
        }
        let slow = build_bandwidth(&json!({"rate": "10KiB"})).unwrap();
        assert_eq!(slow.link(&mut rng), Some(LinkEffect::Throttle(10 << 10)));
        let reset = build_reset(&json!({})).unwrap();
        assert_eq!(reset.link(&mut rng), Some(LinkEffect::Reset));
        let hole = build_blackhole(&json!({})).unwrap();
        assert_eq!(hole.link(&mut rng), Some(LinkEffect::Blackhole));
        // None of them touches requests inside a service.
        assert_eq!(hole.inject(&mut rng), None);
    }

    #[test]
    fn impossible_network_faults_are_refused_by_name() {
        let e = build_latency(&json!({"delay": "2m"})).unwrap_err();
        assert!(e.contains("at most 1m"), "{e}");
        let e = build_latency(&json!({"delay": "10ms", "jitter": "20ms"})).unwrap_err();
        assert!(e.contains("jitter"), "{e}");
        let e = build_bandwidth(&json!({"rate": 0})).unwrap_err();
        assert!(e.contains("above 0"), "{e}");
        let e = build_reset(&json!({"after": "1s"})).unwrap_err();
        assert!(e.contains("after"), "{e}");
        assert!(build_latency(&json!({})).is_err());
    }
}
