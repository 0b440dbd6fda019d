//! A cap on calls in flight through a service.

use std::sync::Arc;
use std::task::{Context, Poll};

use tower::{BoxError, Layer, Service};

use crate::kinds::concurrency::ConcurrencyLimit;
use crate::layer::GuardedFuture;

/// Refuses calls beyond the limit with a [`crate::Rejected::ConcurrencyLimited`], instead of
/// queueing them as `tower::limit::ConcurrencyLimit` does: a queue in front of a struggling
/// dependency only adds latency.
#[derive(Debug, Clone)]
pub struct ConcurrencyLimitLayer {
    limit: Arc<ConcurrencyLimit>,
}

impl ConcurrencyLimitLayer {
    /// A layer sharing `limit` between every service it wraps.
    pub fn new(limit: Arc<ConcurrencyLimit>) -> Self {
        Self { limit }
    }
}

impl<S> Layer<S> for ConcurrencyLimitLayer {
    type Service = ConcurrencyLimitService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ConcurrencyLimitService {
            inner,
            limit: self.limit.clone(),
        }
    }
}

/// A service behind a concurrency limit.
#[derive(Debug, Clone)]
pub struct ConcurrencyLimitService<S> {
    inner: S,
    limit: Arc<ConcurrencyLimit>,
}

impl<S, Req> Service<Req> for ConcurrencyLimitService<S>
where
    S: Service<Req>,
    S::Error: Into<BoxError>,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = GuardedFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        match self.limit.try_acquire() {
            Ok(permit) => GuardedFuture::Admitted {
                call: self.inner.call(req),
                permit: Some(permit),
            },
            Err(r) => GuardedFuture::Refused { rejected: Some(r) },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LogObserver;
    use tower::{service_fn, ServiceExt};

    #[tokio::test]
    async fn the_slot_is_held_until_the_call_completes() {
        let limit = Arc::new(ConcurrencyLimit::new(
            "db",
            1,
            Arc::new(LogObserver),
            Arc::new(taishan_core::SystemClock),
        ));
        let (release, wait) = tokio::sync::oneshot::channel::<()>();
        let wait = Arc::new(parking_lot::Mutex::new(Some(wait)));
        let svc = ConcurrencyLimitLayer::new(limit.clone()).layer(service_fn(move |_: ()| {
            let wait = wait.lock().take();
            async move {
                if let Some(w) = wait {
                    let _ = w.await;
                }
                Ok::<_, BoxError>(())
            }
        }));
        let first = tokio::spawn(svc.clone().oneshot(()));
        while limit.in_flight() == 0 {
            tokio::task::yield_now().await;
        }
        assert!(svc.clone().oneshot(()).await.is_err());
        release.send(()).unwrap();
        first.await.unwrap().unwrap();
        assert_eq!(limit.in_flight(), 0);
        svc.oneshot(()).await.unwrap();
    }
}
