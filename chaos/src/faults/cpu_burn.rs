//! `cpu_burn`: threads that keep `cores` cores busy for `share` of each 10 ms while armed.
//! The demo's services share one process, so the load is felt by all of them: the scope
//! names the service the drill is about. A burn watches its own lease: it stops within a
//! cycle of being disarmed or of its lease running out.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::{params, Fault, FaultKind, Running, Start, Stop};

/// The most cores a burn may take: a drill must not take the machine from the platform.
const MAX_CORES: u32 = 8;

/// `cpu_burn` in the registry.
pub(super) const KIND: FaultKind = FaultKind {
    name: "cpu_burn",
    what: "keeps `cores` cores busy for `share` of their time (1 core, all of it, by default)",
    build,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    #[serde(default = "one")]
    cores: u32,
    #[serde(default = "full")]
    share: f64,
}

fn one() -> u32 {
    1
}
fn full() -> f64 {
    1.0
}

#[derive(Debug)]
struct Burn(Params);

impl Fault for Burn {
    fn start(&self, at: Start<'_>) -> Result<Option<Box<dyn Running>>, String> {
        let lease = at.lease;
        let stop = Arc::new(AtomicBool::new(false));
        let busy = Duration::from_millis(10).mul_f64(self.0.share);
        let idle = Duration::from_millis(10) - busy;
        for _ in 0..self.0.cores {
            let (stop, lease) = (stop.clone(), lease.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) && lease.live() {
                    let from = std::time::Instant::now();
                    while from.elapsed() < busy {
                        std::hint::spin_loop();
                    }
                    std::thread::sleep(idle);
                }
            });
        }
        Ok(Some(Box::new(Stop(stop))))
    }
}

fn build(v: &serde_json::Value) -> Result<Arc<dyn Fault>, String> {
    let p: Params = params(v)?;
    if !(1..=MAX_CORES).contains(&p.cores) {
        return Err(format!("cores must be 1 to {MAX_CORES}, got {}", p.cores));
    }
    if !(p.share > 0.0 && p.share <= 1.0) {
        return Err(format!(
            "share is of each core's time, above 0 and at most 1; got {}",
            p.share
        ));
    }
    Ok(Arc::new(Burn(p)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::lease_for;
    use crate::{Modules, Scope};
    use taishan_core::ManualClock;

    #[test]
    fn impossible_burns_are_refused_by_name() {
        let e = build(&serde_json::json!({"cores": 99})).unwrap_err();
        assert!(e.contains("cores must be 1 to 8"), "{e}");
        let e = build(&serde_json::json!({"share": 0})).unwrap_err();
        assert!(e.contains("share"), "{e}");
    }

    #[test]
    fn a_burn_stops_when_dropped_and_when_its_lease_runs_out() {
        let clock = Arc::new(ManualClock::at(1_000));
        let burn = build(&serde_json::json!({"cores": 1, "share": 0.1})).unwrap();
        let start = |lease: &crate::Lease| {
            burn.start(Start {
                lease: lease.clone(),
                scope: &Scope::default(),
                modules: &Modules::default(),
            })
            .unwrap()
        };
        let l = lease_for(&clock, 10_000);
        let running = start(&l).unwrap();
        assert!(l.live());
        drop(running);
        // A lease that runs out stops it too, with nobody dropping anything.
        let l = lease_for(&clock, 10_000);
        let _running = start(&l).unwrap();
        clock.advance(Duration::from_secs(11));
        assert!(!l.live());
    }
}
