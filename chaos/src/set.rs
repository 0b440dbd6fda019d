//! The faults armed now, each under a lease.
//!
//! Whoever arms a fault holds a lease on it and must renew it; a fault whose lease ran out
//! is skipped by every request from that moment and dropped, so a drill runner that is
//! killed leaves nothing behind for longer than its lease. [`FaultSet::disarm_all`] is the
//! kill switch. With nothing armed, [`FaultSet::decide`] is one atomic load.

use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::ChannelProfile;
use parking_lot::{Mutex, RwLock};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use taishan_core::Clock;

use crate::faults::{build_fault, Fault, FaultSpec, Injection, Lease, LinkEffect, Running, Start};
use crate::module::Modules;
use crate::scope::{RequestInfo, Scope};

/// The service name the simulated bank channels go by in scopes.
pub const BANKS: &str = "banks";

/// Why a fault was not armed or found.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FaultError {
    /// The spec or scope is wrong.
    #[error("{0}")]
    Invalid(String),
    /// No armed fault has this id (it was disarmed, or its lease ran out).
    #[error("no armed fault {0:?}: it was disarmed or its lease ran out")]
    Unknown(String),
    /// Arming it would pass a limit of what may be armed at once.
    #[error("{0}")]
    Limit(String),
}

/// Most faults armed at once: a drill arms a handful; thousands only exhaust the process.
pub const MAX_ARMED: usize = 64;

/// Kinds that spend the machine's own resources: at most one of each is armed at a time,
/// so their caps (memory, cores) are also the total.
const RESOURCE_KINDS: [&str; 2] = ["memory", "cpu_burn"];

/// An armed fault, as the API shows it.
#[derive(Debug, Serialize)]
pub struct ActiveFault {
    /// Its id.
    pub id: String,
    /// What it does.
    pub spec: FaultSpec,
    /// Where.
    pub scope: Scope,
    /// Who armed it (a drill, an operator).
    pub by: String,
    /// When (Unix ms).
    pub armed_ms: i64,
    /// Until when it holds unless renewed (Unix ms).
    pub lease_until_ms: i64,
}

struct Armed {
    id: String,
    spec: FaultSpec,
    scope: Scope,
    by: String,
    armed_ms: i64,
    lease_until_ms: Arc<AtomicI64>,
    fault: Arc<dyn Fault>,
    /// What the fault runs by itself (a burn, held memory); stopped when this is dropped.
    _running: Option<Box<dyn Running>>,
}

impl Drop for Armed {
    fn drop(&mut self) {
        // A running fault watching the lease stops at once.
        self.lease_until_ms.store(0, Ordering::Relaxed);
    }
}

impl Armed {
    fn live(&self, now_ms: i64) -> bool {
        self.lease_until_ms.load(Ordering::Relaxed) > now_ms
    }

    /// Whether `req` is in scope and its draw (`draw`, or one made now) in the share.
    fn applies(&self, req: &RequestInfo<'_>, draw: Option<f64>, rng: &mut SmallRng) -> bool {
        self.scope.matches(req)
            && draw.unwrap_or_else(|| rng.random::<f64>()) * 100.0 < self.scope.percent
    }

    fn view(&self) -> ActiveFault {
        ActiveFault {
            id: self.id.clone(),
            spec: self.spec.clone(),
            scope: self.scope.clone(),
            by: self.by.clone(),
            armed_ms: self.armed_ms,
            lease_until_ms: self.lease_until_ms.load(Ordering::Relaxed),
        }
    }
}

struct Inner {
    armed: AtomicUsize,
    faults: RwLock<Vec<Arc<Armed>>>,
    clock: Arc<dyn Clock>,
    rng: Mutex<SmallRng>,
    next_id: AtomicU64,
    modules: Modules,
}

/// The faults armed now; cheap to clone (every clone is the same set).
#[derive(Clone)]
pub struct FaultSet {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for FaultSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultSet")
            .field("armed", &self.inner.armed.load(Ordering::Relaxed))
            .finish()
    }
}

impl FaultSet {
    /// An empty set; leases are read on `clock`, draws come from `seed`.
    pub fn new(clock: Arc<dyn Clock>, seed: u64) -> Self {
        Self {
            inner: Arc::new(Inner {
                armed: AtomicUsize::new(0),
                faults: RwLock::new(Vec::new()),
                clock,
                rng: Mutex::new(SmallRng::seed_from_u64(seed)),
                next_id: AtomicU64::new(1),
                modules: Modules::default(),
            }),
        }
    }

    /// Arms `spec` over `scope` for `lease` (renew it with [`FaultSet::renew`]).
    pub fn arm(
        &self,
        spec: FaultSpec,
        scope: Scope,
        lease: Duration,
        by: &str,
    ) -> Result<ActiveFault, FaultError> {
        if let Some(problem) = scope.problem() {
            return Err(FaultError::Invalid(format!("scope: {problem}")));
        }
        if lease.is_zero() {
            return Err(FaultError::Invalid("the lease must be above 0".into()));
        }
        let fault = build_fault(&spec).map_err(FaultError::Invalid)?;
        // Before it starts (a memory fault allocates as it starts).
        self.room_for(&spec.kind)?;
        let now = self.inner.clock.now_ms();
        let id = format!("f{}", self.inner.next_id.fetch_add(1, Ordering::Relaxed));
        let until = Arc::new(AtomicI64::new(now + lease_ms(lease)));
        let running = fault
            .start(Start {
                lease: Lease::new(until.clone(), self.inner.clock.clone()),
                scope: &scope,
                modules: &self.inner.modules,
            })
            .map_err(|e| FaultError::Invalid(format!("{} fault: {e}", spec.kind)))?;
        let armed = Arc::new(Armed {
            id,
            spec,
            scope,
            by: by.to_string(),
            armed_ms: now,
            lease_until_ms: until,
            fault,
            _running: running,
        });
        let view = armed.view();
        let mut faults = self.inner.faults.write();
        // Another arming may have taken the room meanwhile: the later one gives way.
        Self::room_among(&faults, &view.spec.kind, now)?;
        faults.push(armed);
        self.inner.armed.store(faults.len(), Ordering::Release);
        tracing::warn!(id = %view.id, kind = %view.spec.kind, scope = ?view.scope, by = %view.by, "fault armed");
        Ok(view)
    }

    /// Whether one more fault of `kind` may be armed now.
    fn room_for(&self, kind: &str) -> Result<(), FaultError> {
        let now = self.inner.clock.now_ms();
        Self::room_among(&self.inner.faults.read(), kind, now)
    }

    fn room_among(faults: &[Arc<Armed>], kind: &str, now: i64) -> Result<(), FaultError> {
        let live: Vec<&Arc<Armed>> = faults.iter().filter(|f| f.live(now)).collect();
        if live.len() >= MAX_ARMED {
            return Err(FaultError::Limit(format!(
                "{MAX_ARMED} faults are armed already, the most at once: disarm some first"
            )));
        }
        if RESOURCE_KINDS.contains(&kind) {
            if let Some(other) = live.iter().find(|f| f.spec.kind == kind) {
                return Err(FaultError::Limit(format!(
                    "a {kind} fault ({}) is armed already; one of each resource fault at a time",
                    other.id
                )));
            }
        }
        Ok(())
    }

    /// Extends fault `id`'s lease to `lease` from now.
    pub fn renew(&self, id: &str, lease: Duration) -> Result<(), FaultError> {
        let now = self.inner.clock.now_ms();
        let faults = self.inner.faults.read();
        let armed = faults
            .iter()
            .find(|f| f.id == id && f.live(now))
            .ok_or_else(|| FaultError::Unknown(id.to_string()))?;
        armed
            .lease_until_ms
            .store(now + lease_ms(lease), Ordering::Relaxed);
        Ok(())
    }

    /// Disarms fault `id`: the next request is clean.
    pub fn disarm(&self, id: &str) -> Result<ActiveFault, FaultError> {
        let mut faults = self.inner.faults.write();
        let at = faults
            .iter()
            .position(|f| f.id == id)
            .ok_or_else(|| FaultError::Unknown(id.to_string()))?;
        let gone = faults.remove(at);
        self.inner.armed.store(faults.len(), Ordering::Release);
        tracing::warn!(id, kind = %gone.spec.kind, "fault disarmed");
        Ok(gone.view())
    }

    /// The kill switch: disarms every fault at once; how many there were.
    pub fn disarm_all(&self) -> usize {
        let mut faults = self.inner.faults.write();
        let n = faults.len();
        faults.clear();
        self.inner.armed.store(0, Ordering::Release);
        if n > 0 {
            tracing::warn!(faults = n, "every fault disarmed");
        }
        n
    }

    /// The faults armed now (those whose lease ran out are dropped first).
    pub fn active(&self) -> Vec<ActiveFault> {
        self.drop_expired();
        self.inner.faults.read().iter().map(|f| f.view()).collect()
    }

    /// The service modules a `crash` fault can take down; services register here.
    pub fn modules(&self) -> &Modules {
        &self.inner.modules
    }

    /// What happens to `req`: the first armed fault in scope whose draw falls in its share.
    pub fn decide(&self, req: &RequestInfo<'_>) -> Option<Injection> {
        self.first(req, None, |f, rng| f.inject(rng))
    }

    /// What happens to data crossing fault proxy `link` on a connection that drew `draw`
    /// (0 to 1, once per connection, so a share of the connections is touched, whole).
    pub fn link(&self, link: &str, draw: f64) -> Option<LinkEffect> {
        let req = RequestInfo {
            service: link,
            method: "",
            path: "",
            channel: None,
        };
        self.first(&req, Some(draw), |f, rng| f.link(rng))
    }

    /// A draw from the set's seeded generator, 0 to 1 (a proxy's connection draws once).
    pub(crate) fn draw(&self) -> f64 {
        self.inner.rng.lock().random::<f64>()
    }

    /// The first armed, live fault in scope of `req`, in its share (drawn now, or `draw`),
    /// for which `act` has an answer.
    fn first<T>(
        &self,
        req: &RequestInfo<'_>,
        draw: Option<f64>,
        act: impl Fn(&dyn Fault, &mut SmallRng) -> Option<T>,
    ) -> Option<T> {
        if self.inner.armed.load(Ordering::Acquire) == 0 {
            return None;
        }
        let now = self.inner.clock.now_ms();
        let mut expired = false;
        let found = {
            let faults = self.inner.faults.read();
            let mut rng = self.inner.rng.lock();
            let mut found = None;
            for f in faults.iter() {
                if !f.live(now) {
                    expired = true;
                } else if f.applies(req, draw, &mut rng) {
                    found = act(f.fault.as_ref(), &mut rng);
                    if found.is_some() {
                        break;
                    }
                }
            }
            found
        };
        if expired {
            self.drop_expired();
        }
        found
    }

    /// How bank channel `base.name` behaves now: `base`, changed by every armed fault in
    /// scope (service `banks`, the channel) whose draw falls in its share.
    pub fn bank_channel(&self, base: &ChannelProfile) -> ChannelProfile {
        let mut profile = base.clone();
        if self.inner.armed.load(Ordering::Acquire) == 0 {
            return profile;
        }
        let now = self.inner.clock.now_ms();
        let req = RequestInfo {
            service: BANKS,
            method: "",
            path: "",
            channel: Some(base.name.as_str()),
        };
        let faults = self.inner.faults.read();
        let mut rng = self.inner.rng.lock();
        for f in faults.iter() {
            if f.live(now) && f.applies(&req, None, &mut rng) {
                f.fault.bank_channel(&mut profile);
            }
        }
        profile
    }

    fn drop_expired(&self) {
        let now = self.inner.clock.now_ms();
        let mut faults = self.inner.faults.write();
        faults.retain(|f| {
            let live = f.live(now);
            if !live {
                tracing::warn!(id = %f.id, kind = %f.spec.kind, by = %f.by, "fault reverted: its lease ran out");
            }
            live
        });
        self.inner.armed.store(faults.len(), Ordering::Release);
    }
}

fn lease_ms(lease: Duration) -> i64 {
    i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use taishan_core::ManualClock;

    fn spec(text: &str) -> FaultSpec {
        serde_json::from_str(text).unwrap()
    }

    fn req(service: &str) -> RequestInfo<'_> {
        RequestInfo {
            service,
            method: "POST",
            path: "/payments",
            channel: Some("bank-a"),
        }
    }

    fn set() -> (FaultSet, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::at(1_000_000));
        (FaultSet::new(clock.clone(), 42), clock)
    }

    #[test]
    fn a_fault_touches_its_scope_until_disarmed() {
        let (set, _) = set();
        assert_eq!(set.decide(&req("payment")), None);
        let f = set
            .arm(
                spec(r#"{"kind": "error"}"#),
                Scope::service("payment"),
                Duration::from_secs(10),
                "test",
            )
            .unwrap();
        assert!(matches!(
            set.decide(&req("payment")),
            Some(Injection::Respond { status: 503, .. })
        ));
        assert_eq!(set.decide(&req("ledger")), None);
        set.disarm(&f.id).unwrap();
        assert_eq!(set.decide(&req("payment")), None);
        assert_eq!(set.disarm(&f.id).unwrap_err(), FaultError::Unknown(f.id));
    }

    #[test]
    fn a_bank_fault_changes_its_channel_only_and_only_while_armed() {
        let (set, _) = set();
        let base: ChannelProfile =
            serde_json::from_value(serde_json::json!({"name": "bank-a"})).unwrap();
        let other: ChannelProfile =
            serde_json::from_value(serde_json::json!({"name": "bank-b"})).unwrap();
        let scope = Scope {
            channel: "bank-a".into(),
            ..Scope::service(BANKS)
        };
        let f = set
            .arm(
                spec(r#"{"kind": "bank_outage"}"#),
                scope,
                Duration::from_secs(10),
                "t",
            )
            .unwrap();
        assert_eq!(set.bank_channel(&base).failure_rate, 1.0);
        assert_eq!(set.bank_channel(&other), other);
        // A bank fault leaves requests alone.
        assert_eq!(set.decide(&req("banks")), None);
        set.disarm(&f.id).unwrap();
        assert_eq!(set.bank_channel(&base), base);
    }

    /// Resident memory of this process, in bytes (Linux).
    fn resident() -> u64 {
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
        let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
        pages * 4096
    }

    fn eventually(what: &str, check: impl Fn() -> bool) {
        for _ in 0..100 {
            if check() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("{what}");
    }

    #[test]
    fn held_memory_is_resident_while_armed_and_freed_on_disarm_and_on_expiry() {
        let (set, clock) = set();
        let before = resident();
        let f = set
            .arm(
                spec(r#"{"kind": "memory", "size": "256MiB"}"#),
                Scope::default(),
                Duration::from_secs(10),
                "t",
            )
            .unwrap();
        assert!(
            resident() > before + (200 << 20),
            "{} → {}",
            before,
            resident()
        );
        set.disarm(&f.id).unwrap();
        eventually("freed on disarm", || resident() < before + (100 << 20));
        // Nobody disarms this one: its lease runs out and the block goes.
        set.arm(
            spec(r#"{"kind": "memory", "size": "256MiB"}"#),
            Scope::default(),
            Duration::from_secs(10),
            "t",
        )
        .unwrap();
        assert!(resident() > before + (200 << 20));
        clock.advance(Duration::from_secs(11));
        eventually("freed when the lease ran out", || {
            resident() < before + (100 << 20)
        });
    }

    /// CPU time this process used during `d`, in ms (Linux: utime + stime, 100 ticks a second).
    fn cpu_ms_over(d: Duration) -> u64 {
        let ticks = || {
            let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
            let after_name = &stat[stat.rfind(')').unwrap() + 2..];
            let f: Vec<u64> = after_name
                .split_whitespace()
                .map(|x| x.parse().unwrap_or(0))
                .collect();
            f[11] + f[12]
        };
        let t0 = ticks();
        std::thread::sleep(d);
        (ticks() - t0) * 10
    }

    #[test]
    fn a_cpu_burn_takes_a_core_while_armed_and_stops_on_disarm() {
        let (set, _) = set();
        let f = set
            .arm(
                spec(r#"{"kind": "cpu_burn", "cores": 1}"#),
                Scope::default(),
                Duration::from_secs(10),
                "t",
            )
            .unwrap();
        let burning = cpu_ms_over(Duration::from_millis(500));
        set.disarm(&f.id).unwrap();
        std::thread::sleep(Duration::from_millis(150));
        let after = cpu_ms_over(Duration::from_millis(500));
        // A core's worth is 500 ms; a loaded machine may give the burner less.
        assert!(burning >= 200, "armed: {burning} ms of CPU in 500 ms");
        assert!(
            after < burning / 2,
            "disarmed: {after} ms (armed: {burning})"
        );
    }

    #[test]
    fn an_unrenewed_lease_reverts_the_fault_by_itself() {
        let (set, clock) = set();
        let f = set
            .arm(
                spec(r#"{"kind": "error"}"#),
                Scope::default(),
                Duration::from_secs(5),
                "drill",
            )
            .unwrap();
        clock.advance(Duration::from_secs(4));
        set.renew(&f.id, Duration::from_secs(5)).unwrap();
        clock.advance(Duration::from_secs(4));
        assert!(set.decide(&req("payment")).is_some(), "renewed");
        clock.advance(Duration::from_secs(2));
        assert_eq!(
            set.decide(&req("payment")),
            None,
            "the runner stopped renewing"
        );
        assert!(set.active().is_empty());
        assert!(matches!(
            set.renew(&f.id, Duration::from_secs(5)),
            Err(FaultError::Unknown(_))
        ));
    }

    #[test]
    fn armed_faults_are_capped_in_number_and_one_of_each_resource_kind() {
        let (set, clock) = set();
        let arm = |text: &str| {
            set.arm(
                spec(text),
                Scope::default(),
                Duration::from_secs(60),
                "drill",
            )
        };
        arm(r#"{"kind": "memory", "size": "1MiB"}"#).unwrap();
        let again = arm(r#"{"kind": "memory", "size": "1MiB"}"#).unwrap_err();
        assert!(
            again.to_string().contains("one of each resource fault"),
            "{again}"
        );
        for _ in 1..MAX_ARMED {
            arm(r#"{"kind": "error"}"#).unwrap();
        }
        let full = arm(r#"{"kind": "error"}"#).unwrap_err();
        assert!(matches!(full, FaultError::Limit(_)), "{full}");
        // Expired leases free their room.
        clock.advance(Duration::from_secs(61));
        arm(r#"{"kind": "memory", "size": "1MiB"}"#).unwrap();
    }

    #[test]
    fn the_kill_switch_disarms_everything() {
        let (set, _) = set();
        for kind in ["error", "timeout"] {
            let s = spec(&format!(r#"{{"kind": "{kind}"}}"#));
            set.arm(s, Scope::default(), Duration::from_secs(60), "drill")
                .unwrap();
        }
        assert_eq!(set.active().len(), 2);
        assert_eq!(set.disarm_all(), 2);
        assert_eq!(set.decide(&req("payment")), None);
    }

    #[test]
    fn a_share_of_traffic_is_touched_and_the_draw_replays_with_the_seed() {
        let count = || {
            let (set, _) = set();
            let scope = Scope {
                percent: 25.0,
                ..Scope::default()
            };
            set.arm(
                spec(r#"{"kind": "error"}"#),
                scope,
                Duration::from_secs(60),
                "t",
            )
            .unwrap();
            (0..4000)
                .filter(|_| set.decide(&req("payment")).is_some())
                .count()
        };
        let touched = count();
        assert!((900..1100).contains(&touched), "{touched} of 4000 at 25%");
        assert_eq!(touched, count(), "the same seed, the same draws");
    }

    #[test]
    fn bad_specs_and_scopes_are_refused_with_the_reason() {
        let (set, _) = set();
        let bad_scope = Scope {
            percent: 0.0,
            ..Scope::default()
        };
        let e = set
            .arm(
                spec(r#"{"kind": "error"}"#),
                bad_scope,
                Duration::from_secs(1),
                "t",
            )
            .unwrap_err();
        assert!(e.to_string().contains("scope: percent"), "{e}");
        let e = set
            .arm(
                spec(r#"{"kind": "error", "status": 200}"#),
                Scope::default(),
                Duration::from_secs(1),
                "t",
            )
            .unwrap_err();
        assert!(e.to_string().contains("400 to 599"), "{e}");
        assert!(set.active().is_empty());
    }
}
