//! `memory`: a block of `size` bytes allocated and touched while armed, so it is resident,
//! not merely reserved. The demo's services share one process, so all of them feel it. The
//! block watches its own lease: it is freed within 100 ms of being disarmed or of its lease
//! running out, even if no request ever asks the fault set again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde::Deserialize;
use taishan_core::config::ByteSize;

use super::{params, Fault, FaultKind, Running, Start, Stop};

/// The most memory a drill may hold.
const MAX_MEMORY: u64 = 8 << 30;
/// How often a held block looks at its lease.
const WATCH: Duration = Duration::from_millis(100);

/// `memory` in the registry.
pub(super) const KIND: FaultKind = FaultKind {
    name: "memory",
    what: "holds `size` of resident memory (e.g. 512MiB)",
    build,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
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

fn build(v: &serde_json::Value) -> Result<Arc<dyn Fault>, String> {
    let p: Params = params(v)?;
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

    #[test]
    fn impossible_sizes_are_refused_by_name() {
        let e = build(&serde_json::json!({"size": "1TiB"})).unwrap_err();
        assert!(e.contains("at most 8GiB"), "{e}");
        assert!(build(&serde_json::json!({})).is_err());
    }

    #[test]
    fn a_memory_block_is_resident_while_held() {
        let block = touched(1 << 20);
        assert_eq!(block.len(), 1 << 20);
        assert_eq!(block.iter().filter(|b| **b == 1).count(), 256);
    }
}
