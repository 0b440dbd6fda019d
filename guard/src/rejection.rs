//! Why a guard refused a call.

use std::sync::Arc;
use std::time::Duration;

/// A call a guard did not let through. Returned by the guards themselves and, boxed, as the
/// error of the tower layers (downcast a `tower::BoxError` to find it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    /// The breaker is open (or half-open with every probe slot taken).
    #[error("circuit breaker {guard} is open; retry in {}ms", retry_after.as_millis())]
    BreakerOpen {
        /// The breaker's name.
        guard: Arc<str>,
        /// When it will next admit a probe.
        retry_after: Duration,
    },
    /// The caller exceeded its rate.
    #[error("rate limit {guard} exceeded; retry in {}ms", retry_after.as_millis())]
    RateLimited {
        /// The limiter's name.
        guard: Arc<str>,
        /// When a token will be available.
        retry_after: Duration,
    },
    /// Too many calls in flight.
    #[error("concurrency limit {guard} reached ({limit} in flight)")]
    ConcurrencyLimited {
        /// The limit's name.
        guard: Arc<str>,
        /// How many calls it allows at once.
        limit: usize,
    },
}

impl Rejected {
    /// The guard that refused.
    pub fn guard(&self) -> &str {
        match self {
            Self::BreakerOpen { guard, .. }
            | Self::RateLimited { guard, .. }
            | Self::ConcurrencyLimited { guard, .. } => guard,
        }
    }

    /// How long the caller should wait before trying again (for `Retry-After`).
    pub fn retry_after(&self) -> Duration {
        match self {
            Self::BreakerOpen { retry_after, .. } | Self::RateLimited { retry_after, .. } => {
                *retry_after
            }
            Self::ConcurrencyLimited { .. } => Duration::from_secs(1),
        }
    }
}
