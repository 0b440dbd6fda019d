//! `net_latency`: a fault proxy ([`crate::proxy`]) holds each chunk of data crossing it
//! `delay`, ± `jitter`, both ways. The scope's service is the proxy's name.

use std::sync::Arc;
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::Rng;
use serde::Deserialize;

use super::{params, Fault, FaultKind, LinkEffect};

/// `net_latency` in the registry.
pub(super) const KIND: FaultKind = FaultKind {
    name: "net_latency",
    what: "a fault proxy delays each chunk of data by `delay` (± `jitter`), both ways",
    build,
};

/// The longest a chunk may be held: past this it is a blackhole.
const MAX_DELAY: Duration = Duration::from_secs(60);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    #[serde(with = "humantime_serde")]
    delay: Duration,
    #[serde(default, with = "humantime_serde")]
    jitter: Duration,
}

#[derive(Debug)]
struct NetLatency(Params);

impl Fault for NetLatency {
    fn link(&self, rng: &mut SmallRng) -> Option<LinkEffect> {
        let Params { delay, jitter } = self.0;
        let spread = jitter.as_secs_f64();
        let drawn = delay.as_secs_f64() + rng.random_range(-spread..=spread);
        Some(LinkEffect::Delay(Duration::from_secs_f64(drawn.max(0.0))))
    }
}

fn build(v: &serde_json::Value) -> Result<Arc<dyn Fault>, String> {
    let p: Params = params(v)?;
    if p.delay + p.jitter > MAX_DELAY {
        return Err("delay plus jitter is at most 1m (longer is a blackhole)".into());
    }
    if p.jitter > p.delay {
        return Err("jitter must not exceed delay".into());
    }
    Ok(Arc::new(NetLatency(p)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use serde_json::json;

    #[test]
    fn each_chunk_is_held_the_delay_give_or_take_the_jitter() {
        let mut rng = SmallRng::seed_from_u64(7);
        let fixed = build(&json!({"delay": "200ms"})).unwrap();
        assert_eq!(
            fixed.link(&mut rng),
            Some(LinkEffect::Delay(Duration::from_millis(200)))
        );
        let jittery = build(&json!({"delay": "200ms", "jitter": "50ms"})).unwrap();
        for _ in 0..100 {
            let Some(LinkEffect::Delay(d)) = jittery.link(&mut rng) else {
                panic!("a delay")
            };
            assert!((150..=250).contains(&d.as_millis()), "{d:?}");
        }
        // It touches no request inside a service.
        assert_eq!(fixed.inject(&mut rng), None);
    }

    #[test]
    fn impossible_delays_are_refused_by_name() {
        let e = build(&json!({"delay": "2m"})).unwrap_err();
        assert!(e.contains("at most 1m"), "{e}");
        let e = build(&json!({"delay": "10ms", "jitter": "20ms"})).unwrap_err();
        assert!(e.contains("jitter"), "{e}");
        assert!(build(&json!({})).is_err());
    }
}
