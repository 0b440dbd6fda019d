//! `crash`: the scope's service module stops serving at once (new connections refused, open
//! ones cut, as a process killed) and comes back after `restart_after` (30 s by default), as
//! a supervisor restarts it. Disarming it early, or its lease running out, restarts it at
//! once: a drill never leaves a service down.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::{params, Fault, FaultKind, Running, Start, Stop};

/// How often the restart watch looks at the clock and the lease.
const WATCH: Duration = Duration::from_millis(50);
/// The longest a module may stay down: longer is an outage, not a crash and restart.
const MAX_DOWN: Duration = Duration::from_secs(3600);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    #[serde(default = "thirty_seconds", with = "humantime_serde")]
    restart_after: Duration,
}

fn thirty_seconds() -> Duration {
    Duration::from_secs(30)
}

#[derive(Debug)]
struct Crash(Params);

/// `crash` in the registry.
pub(super) const KIND: FaultKind = FaultKind {
    name: "crash",
    what: "crashes the scope's service module (connections refused and cut) and restarts it after `restart_after`",
    build,
};

fn build(v: &serde_json::Value) -> Result<Arc<dyn Fault>, String> {
    let p: Params = params(v)?;
    if p.restart_after > MAX_DOWN {
        return Err(format!(
            "restart_after is at most {}",
            humantime::format_duration(MAX_DOWN)
        ));
    }
    Ok(Arc::new(Crash(p)))
}

impl Fault for Crash {
    fn start(&self, at: Start<'_>) -> Result<Option<Box<dyn Running>>, String> {
        if at.scope.service.is_empty() {
            return Err("its scope must name the service to crash".into());
        }
        let module = at.modules.get(&at.scope.service)?;
        module.crash();
        tracing::warn!(service = %at.scope.service, restart_after = ?self.0.restart_after, "service module crashed");
        let done = Arc::new(AtomicBool::new(false));
        let (stop, lease, down_for) = (done.clone(), at.lease, self.0.restart_after);
        let service = at.scope.service.clone();
        // A thread, not a task: the restart must happen even when no runtime polls it.
        std::thread::spawn(move || {
            let from = Instant::now();
            while !stop.load(Ordering::Relaxed) && lease.live() && from.elapsed() < down_for {
                std::thread::sleep(WATCH);
            }
            module.restart();
            tracing::warn!(%service, down_ms = from.elapsed().as_millis() as u64, "service module restarted");
        });
        // Dropped (the fault reverted): the watch restarts the module at once.
        Ok(Some(Box::new(Stop(done))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Lease, Modules, Scope, ServiceModule};
    use std::sync::atomic::AtomicI64;
    use taishan_core::{Clock, ManualClock};

    #[derive(Default)]
    struct Module(AtomicBool);

    impl ServiceModule for Module {
        fn crash(&self) {
            self.0.store(false, Ordering::SeqCst);
        }
        fn restart(&self) {
            self.0.store(true, Ordering::SeqCst);
        }
        fn serving(&self) -> bool {
            self.0.load(Ordering::SeqCst)
        }
    }

    fn eventually(check: impl Fn() -> bool) -> bool {
        let from = Instant::now();
        while from.elapsed() < Duration::from_secs(5) {
            if check() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    #[test]
    fn a_crash_takes_its_module_down_and_brings_it_back() {
        let modules = Modules::default();
        let ledger = Arc::new(Module(AtomicBool::new(true)));
        modules.register("ledger", ledger.clone());
        let clock = Arc::new(ManualClock::at(1_000));
        let until = Arc::new(AtomicI64::new(clock.now_ms() + 60_000));
        let start = |fault: &Arc<dyn Fault>, service: &str| {
            fault.start(Start {
                lease: Lease::new(until.clone(), clock.clone()),
                scope: &Scope::service(service),
                modules: &modules,
            })
        };
        // Back after restart_after, by itself.
        let quick = build(&serde_json::json!({"restart_after": "100ms"})).unwrap();
        let running = start(&quick, "ledger").unwrap();
        assert!(!ledger.serving());
        assert!(eventually(|| ledger.serving()));
        drop(running);
        // Back as soon as it is disarmed (the handle dropped).
        let slow = build(&serde_json::json!({"restart_after": "1h"})).unwrap();
        let running = start(&slow, "ledger").unwrap();
        assert!(!ledger.serving());
        drop(running);
        assert!(eventually(|| ledger.serving()));
        // Back when its lease runs out.
        let _running = start(&slow, "ledger").unwrap();
        clock.advance(Duration::from_secs(61));
        assert!(eventually(|| ledger.serving()));
        // Nothing to crash: refused with the modules there are.
        let e = start(&slow, "ledgr").err().unwrap();
        assert!(e.contains("\"ledgr\"") && e.contains("ledger"), "{e}");
        let e = start(&slow, "").err().unwrap();
        assert!(e.contains("must name the service"), "{e}");
    }

    #[test]
    fn an_outage_longer_than_an_hour_is_refused() {
        let e = build(&serde_json::json!({"restart_after": "2h"})).unwrap_err();
        assert!(e.contains("at most 1h"), "{e}");
        assert!(build(&serde_json::json!({"restart_afer": "1s"})).is_err());
    }
}
