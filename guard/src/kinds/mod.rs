//! The guard family: what every guard promises, its kinds and states, and the one place
//! kinds are registered. Each kind is a folder here: the guard and its state machine in
//! `mod.rs`, its tower layer beside it in `layer.rs`.
//!
//! The contract every [`Guard`] keeps:
//! - the call path (admit, record) is lock-free and never waits on the control plane;
//! - its state is one of its kind's [`GuardState`]s, and every change of state is reported
//!   once to its [`crate::TransitionObserver`], with the reason, after it is in effect;
//! - [`Guard::apply`] carries out a control-plane [`GuardCommand`] its kind accepts
//!   ([`GuardKind::accepts`]; [`crate::Guards`] refuses the others before calling) and says
//!   whether its state changed; a guard held by a command stays so until released;
//! - it counts the calls it refused.
//!
//! Adding a kind of guard is its own folder (the guard, its `impl Guard`, its [`KindSpec`]
//! and its layer), its variant in [`GuardKind`], and one line in [`KINDS`]; new states go in
//! [`GuardState`]; the commands the control plane may give it in
//! `taishan_core::GuardCommand`. Kinds, states and commands are serde enums, so they travel typed through
//! the control plane's API, its audit log and the services' reports.

pub mod breaker;
pub mod concurrency;
pub mod degrade;
pub mod rate_limit;

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use taishan_core::GuardCommand;

/// One guard, as the registry and the control plane see it.
pub trait Guard: Send + Sync + fmt::Debug + 'static {
    /// Its name, unique within a service.
    fn name(&self) -> &Arc<str>;
    /// Its family.
    fn kind(&self) -> GuardKind;
    /// Its state now.
    fn state(&self) -> GuardState;
    /// Calls it refused so far (0 for guards that never refuse).
    fn rejected(&self) -> u64;
    /// Carries out `command` (one its kind accepts) at `now_ms`; returns whether its state
    /// changed.
    fn apply(&self, command: &GuardCommand, reason: &str, now_ms: i64) -> bool;
    /// The guard as `Any`, to get its concrete type back.
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
}

/// Which family a guard belongs to.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum GuardKind {
    /// A [`crate::CircuitBreaker`].
    Breaker,
    /// A [`crate::RateLimiter`] or [`crate::KeyedRateLimiter`].
    RateLimit,
    /// A [`crate::ConcurrencyLimit`].
    Concurrency,
    /// A [`crate::DegradeSwitch`].
    Degrade,
}

/// The state a guard is in.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum GuardState {
    /// A breaker letting calls through.
    Closed,
    /// A breaker refusing calls.
    Open,
    /// A breaker letting probe calls through.
    HalfOpen,
    /// A rate or concurrency limit with room.
    Admitting,
    /// A rate limit refusing calls.
    Limiting,
    /// A concurrency limit at its limit.
    Saturated,
    /// A degrade switch off: full service.
    Normal,
    /// A degrade switch on: callers take the fallback.
    Degraded,
    /// A rate limit at its configured rate (a transition only: the override was lifted).
    Configured,
    /// A rate limit at a rate the control plane put in force (a transition only).
    Overridden,
}

impl GuardState {
    /// The name used in metric labels, logs and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half_open",
            Self::Admitting => "admitting",
            Self::Limiting => "limiting",
            Self::Saturated => "saturated",
            Self::Normal => "normal",
            Self::Degraded => "degraded",
            Self::Configured => "configured",
            Self::Overridden => "overridden",
        }
    }
}

impl fmt::Display for GuardState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one kind of guard is: its name, its states and the commands it takes.
#[derive(Debug)]
pub struct KindSpec {
    /// The kind.
    pub kind: GuardKind,
    /// Its name in metric labels, logs and on the wire.
    pub name: &'static str,
    /// Every state [`Guard::state`] can answer for this kind (transitions may also name
    /// the states of an override, such as a rate limit's `configured` → `overridden`).
    pub states: &'static [GuardState],
    /// Whether a control-plane command applies to guards of this kind.
    pub accepts: fn(&GuardCommand) -> bool,
}

/// Every kind of guard: the one registration point.
pub static KINDS: &[KindSpec] = &[
    breaker::KIND,
    rate_limit::KIND,
    concurrency::KIND,
    degrade::KIND,
];

impl GuardKind {
    /// What this kind is.
    pub fn spec(self) -> &'static KindSpec {
        KINDS
            .iter()
            .find(|s| s.kind == self)
            .expect("every GuardKind is registered in KINDS")
    }

    /// The name used in metric labels, logs and on the wire.
    pub fn as_str(self) -> &'static str {
        self.spec().name
    }

    /// Every state a guard of this kind can be in.
    pub fn states(self) -> &'static [GuardState] {
        self.spec().states
    }

    /// Whether `command` applies to guards of this kind (`release` applies to all).
    pub fn accepts(self, command: &GuardCommand) -> bool {
        matches!(command, GuardCommand::Release { .. }) || (self.spec().accepts)(command)
    }
}

impl fmt::Display for GuardKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BreakerConfig, Guards, LogObserver, RateLimitConfig};

    #[test]
    fn every_guard_the_registry_makes_is_of_a_registered_kind_in_one_of_its_states() {
        let g = Guards::new(Arc::new(LogObserver), Arc::new(taishan_core::SystemClock));
        g.breaker("b", BreakerConfig::default());
        g.rate_limiter("r", RateLimitConfig::per_second(1.0));
        g.keyed_rate_limiter("k", RateLimitConfig::per_second(1.0), 4);
        g.concurrency_limit("c", 2);
        g.degrade_switch("d");
        let snapshot = g.snapshot();
        assert_eq!(snapshot.len(), 5);
        for s in snapshot {
            assert!(KINDS.iter().any(|k| k.kind == s.kind), "{:?}", s.kind);
            assert!(s.kind.states().contains(&s.state), "{s:?}");
        }
        let mut names: Vec<&str> = KINDS.iter().map(|k| k.name).collect();
        names.dedup();
        assert_eq!(names, ["breaker", "rate_limit", "concurrency", "degrade"]);
        for k in KINDS {
            assert_eq!(serde_json::to_value(k.kind).unwrap(), k.name);
            for s in k.states {
                assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            }
        }
    }

    #[test]
    fn an_unknown_kind_or_state_is_refused_naming_the_known_ones() {
        let e = serde_json::from_str::<GuardKind>("\"bulkhead\"").unwrap_err();
        for k in KINDS {
            assert!(e.to_string().contains(k.name), "{e}");
        }
        let e = serde_json::from_str::<GuardState>("\"ajar\"").unwrap_err();
        assert!(e.to_string().contains("half_open"), "{e}");
    }

    #[test]
    fn commands_fit_their_kinds() {
        use GuardCommand::*;
        let rate = SetRateLimit {
            rate: 1.0,
            burst: None,
        };
        for (command, kind) in [
            (OpenBreaker, GuardKind::Breaker),
            (HalfOpenBreaker, GuardKind::Breaker),
            (CloseBreaker, GuardKind::Breaker),
            (Degrade, GuardKind::Degrade),
            (Undegrade, GuardKind::Degrade),
            (rate, GuardKind::RateLimit),
        ] {
            for k in KINDS {
                assert_eq!(
                    k.kind.accepts(&command),
                    k.kind == kind,
                    "{command} on {k:?}"
                );
            }
        }
        for k in KINDS {
            assert!(k.kind.accepts(&Release { probe: true }));
        }
    }
}
