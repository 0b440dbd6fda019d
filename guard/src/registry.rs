//! A service's guards by name, held through the [`Guard`] trait: what its metrics report
//! and what the control plane drives.

use std::collections::BTreeMap;
use std::sync::Arc;

use taishan_core::{Clock, GuardCommand};

use crate::kinds::breaker::{BreakerConfig, CircuitBreaker};
use crate::kinds::concurrency::ConcurrencyLimit;
use crate::kinds::degrade::DegradeSwitch;
use crate::kinds::rate_limit::{KeyedRateLimiter, RateLimitConfig, RateLimiter};
use crate::kinds::{Guard, GuardKind, GuardState};
use crate::transition::SharedObserver;

/// One guard's state and counters at a moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardSnapshot {
    /// Its name.
    pub name: Arc<str>,
    /// Its family.
    pub kind: GuardKind,
    /// Its state.
    pub state: GuardState,
    /// Calls it refused so far (0 for a degrade switch).
    pub rejected: u64,
}

/// Why a control-plane command could not be carried out here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    /// The service has no guard of that name.
    #[error("no guard named {name:?} here (guards: {})", known.join(", "))]
    UnknownGuard {
        /// The name asked for.
        name: String,
        /// The guards the service has.
        known: Vec<String>,
    },
    /// The guard is of a kind the command does not fit.
    #[error("{name:?} is a {kind} guard; {command} does not apply to it")]
    WrongKind {
        /// The guard.
        name: String,
        /// Its kind.
        kind: GuardKind,
        /// The command's name.
        command: &'static str,
    },
}

/// The guards of one service, all reporting to one observer.
#[derive(Debug)]
pub struct Guards {
    observer: SharedObserver,
    clock: Arc<dyn Clock>,
    guards: parking_lot::RwLock<BTreeMap<Arc<str>, Arc<dyn Guard>>>,
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

    /// Registers `guard` (replacing one of the same name) and hands it back.
    pub fn add<G: Guard>(&self, guard: Arc<G>) -> Arc<G> {
        let name = guard.name().clone();
        self.guards.write().insert(name, guard.clone());
        guard
    }

    /// Creates and registers a breaker (replacing one of the same name).
    pub fn breaker(&self, name: &str, config: BreakerConfig) -> Arc<CircuitBreaker> {
        self.add(Arc::new(CircuitBreaker::new(
            name,
            config,
            self.observer.clone(),
        )))
    }

    /// Creates and registers a rate limiter shared by all callers.
    pub fn rate_limiter(&self, name: &str, config: RateLimitConfig) -> Arc<RateLimiter> {
        self.add(Arc::new(RateLimiter::new(
            name,
            config,
            self.observer.clone(),
        )))
    }

    /// Creates and registers a rate limiter with a bucket per key.
    pub fn keyed_rate_limiter(
        &self,
        name: &str,
        config: RateLimitConfig,
        max_keys: usize,
    ) -> Arc<KeyedRateLimiter> {
        self.add(Arc::new(KeyedRateLimiter::new(
            name,
            config,
            max_keys,
            self.observer.clone(),
        )))
    }

    /// Creates and registers a concurrency limit.
    pub fn concurrency_limit(&self, name: &str, limit: usize) -> Arc<ConcurrencyLimit> {
        self.add(Arc::new(ConcurrencyLimit::new(
            name,
            limit,
            self.observer.clone(),
            self.clock.clone(),
        )))
    }

    /// Creates and registers a degrade switch.
    pub fn degrade_switch(&self, name: &str) -> Arc<DegradeSwitch> {
        self.add(Arc::new(DegradeSwitch::new(name, self.observer.clone())))
    }

    /// The guard named `name` if it is a `G`.
    pub fn find<G: Guard>(&self, name: &str) -> Option<Arc<G>> {
        let guard = self.guards.read().get(name)?.clone();
        guard.into_any().downcast::<G>().ok()
    }

    /// The breaker named `name`, if there is one.
    pub fn find_breaker(&self, name: &str) -> Option<Arc<CircuitBreaker>> {
        self.find(name)
    }

    /// The degrade switch named `name`, if there is one.
    pub fn find_degrade_switch(&self, name: &str) -> Option<Arc<DegradeSwitch>> {
        self.find(name)
    }

    /// Carries out a control-plane `command` on the guard named `name`; returns whether its
    /// state changed, or why the command does not fit this service's guards.
    pub fn apply(
        &self,
        name: &str,
        command: &GuardCommand,
        reason: &str,
    ) -> Result<bool, ApplyError> {
        let guards = self.guards.read();
        let Some(guard) = guards.get(name) else {
            return Err(ApplyError::UnknownGuard {
                name: name.to_string(),
                known: guards.keys().map(|k| k.to_string()).collect(),
            });
        };
        if !guard.kind().accepts(command) {
            return Err(ApplyError::WrongKind {
                name: name.to_string(),
                kind: guard.kind(),
                command: command.name(),
            });
        }
        Ok(guard.apply(command, reason, self.clock.now_ms()))
    }

    /// Every guard's state and counters, by name.
    pub fn snapshot(&self) -> Vec<GuardSnapshot> {
        self.guards
            .read()
            .iter()
            .map(|(name, guard)| GuardSnapshot {
                name: name.clone(),
                kind: guard.kind(),
                state: guard.state(),
                rejected: guard.rejected(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BreakerState, LogObserver};

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
            .map(|s| (s.name.to_string(), s.state.as_str()))
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
        let e = e.to_string();
        assert!(e.contains("api, bank-a, risk-model"), "{e}");
        let e = g
            .apply("risk-model", &GuardCommand::OpenBreaker, "x")
            .expect_err("kind")
            .to_string();
        assert!(
            e.contains("is a degrade guard; open_breaker does not apply"),
            "{e}"
        );
    }
}
