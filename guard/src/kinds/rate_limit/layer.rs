//! A rate limit in front of a service, shared or per key.

use std::sync::Arc;
use std::task::{Context, Poll};

use taishan_core::Clock;
use tower::{BoxError, Layer, Service};

use crate::kinds::rate_limit::{KeyedRateLimiter, RateLimiter};
use crate::layer::GuardedFuture;

/// Picks the key a request is limited under.
pub trait KeyOf<Req>: Clone {
    /// The key, or `None` for the shared anonymous bucket.
    fn key_of(&self, req: &Req) -> Option<String>;
}

/// Every request shares one bucket.
#[derive(Debug, Clone, Copy, Default)]
pub struct SharedKey;

impl<Req> KeyOf<Req> for SharedKey {
    fn key_of(&self, _: &Req) -> Option<String> {
        None
    }
}

impl<Req, F> KeyOf<Req> for F
where
    F: Fn(&Req) -> Option<String> + Clone,
{
    fn key_of(&self, req: &Req) -> Option<String> {
        self(req)
    }
}

#[derive(Debug, Clone)]
enum Limiter {
    Shared(Arc<RateLimiter>),
    PerKey(Arc<KeyedRateLimiter>),
}

/// Refuses calls beyond a rate with a [`crate::Rejected::RateLimited`].
#[derive(Debug, Clone)]
pub struct RateLimitLayer<K> {
    limiter: Limiter,
    clock: Arc<dyn Clock>,
    key: K,
}

impl RateLimitLayer<SharedKey> {
    /// One bucket for every call.
    pub fn shared(limiter: Arc<RateLimiter>, clock: Arc<dyn Clock>) -> Self {
        Self {
            limiter: Limiter::Shared(limiter),
            clock,
            key: SharedKey,
        }
    }
}

impl<K> RateLimitLayer<K> {
    /// A bucket per key that `key` picks; requests without one share the `""` bucket.
    pub fn per_key(limiter: Arc<KeyedRateLimiter>, clock: Arc<dyn Clock>, key: K) -> Self {
        Self {
            limiter: Limiter::PerKey(limiter),
            clock,
            key,
        }
    }
}

impl<S, K: Clone> Layer<S> for RateLimitLayer<K> {
    type Service = RateLimitService<S, K>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimitService {
            inner,
            limiter: self.limiter.clone(),
            clock: self.clock.clone(),
            key: self.key.clone(),
        }
    }
}

/// A service behind a rate limit.
#[derive(Debug, Clone)]
pub struct RateLimitService<S, K> {
    inner: S,
    limiter: Limiter,
    clock: Arc<dyn Clock>,
    key: K,
}

impl<S, K, Req> Service<Req> for RateLimitService<S, K>
where
    S: Service<Req>,
    S::Error: Into<BoxError>,
    K: KeyOf<Req>,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = GuardedFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        let now = self.clock.now_ms();
        let admitted = match &self.limiter {
            Limiter::Shared(l) => l.try_acquire(now),
            Limiter::PerKey(l) => {
                let key = self.key.key_of(&req);
                l.try_acquire(key.as_deref().unwrap_or(""), now)
            }
        };
        match admitted {
            Ok(()) => GuardedFuture::Admitted {
                call: self.inner.call(req),
                permit: None,
            },
            Err(r) => GuardedFuture::Refused { rejected: Some(r) },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::rejection;
    use crate::{LogObserver, RateLimitConfig, Rejected};
    use taishan_core::ManualClock;
    use tower::{service_fn, ServiceExt};

    #[tokio::test]
    async fn each_key_gets_its_own_rate() {
        let limiter = Arc::new(KeyedRateLimiter::new(
            "api-keys",
            RateLimitConfig {
                rate: 1.0,
                burst: Some(2),
            },
            100,
            Arc::new(LogObserver),
        ));
        let clock = Arc::new(ManualClock::at(0));
        let key = |req: &(&'static str, u32)| Some(req.0.to_string());
        let svc = RateLimitLayer::per_key(limiter, clock.clone(), key).layer(service_fn(
            |req: (&str, u32)| async move { Ok::<_, BoxError>(req.1) },
        ));
        assert_eq!(svc.clone().oneshot(("a", 1)).await.unwrap(), 1);
        assert_eq!(svc.clone().oneshot(("a", 2)).await.unwrap(), 2);
        let err = svc.clone().oneshot(("a", 3)).await.unwrap_err();
        assert!(matches!(
            rejection(&err),
            Some(Rejected::RateLimited { .. })
        ));
        assert_eq!(svc.clone().oneshot(("b", 4)).await.unwrap(), 4);
        clock.advance(std::time::Duration::from_secs(1));
        assert_eq!(svc.clone().oneshot(("a", 5)).await.unwrap(), 5);
    }
}
