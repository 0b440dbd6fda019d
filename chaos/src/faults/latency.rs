//! `latency`: requests are served late. Fixed (`delay: 200ms`), uniform between `min` and
//! `max`, or exponential around `mean` (a long tail, as a congested link has).

use std::sync::Arc;
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::Rng;
use serde::Deserialize;

use super::{params, Fault, FaultKind, Injection};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    #[serde(default, with = "humantime_serde")]
    delay: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    min: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    max: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    mean: Option<Duration>,
}

/// How the added latency is drawn.
#[derive(Debug)]
enum Latency {
    Fixed(Duration),
    Uniform(Duration, Duration),
    Exponential(Duration),
}

/// Longest latency a fault may add: past this it is a timeout fault.
const MAX: Duration = Duration::from_secs(300);

/// `latency` in the registry.
pub(super) const KIND: FaultKind = FaultKind {
    name: "latency",
    what: "adds latency: fixed (delay) or drawn between min and max, or around a mean",
    build,
};

fn build(v: &serde_json::Value) -> Result<Arc<dyn Fault>, String> {
    let p: Params = params(v)?;
    let latency = match (p.delay, p.min, p.max, p.mean) {
        (Some(d), None, None, None) => Latency::Fixed(d),
        (None, Some(min), Some(max), None) if min <= max => Latency::Uniform(min, max),
        (None, Some(_), Some(_), None) => return Err("min must not exceed max".into()),
        (None, None, None, Some(mean)) => Latency::Exponential(mean),
        _ => return Err("give delay, or min and max, or mean".into()),
    };
    let longest = match latency {
        Latency::Fixed(d) | Latency::Uniform(_, d) | Latency::Exponential(d) => d,
    };
    if longest > MAX {
        return Err(format!(
            "at most {} (longer is a timeout fault)",
            humantime::format_duration(MAX)
        ));
    }
    Ok(Arc::new(LatencyFault(latency)))
}

#[derive(Debug)]
struct LatencyFault(Latency);

impl Fault for LatencyFault {
    fn inject(&self, rng: &mut SmallRng) -> Option<Injection> {
        let delay = match self.0 {
            Latency::Fixed(d) => d,
            Latency::Uniform(min, max) => min + (max - min).mul_f64(rng.random::<f64>()),
            Latency::Exponential(mean) => {
                // Inverse transform; capped so one draw cannot hold a request for hours.
                let u: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
                mean.mul_f64(-u.ln()).min(MAX)
            }
        };
        Some(Injection::Delay(delay))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn delays(v: serde_json::Value, n: usize) -> Vec<Duration> {
        let f = build(&v).unwrap();
        let mut rng = SmallRng::seed_from_u64(7);
        (0..n)
            .map(|_| match f.inject(&mut rng) {
                Some(Injection::Delay(d)) => d,
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn drawn_latencies_stay_in_their_bounds_and_centre() {
        let uniform = delays(serde_json::json!({"min": "100ms", "max": "300ms"}), 2000);
        assert!(uniform.iter().all(|d| (100..=300).contains(&d.as_millis())));
        let mean = uniform.iter().sum::<Duration>() / 2000;
        assert!((190..=210).contains(&mean.as_millis()), "{mean:?}");
        let tail = delays(serde_json::json!({"mean": "100ms"}), 4000);
        let mean = tail.iter().sum::<Duration>() / 4000;
        assert!((90..=110).contains(&mean.as_millis()), "{mean:?}");
        assert!(
            tail.iter().any(|d| d.as_millis() > 300),
            "an exponential tail"
        );
    }

    #[test]
    fn impossible_parameters_are_refused() {
        for (v, why) in [
            (serde_json::json!({}), "give delay"),
            (
                serde_json::json!({"delay": "1s", "mean": "1s"}),
                "give delay",
            ),
            (
                serde_json::json!({"min": "2s", "max": "1s"}),
                "min must not exceed max",
            ),
            (serde_json::json!({"delay": "1h"}), "timeout fault"),
            (serde_json::json!({"delay": "soon"}), "soon"),
        ] {
            let e = build(&v).unwrap_err();
            assert!(e.contains(why), "{v}: {e}");
        }
    }
}
