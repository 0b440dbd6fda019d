//! A rate limit per key (an API key, a customer): one token bucket each, under one guard.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::{Bucket, Limit, Limited, RateLimitConfig};
use crate::rejection::Rejected;
use crate::transition::SharedObserver;

/// One bucket per key (an API key, a customer), at most `max_keys` at a time.
#[derive(Debug)]
pub struct KeyedRateLimiter {
    limit: Limit,
    max_keys: usize,
    buckets: parking_lot::RwLock<HashMap<Box<str>, Bucket>>,
}

impl KeyedRateLimiter {
    /// A limiter giving each key `config`'s rate; beyond `max_keys` keys with partly used
    /// buckets, new keys are refused until some go idle.
    pub fn new(
        name: impl Into<Arc<str>>,
        config: RateLimitConfig,
        max_keys: usize,
        observer: SharedObserver,
    ) -> Self {
        Self {
            limit: Limit::new(name.into(), config, observer),
            max_keys: max_keys.max(1),
            buckets: parking_lot::RwLock::new(HashMap::new()),
        }
    }

    /// Its per-key rate and burst.
    pub fn config(&self) -> &RateLimitConfig {
        &self.limit.config
    }

    /// Calls refused so far.
    pub fn rejected(&self) -> u64 {
        self.limit.flag.rejected.load(Ordering::Relaxed)
    }

    /// Whether some key is being refused.
    pub fn is_limiting(&self) -> bool {
        self.limit.flag.limiting.load(Ordering::Relaxed)
    }

    /// Keys with a bucket now.
    pub fn keys(&self) -> usize {
        self.buckets.read().len()
    }

    /// Puts `rate` in force for every key instead of the configured rate, or (`None`)
    /// restores it; returns whether that changed anything.
    pub fn set_rate(
        &self,
        rate: Option<&RateLimitConfig>,
        reason: impl Into<String>,
        now_ms: i64,
    ) -> bool {
        self.limit.set(rate, reason.into(), now_ms)
    }

    /// Calls per second per key in force now.
    pub fn rate_in_force(&self) -> f64 {
        self.limit.rate_in_force()
    }

    /// Takes one of `key`'s tokens at `now_ms`.
    pub fn try_acquire(&self, key: &str, now_ms: i64) -> Result<(), Rejected> {
        let now_ns = now_ms.saturating_mul(1_000_000);
        let taken = {
            let buckets = self.buckets.read();
            buckets.get(key).map(|b| self.limit.take(b, now_ns))
        };
        let taken = match taken {
            Some(t) => t,
            None => self.take_new(key, now_ns)?,
        };
        self.limit
            .settle(taken, now_ms, || format!("key {key:?} made"))
    }

    #[cold]
    fn take_new(&self, key: &str, now_ns: i64) -> Result<Result<bool, Duration>, Rejected> {
        let mut buckets = self.buckets.write();
        if !buckets.contains_key(key) && buckets.len() >= self.max_keys {
            // An idle bucket is full, exactly like a new one: forgetting it loses nothing.
            buckets.retain(|_, b| !b.idle(now_ns));
            if buckets.len() >= self.max_keys {
                self.limit.flag.rejected.fetch_add(1, Ordering::Relaxed);
                let wait =
                    Duration::from_nanos(self.limit.interval_ns.load(Ordering::Relaxed) as u64);
                return Err(self.limit.refusal(wait));
            }
        }
        let bucket = buckets.entry(key.into()).or_insert_with(Bucket::new);
        Ok(self.limit.take(bucket, now_ns))
    }
}

impl Limited for KeyedRateLimiter {
    fn limit(&self) -> &Limit {
        &self.limit
    }
}
