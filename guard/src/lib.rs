//! `taishan-guard`: the protection the services embed, Taishan's Sentinel.
//!
//! Four kinds of [`Guard`] ([`kinds`] holds their contract, one folder per kind with its
//! tower layer, and the one registration point), each lock-free on the call path and
//! driven by the injected clock: [`CircuitBreaker`] (error ratio, slow-call ratio, consecutive failures; closed → open →
//! half-open probes → closed), [`RateLimiter`] and [`KeyedRateLimiter`] (token buckets),
//! [`ConcurrencyLimit`], and [`DegradeSwitch`] (serve a fallback instead). Each is usable
//! directly or as a tower layer from [`layer`]; every state change is reported to a
//! [`TransitionObserver`] with its reason, and [`Guards`] lists a service's guards for its
//! metrics and carries out the typed commands of the control plane (the
//! `taishan-guard-control` crate, which this library does not link: embedding a breaker
//! brings no HTTP server, client or metrics registry).
#![forbid(unsafe_code)]

pub mod kinds;
pub mod layer;
pub mod registry;
pub mod rejection;
pub mod transition;

pub use kinds::breaker::{Admission, BreakerConfig, BreakerState, CallOutcome, CircuitBreaker};
pub use kinds::concurrency::{ConcurrencyLimit, ConcurrencyPermit};
pub use kinds::degrade::DegradeSwitch;
pub use kinds::rate_limit::{KeyedRateLimiter, RateLimitConfig, RateLimiter};
pub use kinds::{Guard, GuardKind, GuardState, KindSpec, KINDS};
pub use registry::{ApplyError, GuardSnapshot, Guards};
pub use rejection::Rejected;
pub use taishan_core::GuardCommand;
pub use transition::{LogObserver, Transition, TransitionObserver};
