//! `taishan-guard`: the protection the services embed, Taishan's Sentinel.
//!
//! Four guards, each lock-free on the call path and driven by the injected clock:
//! [`CircuitBreaker`] (error ratio, slow-call ratio, consecutive failures; closed → open →
//! half-open probes → closed), [`RateLimiter`] and [`KeyedRateLimiter`] (token buckets),
//! [`ConcurrencyLimit`], and [`DegradeSwitch`] (serve a fallback instead). Each is usable
//! directly or as a tower layer from [`layer`]; every state change is reported to a
//! [`TransitionObserver`] with its reason, and [`Guards`] lists a service's guards with their
//! counters for its metrics and for the [`control`] plane, which carries the rule engine's
//! and operators' decisions to the guards and audits every one.
#![forbid(unsafe_code)]

pub mod breaker;
pub mod concurrency;
pub mod control;
pub mod degrade;
pub mod layer;
pub mod rate_limit;
pub mod registry;
pub mod rejection;
pub mod transition;

pub use breaker::{Admission, BreakerConfig, BreakerState, CallOutcome, CircuitBreaker};
pub use concurrency::{ConcurrencyLimit, ConcurrencyPermit};
pub use degrade::DegradeSwitch;
pub use rate_limit::{KeyedRateLimiter, RateLimitConfig, RateLimiter};
pub use registry::{GuardSnapshot, Guards};
pub use rejection::Rejected;
pub use transition::{GuardKind, LogObserver, Transition, TransitionObserver};
