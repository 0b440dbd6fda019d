//! Faults that take a machine's resources while they are armed: `cpu_burn` (threads that
//! keep cores busy for a share of each 10 ms) and `memory` (a block of memory allocated and
//! touched, so it is resident). The demo's services share one process, so the load is felt
//! by all of them: the scope names the service the drill is about.
//!
//! Each watches its own lease: it stops within 100 ms of being disarmed or of its lease
//! running out, even if no request ever asks the fault set again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde::Deserialize;
use taishan_core::config::ByteSize;

use super::{params, Fault, Running, Start, Stop};

/// The most cores a burn may take: a drill must not take the machine from the platform.
const MAX_CORES: u32 = 8;
/// The most memory a drill may hold.
const MAX_MEMORY: u64 = 8 << 30;
/// How often a burn or a held block looks at its lease.
const WATCH: Duration = Duration::from_millis(100);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BurnParams {
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
struct Burn(BurnParams);

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

pub(super) fn build_burn(v: &serde_json::Value) -> Result<Arc<dyn Fault>, String> {
    let p: BurnParams = params(v)?;
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MemoryParams {
    size: ByteSize,
}

#[derive(Debug)]
struct Memory(u64);

impl Fault for Memory {
    fn start(&self, at: Start<'_>) -> Result<Option<Box<dyn Running>>, String> {
        let lease = at.lease;
        let held = Arc::new(Mutex::new(Some(touched(self.0))));
        let stop = Arc::new(AtomicBool::new(false));
        let (freed, done) = (held.clone(), stop.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) && lease.live() {
                std::thread::sleep(WATCH);
            }
            freed.lock().take();
        });
        Ok(Some(Box::new(Stop(stop))))
    }
}

/// `size` bytes, every page written so the memory is resident, not merely reserved.
fn touched(size: u64) -> Vec<u8> {
    let mut block = vec![0u8; size as usize];
    for i in (0..block.len()).step_by(4096) {
        block[i] = 1;
    }
    block
}

pub(super) fn build_memory(v: &serde_json::Value) -> Result<Arc<dyn Fault>, String> {
    let p: MemoryParams = params(v)?;
    let size = p.size.bytes();
    if size == 0 || size > MAX_MEMORY {
        return Err(format!(
            "size must be above 0 and at most 8GiB, got {size} bytes"
        ));
    }
    Ok(Arc::new(Memory(size)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Lease, Modules, Scope};
    use std::sync::atomic::AtomicI64;
    use taishan_core::{Clock, ManualClock};

    fn lease(clock: &Arc<ManualClock>, for_ms: i64) -> Lease {
        Lease::new(
            Arc::new(AtomicI64::new(clock.now_ms() + for_ms)),
            clock.clone(),
        )
    }

    #[test]
    fn impossible_resource_faults_are_refused_by_name() {
        let e = build_burn(&serde_json::json!({"cores": 99})).unwrap_err();
        assert!(e.contains("cores must be 1 to 8"), "{e}");
        let e = build_burn(&serde_json::json!({"share": 0})).unwrap_err();
        assert!(e.contains("share"), "{e}");
        let e = build_memory(&serde_json::json!({"size": "1TiB"})).unwrap_err();
        assert!(e.contains("at most 8GiB"), "{e}");
        assert!(build_memory(&serde_json::json!({})).is_err());
    }

    #[test]
    fn a_burn_stops_when_dropped_and_when_its_lease_runs_out() {
        let clock = Arc::new(ManualClock::at(1_000));
        let burn = build_burn(&serde_json::json!({"cores": 1, "share": 0.1})).unwrap();
        let l = lease(&clock, 10_000);
        let start = |lease: &Lease| {
            burn.start(Start {
                lease: lease.clone(),
                scope: &Scope::default(),
                modules: &Modules::default(),
            })
            .unwrap()
        };
        let running = start(&l).unwrap();
        assert!(l.live());
        drop(running);
        // A lease that runs out stops it too, with nobody dropping anything.
        let l = lease(&clock, 10_000);
        let _running = start(&l).unwrap();
        clock.advance(Duration::from_secs(11));
        assert!(!l.live());
    }

    #[test]
    fn a_memory_block_is_resident_while_held() {
        let block = touched(1 << 20);
        assert_eq!(block.len(), 1 << 20);
        assert_eq!(block.iter().filter(|b| **b == 1).count(), 256);
    }
}
