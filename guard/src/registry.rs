//! A service's guards by name: what its metrics report and, later, what the control plane
//! drives.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::breaker::{BreakerConfig, BreakerState, CircuitBreaker};
use crate::concurrency::ConcurrencyLimit;
use crate::degrade::DegradeSwitch;
use crate::rate_limit::{KeyedRateLimiter, RateLimitConfig, RateLimiter};
use taishan_core::{Clock, GuardCommand};

use crate::transition::{GuardKind, SharedObserver};

/// One guard's state and counters at a moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardSnapshot {
    /// Its name.
    pub name: Arc<str>,
    /// Its family.
    pub kind: GuardKind,
    /// Its state (`closed`, `open`, `half_open`, `admitting`, `limiting`, `saturated`,
    /// `normal`, `degraded`).
    pub state: &'static str,
    /// Calls it refused so far (0 for a degrade switch).
    pub rejected: u64,
}

#[derive(Debug, Clone)]
enum AnyGuard {
    Breaker(Arc<CircuitBreaker>),
    Rate(Arc<RateLimiter>),
    KeyedRate(Arc<KeyedRateLimiter>),
    Concurrency(Arc<ConcurrencyLimit>),
    Degrade(Arc<DegradeSwitch>),
}

/// The guards of one service, all reporting to one observer.
#[derive(Debug)]
pub struct Guards {
    observer: SharedObserver,
    clock: Arc<dyn Clock>,
    guards: parking_lot::RwLock<BTreeMap<Arc<str>, AnyGuard>>,
}

impl Guards {
    /// An empty set whose guards report their changes to `observer`; `clock` times the
    /// changes of guards that are not handed the time on each call.
    pub fn new(observer: SharedObserver, clock: Arc<dyn Clock>) -> Self {
        Self {
            observer,
            clock,
            guards: Default::default(),
        }
    }

    fn add(&self, name: Arc<str>, guard: AnyGuard) {
        self.guards.write().insert(name, guard);
    }

    /// Creates and registers a breaker (replacing one of the same name).
    pub fn breaker(&self, name: &str, config: BreakerConfig) -> Arc<CircuitBreaker> {
        let b = Arc::new(CircuitBreaker::new(name, config, self.observer.clone()));
        self.add(name.into(), AnyGuard::Breaker(b.clone()));
        b
    }

    /// Creates and registers a rate limiter shared by all callers.
    pub fn rate_limiter(&self, name: &str, config: RateLimitConfig) -> Arc<RateLimiter> {
        let l = Arc::new(RateLimiter::new(name, config, self.observer.clone()));
        self.add(name.into(), AnyGuard::Rate(l.clone()));
        l
    }

    /// Creates and registers a rate limiter with a bucket per key.
    pub fn keyed_rate_limiter(
        &self,
        name: &str,
        config: RateLimitConfig,
        max_keys: usize,
    ) -> Arc<KeyedRateLimiter> {
        let l = Arc::new(KeyedRateLimiter::new(
            name,
            config,
            max_keys,
            self.observer.clone(),
        ));
        self.add(name.into(), AnyGuard::KeyedRate(l.clone()));
        l
    }

    /// Creates and registers a concurrency limit.
    pub fn concurrency_limit(&self, name: &str, limit: usize) -> Arc<ConcurrencyLimit> {
        let l = Arc::new(ConcurrencyLimit::new(
            name,
            limit,
            self.observer.clone(),
            self.clock.clone(),
        ));
        self.add(name.into(), AnyGuard::Concurrency(l.clone()));
        l
    }

    /// Creates and registers a degrade switch.
    pub fn degrade_switch(&self, name: &str) -> Arc<DegradeSwitch> {
        let s = Arc::new(DegradeSwitch::new(name, self.observer.clone()));
        self.add(name.into(), AnyGuard::Degrade(s.clone()));
        s
    }

    /// The breaker named `name`, if there is one.
    pub fn find_breaker(&self, name: &str) -> Option<Arc<CircuitBreaker>> {
        match self.guards.read().get(name) {
            Some(AnyGuard::Breaker(b)) => Some(b.clone()),
            _ => None,
        }
    }

    /// The degrade switch named `name`, if there is one.
    pub fn find_degrade_switch(&self, name: &str) -> Option<Arc<DegradeSwitch>> {
        match self.guards.read().get(name) {
            Some(AnyGuard::Degrade(s)) => Some(s.clone()),
            _ => None,
        }
    }

    /// Carries out a control-plane `command` on the guard named `name`; returns whether its
    /// state changed, or why the command does not fit this service's guards.
    pub fn apply(&self, name: &str, command: &GuardCommand, reason: &str) -> Result<bool, String> {
        let now_ms = self.clock.now_ms();
        let guards = self.guards.read();
        let Some(guard) = guards.get(name) else {
            let known: Vec<&str> = guards.keys().map(|k| k.as_ref()).collect();
            return Err(format!(
                "no guard named {name:?} here (guards: {})",
                known.join(", ")
            ));
        };
        let limit = |rate: f64, burst: Option<u32>| RateLimitConfig { rate, burst };
        let changed = match (guard, command) {
            (AnyGuard::Breaker(b), GuardCommand::OpenBreaker) => {
                b.force(BreakerState::Open, true, reason, now_ms)
            }
            (AnyGuard::Breaker(b), GuardCommand::HalfOpenBreaker) => {
                b.force(BreakerState::HalfOpen, false, reason, now_ms)
            }
            (AnyGuard::Breaker(b), GuardCommand::CloseBreaker) => {
                b.force(BreakerState::Closed, true, reason, now_ms)
            }
            (AnyGuard::Breaker(b), GuardCommand::Release { probe }) => {
                b.release(*probe, reason, now_ms)
            }
            (AnyGuard::Degrade(d), GuardCommand::Degrade) => d.set(true, reason, now_ms),
            (AnyGuard::Degrade(d), GuardCommand::Undegrade | GuardCommand::Release { .. }) => {
                d.set(false, reason, now_ms)
            }
            (AnyGuard::Rate(l), GuardCommand::SetRateLimit { rate, burst }) => {
                l.set_rate(Some(&limit(*rate, *burst)), reason, now_ms)
            }
            (AnyGuard::KeyedRate(l), GuardCommand::SetRateLimit { rate, burst }) => {
                l.set_rate(Some(&limit(*rate, *burst)), reason, now_ms)
            }
            (AnyGuard::Rate(l), GuardCommand::Release { .. }) => l.set_rate(None, reason, now_ms),
            (AnyGuard::KeyedRate(l), GuardCommand::Release { .. }) => {
                l.set_rate(None, reason, now_ms)
            }
            (g, c) => {
                return Err(format!(
                    "{name:?} is a {} guard; {} does not apply to it",
                    kind_of(g).as_str(),
                    c.name()
                ))
            }
        };
        Ok(changed)
    }

    /// Every guard's state and counters, by name.
    pub fn snapshot(&self) -> Vec<GuardSnapshot> {
        self.guards
            .read()
            .iter()
            .map(|(name, guard)| {
                let (kind, state, rejected) = match guard {
                    AnyGuard::Breaker(b) => (GuardKind::Breaker, b.state().as_str(), b.rejected()),
                    AnyGuard::Rate(l) => (
                        GuardKind::RateLimit,
                        limiting(l.is_limiting()),
                        l.rejected(),
                    ),
                    AnyGuard::KeyedRate(l) => (
                        GuardKind::RateLimit,
                        limiting(l.is_limiting()),
                        l.rejected(),
                    ),
                    AnyGuard::Concurrency(l) => (
                        GuardKind::Concurrency,
                        if l.in_flight() >= l.limit() {
                            "saturated"
                        } else {
                            "admitting"
                        },
                        l.rejected(),
                    ),
                    AnyGuard::Degrade(s) => (
                        GuardKind::Degrade,
                        if s.is_degraded() {
                            "degraded"
                        } else {
                            "normal"
                        },
                        0,
                    ),
                };
                GuardSnapshot {
                    name: name.clone(),
                    kind,
                    state,
                    rejected,
                }
            })
            .collect()
    }
}

fn kind_of(g: &AnyGuard) -> GuardKind {
    match g {
        AnyGuard::Breaker(_) => GuardKind::Breaker,
        AnyGuard::Rate(_) | AnyGuard::KeyedRate(_) => GuardKind::RateLimit,
        AnyGuard::Concurrency(_) => GuardKind::Concurrency,
        AnyGuard::Degrade(_) => GuardKind::Degrade,
    }
}

fn limiting(on: bool) -> &'static str {
    if on {
        "limiting"
    } else {
        "admitting"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LogObserver;

    #[test]
    fn snapshot_lists_every_guard_by_name() {
        let g = Guards::new(Arc::new(LogObserver), Arc::new(taishan_core::SystemClock));
        let b = g.breaker("bank-b", BreakerConfig::default());
        g.rate_limiter("api", RateLimitConfig::per_second(1.0));
        g.degrade_switch("risk-model").set(true, "test", 0);
        assert!(g.find_breaker("bank-b").is_some());
        assert!(g.find_breaker("api").is_none());
        let names: Vec<_> = g
            .snapshot()
            .iter()
            .map(|s| (s.name.to_string(), s.state))
            .collect();
        assert_eq!(
            names,
            [
                ("api".to_string(), "admitting"),
                ("bank-b".to_string(), "closed"),
                ("risk-model".to_string(), "degraded")
            ]
        );
        assert_eq!(b.state().as_str(), "closed");
    }

    #[test]
    fn commands_reach_the_named_guard_of_the_right_kind() {
        let g = Guards::new(
            Arc::new(LogObserver),
            Arc::new(taishan_core::ManualClock::at(5)),
        );
        let b = g.breaker("bank-a", BreakerConfig::default());
        let d = g.degrade_switch("risk-model");
        let l = g.rate_limiter("api", RateLimitConfig::per_second(100.0));
        assert_eq!(
            g.apply("bank-a", &GuardCommand::OpenBreaker, "rule"),
            Ok(true)
        );
        assert_eq!(b.state(), BreakerState::Open);
        assert!(b.is_held());
        assert_eq!(
            g.apply("bank-a", &GuardCommand::Release { probe: true }, "ok"),
            Ok(true)
        );
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert_eq!(
            g.apply("risk-model", &GuardCommand::Degrade, "errors"),
            Ok(true)
        );
        assert!(d.is_degraded());
        assert_eq!(
            g.apply("risk-model", &GuardCommand::Release { probe: true }, "ok"),
            Ok(true)
        );
        assert!(!d.is_degraded());
        let slow = GuardCommand::SetRateLimit {
            rate: 5.0,
            burst: None,
        };
        assert_eq!(g.apply("api", &slow, "overload"), Ok(true));
        assert_eq!(l.rate_in_force(), 5.0);
        let e = g
            .apply("nope", &GuardCommand::OpenBreaker, "x")
            .expect_err("unknown");
        assert!(e.contains("api, bank-a, risk-model"), "{e}");
        let e = g
            .apply("risk-model", &GuardCommand::OpenBreaker, "x")
            .expect_err("kind");
        assert!(
            e.contains("is a degrade guard; open_breaker does not apply"),
            "{e}"
        );
    }
}
