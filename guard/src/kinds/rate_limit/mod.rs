//! Token-bucket rate limiters, one bucket or one per key.
//!
//! A bucket of `burst` tokens refilled at `rate` per second is kept as the generic cell rate
//! algorithm does: one number, the time at which the bucket would be full again. A call
//! takes a token by moving that time one interval later, with one compare-and-swap and no
//! background refill.

mod keyed;
pub mod layer;

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use taishan_core::GuardCommand;

use crate::kinds::{Guard, GuardKind, GuardState, KindSpec};
use crate::rejection::Rejected;
use crate::transition::{SharedObserver, Transition};

pub use keyed::KeyedRateLimiter;

/// Rate limits: admitting or limiting; `set_rate_limit` overrides the configured rate until
/// released.
pub(crate) const KIND: KindSpec = KindSpec {
    kind: GuardKind::RateLimit,
    name: "rate_limit",
    states: &[GuardState::Admitting, GuardState::Limiting],
    accepts: |c| matches!(c, GuardCommand::SetRateLimit { .. }),
};

/// A rate and how far a caller may run ahead of it.
#[derive(Deserialize, Serialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Calls per second, sustained.
    pub rate: f64,
    /// Calls allowed at once after a quiet period. Default: one second's worth, at least 1.
    #[serde(default)]
    pub burst: Option<u32>,
}

impl RateLimitConfig {
    /// `rate` per second with the default burst.
    pub fn per_second(rate: f64) -> Self {
        Self { rate, burst: None }
    }

    /// Every problem, as `field: what is allowed`.
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !(self.rate.is_finite() && self.rate > 0.0 && self.rate <= 1e9) {
            problems.push(format!(
                "rate: must be a number of calls per second in (0, 1e9], got {}",
                self.rate
            ));
        }
        if self.burst == Some(0) {
            problems.push("burst: must be at least 1".to_string());
        }
        problems
    }

    fn interval_ns(&self) -> i64 {
        let rate = if self.rate.is_finite() && self.rate > 0.0 {
            self.rate.min(1e9)
        } else {
            1.0
        };
        ((1e9 / rate) as i64).max(1)
    }

    fn burst(&self) -> i64 {
        i64::from(
            self.burst
                .unwrap_or_else(|| self.rate.ceil().clamp(1.0, u32::MAX as f64) as u32)
                .max(1),
        )
    }
}

/// One token bucket.
#[derive(Debug)]
struct Bucket {
    /// When the bucket is full again, in nanoseconds since the epoch.
    full_at_ns: AtomicI64,
}

impl Bucket {
    fn new() -> Self {
        Self {
            full_at_ns: AtomicI64::new(i64::MIN / 2),
        }
    }

    /// Takes a token at `now_ns`; `Err(wait)` when none is left. `Ok(true)` when the bucket
    /// was full, i.e. the caller had been idle for a whole refill.
    #[inline]
    fn take(&self, now_ns: i64, interval_ns: i64, capacity_ns: i64) -> Result<bool, Duration> {
        let mut full_at = self.full_at_ns.load(Ordering::Relaxed);
        loop {
            let was_full = full_at <= now_ns;
            let next = full_at.max(now_ns) + interval_ns;
            let ahead = next - now_ns;
            if ahead > capacity_ns {
                return Err(Duration::from_nanos((ahead - capacity_ns) as u64));
            }
            match self.full_at_ns.compare_exchange_weak(
                full_at,
                next,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(was_full),
                Err(seen) => full_at = seen,
            }
        }
    }

    fn idle(&self, now_ns: i64) -> bool {
        self.full_at_ns.load(Ordering::Relaxed) <= now_ns
    }
}

/// Whether a limiter is refusing, so that a change is reported once, not per call.
#[derive(Debug)]
struct LimitingFlag {
    name: Arc<str>,
    limiting: AtomicBool,
    rejected: AtomicU64,
    observer: SharedObserver,
}

impl LimitingFlag {
    fn new(name: Arc<str>, observer: SharedObserver) -> Self {
        Self {
            name,
            limiting: AtomicBool::new(false),
            rejected: AtomicU64::new(0),
            observer,
        }
    }

    #[cold]
    fn refused(&self, now_ms: i64, reason: impl FnOnce() -> String) {
        self.rejected.fetch_add(1, Ordering::Relaxed);
        if !self.limiting.swap(true, Ordering::AcqRel) {
            self.report(
                GuardState::Admitting,
                GuardState::Limiting,
                reason(),
                now_ms,
            );
        }
    }

    /// A call found its bucket full again: the overload, if any, has passed.
    #[inline]
    fn refilled(&self, now_ms: i64) {
        if self.limiting.load(Ordering::Relaxed) && self.limiting.swap(false, Ordering::AcqRel) {
            self.report(
                GuardState::Limiting,
                GuardState::Admitting,
                "callers are back under the rate".into(),
                now_ms,
            );
        }
    }

    fn report(&self, from: GuardState, to: GuardState, reason: String, now_ms: i64) {
        self.observer.on_transition(&Transition {
            guard: self.name.clone(),
            kind: GuardKind::RateLimit,
            from,
            to,
            reason,
            at_ms: now_ms,
        });
    }
}

/// A rate, its bucket arithmetic and its refusal reporting, shared by both limiters.
#[derive(Debug)]
struct Limit {
    /// The configured rate; an override (from the control plane) replaces it until released.
    config: RateLimitConfig,
    interval_ns: AtomicI64,
    capacity_ns: AtomicI64,
    /// The rate in force when it is not `config`'s, in millionths per second (0: none).
    override_micro: AtomicU64,
    flag: LimitingFlag,
}

impl Limit {
    fn state(&self) -> GuardState {
        if self.flag.limiting.load(Ordering::Relaxed) {
            GuardState::Limiting
        } else {
            GuardState::Admitting
        }
    }

    /// `set_rate_limit` puts a rate in force; `release` restores the configured one.
    fn apply(&self, command: &GuardCommand, reason: &str, now_ms: i64) -> bool {
        match command {
            GuardCommand::SetRateLimit { rate, burst } => {
                let config = RateLimitConfig {
                    rate: *rate,
                    burst: *burst,
                };
                self.set(Some(&config), reason.to_string(), now_ms)
            }
            GuardCommand::Release { .. } => self.set(None, reason.to_string(), now_ms),
            _ => false,
        }
    }

    fn new(name: Arc<str>, config: RateLimitConfig, observer: SharedObserver) -> Self {
        let interval_ns = config.interval_ns();
        Self {
            capacity_ns: AtomicI64::new(interval_ns.saturating_mul(config.burst())),
            interval_ns: AtomicI64::new(interval_ns),
            config,
            override_micro: AtomicU64::new(0),
            flag: LimitingFlag::new(name, observer),
        }
    }

    #[inline]
    fn take(&self, bucket: &Bucket, now_ns: i64) -> Result<bool, Duration> {
        bucket.take(
            now_ns,
            self.interval_ns.load(Ordering::Relaxed),
            self.capacity_ns.load(Ordering::Relaxed),
        )
    }

    /// Puts `rate` in force instead of the configured one, or (`None`) goes back to it.
    /// Returns whether anything changed.
    fn set(&self, rate: Option<&RateLimitConfig>, reason: String, now_ms: i64) -> bool {
        let cfg = rate.unwrap_or(&self.config);
        let interval = cfg.interval_ns();
        let micro = rate.map_or(0, |r| (r.rate * 1e6).round().max(1.0) as u64);
        let before = self.override_micro.swap(micro, Ordering::AcqRel);
        self.interval_ns.store(interval, Ordering::Relaxed);
        self.capacity_ns
            .store(interval.saturating_mul(cfg.burst()), Ordering::Relaxed);
        if before == micro {
            return false;
        }
        let (from, to) = match rate {
            Some(_) => (GuardState::Configured, GuardState::Overridden),
            None => (GuardState::Overridden, GuardState::Configured),
        };
        self.flag.report(from, to, reason, now_ms);
        true
    }

    fn rate_in_force(&self) -> f64 {
        match self.override_micro.load(Ordering::Acquire) {
            0 => self.config.rate,
            m => m as f64 / 1e6,
        }
    }

    /// Turns a bucket's answer into the caller's, reporting a change of state; `who` names
    /// the caller refused.
    #[inline]
    fn settle(
        &self,
        taken: Result<bool, Duration>,
        now_ms: i64,
        who: impl FnOnce() -> String,
    ) -> Result<(), Rejected> {
        match taken {
            Ok(was_full) => {
                if was_full {
                    self.flag.refilled(now_ms);
                }
                Ok(())
            }
            Err(wait) => {
                self.flag.refused(now_ms, || {
                    let interval = self.interval_ns.load(Ordering::Relaxed).max(1);
                    let burst = self.capacity_ns.load(Ordering::Relaxed) / interval;
                    format!(
                        "{} more than {}/s (burst {burst})",
                        who(),
                        self.rate_in_force()
                    )
                });
                Err(self.refusal(wait))
            }
        }
    }

    fn refusal(&self, retry_after: Duration) -> Rejected {
        Rejected::RateLimited {
            guard: self.flag.name.clone(),
            retry_after,
        }
    }
}

/// One rate for all callers.
#[derive(Debug)]
pub struct RateLimiter {
    limit: Limit,
    bucket: Bucket,
}

impl RateLimiter {
    /// A limiter with a full bucket. `config` should have passed validation; a rate it would
    /// refuse becomes 1/s.
    pub fn new(
        name: impl Into<Arc<str>>,
        config: RateLimitConfig,
        observer: SharedObserver,
    ) -> Self {
        Self {
            limit: Limit::new(name.into(), config, observer),
            bucket: Bucket::new(),
        }
    }

    /// Its rate and burst.
    pub fn config(&self) -> &RateLimitConfig {
        &self.limit.config
    }

    /// Calls refused so far.
    pub fn rejected(&self) -> u64 {
        self.limit.flag.rejected.load(Ordering::Relaxed)
    }

    /// Whether it refused the last call it could not admit and has not refilled since.
    pub fn is_limiting(&self) -> bool {
        self.limit.flag.limiting.load(Ordering::Relaxed)
    }

    /// Puts `rate` in force instead of the configured rate, or (`None`) restores it;
    /// returns whether that changed anything (changes are reported to the observer).
    pub fn set_rate(
        &self,
        rate: Option<&RateLimitConfig>,
        reason: impl Into<String>,
        now_ms: i64,
    ) -> bool {
        self.limit.set(rate, reason.into(), now_ms)
    }

    /// Calls per second in force now.
    pub fn rate_in_force(&self) -> f64 {
        self.limit.rate_in_force()
    }

    /// Takes one token at `now_ms`.
    #[inline]
    pub fn try_acquire(&self, now_ms: i64) -> Result<(), Rejected> {
        let taken = self
            .limit
            .take(&self.bucket, now_ms.saturating_mul(1_000_000));
        self.limit.settle(taken, now_ms, || "callers made".into())
    }
}

/// Both limiters are one kind of guard over their shared [`Limit`].
trait Limited: Send + Sync + std::fmt::Debug + 'static {
    fn limit(&self) -> &Limit;
}

impl Limited for RateLimiter {
    fn limit(&self) -> &Limit {
        &self.limit
    }
}

impl<L: Limited> Guard for L {
    fn name(&self) -> &Arc<str> {
        &self.limit().flag.name
    }

    fn kind(&self) -> GuardKind {
        GuardKind::RateLimit
    }

    fn state(&self) -> GuardState {
        self.limit().state()
    }

    fn rejected(&self) -> u64 {
        self.limit().flag.rejected.load(Ordering::Relaxed)
    }

    fn apply(&self, command: &GuardCommand, reason: &str, now_ms: i64) -> bool {
        self.limit().apply(command, reason, now_ms)
    }

    fn into_any(self: Arc<Self>) -> Arc<dyn std::any::Any + Send + Sync> {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transition::RecordingObserver;

    #[test]
    fn burst_then_the_rate() {
        let seen = Arc::new(RecordingObserver::default());
        let l = RateLimiter::new(
            "api",
            RateLimitConfig {
                rate: 10.0,
                burst: Some(5),
            },
            seen.clone(),
        );
        let t0 = 1_000_000;
        for _ in 0..5 {
            l.try_acquire(t0).unwrap();
        }
        let refused = l.try_acquire(t0).unwrap_err();
        assert_eq!(refused.retry_after(), Duration::from_millis(100));
        // One token per 100ms after that.
        assert!(l.try_acquire(t0 + 99).is_err());
        l.try_acquire(t0 + 100).unwrap();
        assert!(l.try_acquire(t0 + 150).is_err());
        assert!(l.is_limiting());
        assert_eq!(l.rejected(), 3);
        // A full refill (0.5s) later the limiter reports it admits again, once.
        l.try_acquire(t0 + 700).unwrap();
        l.try_acquire(t0 + 701).unwrap();
        let path: Vec<_> = seen.transitions().iter().map(|t| t.to.as_str()).collect();
        assert_eq!(path, ["limiting", "admitting"]);
        assert!(seen.transitions()[0]
            .reason
            .contains("more than 10/s (burst 5)"));
    }

    #[test]
    fn an_override_rate_applies_until_released() {
        let seen = Arc::new(RecordingObserver::default());
        let l = RateLimiter::new("api", RateLimitConfig::per_second(100.0), seen.clone());
        let slow = RateLimitConfig {
            rate: 2.0,
            burst: Some(2),
        };
        assert!(l.set_rate(Some(&slow), "rule PaymentsOverloaded", 0));
        assert!(!l.set_rate(Some(&slow), "again", 0));
        assert_eq!(l.rate_in_force(), 2.0);
        let admitted = (0..=1_000)
            .filter(|ms| l.try_acquire(10_000 + ms).is_ok())
            .count();
        assert_eq!(admitted, 2 + 2, "burst of 2, then 2/s over one second");
        assert!(l.set_rate(None, "released", 20_000));
        assert_eq!(l.rate_in_force(), 100.0);
        let admitted = (0..=1_000)
            .filter(|ms| l.try_acquire(30_000 + ms).is_ok())
            .count();
        assert_eq!(admitted, 100 + 100);
        let changes: Vec<_> = seen
            .transitions()
            .iter()
            .map(|t| t.to.as_str())
            .filter(|to| matches!(*to, "overridden" | "configured"))
            .collect();
        assert_eq!(changes, ["overridden", "configured"]);
    }

    #[test]
    fn over_a_long_run_admits_the_rate() {
        let l = RateLimiter::new(
            "api",
            RateLimitConfig::per_second(50.0),
            Arc::new(crate::LogObserver),
        );
        // A caller trying every millisecond for 10s gets 10s × 50/s plus the burst.
        let admitted = (0..=10_000).filter(|ms| l.try_acquire(*ms).is_ok()).count();
        assert_eq!(admitted, 500 + 50);
    }

    #[test]
    fn keys_have_their_own_buckets_and_idle_keys_are_forgotten() {
        let l = KeyedRateLimiter::new(
            "per-key",
            RateLimitConfig {
                rate: 1.0,
                burst: Some(1),
            },
            2,
            Arc::new(crate::LogObserver),
        );
        l.try_acquire("a", 0).unwrap();
        assert!(l.try_acquire("a", 10).is_err());
        l.try_acquire("b", 10).unwrap();
        // Two keys busy: a third is refused rather than growing the table.
        assert!(l.try_acquire("c", 20).is_err());
        // Once "a" and "b" are idle (full again), "c" gets a bucket and they are dropped.
        l.try_acquire("c", 1_500).unwrap();
        assert_eq!(l.keys(), 1);
    }

    #[test]
    fn bad_configs_are_named() {
        let bad = RateLimitConfig {
            rate: -1.0,
            burst: Some(0),
        };
        assert_eq!(bad.validate().len(), 2);
        assert!(RateLimitConfig::per_second(0.5).validate().is_empty());
        assert_eq!(RateLimitConfig::per_second(0.5).burst(), 1);
    }
}
