//! A circuit breaker around a service.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use taishan_core::Clock;
use tower::{BoxError, Layer, Service};

use crate::kinds::breaker::{Admission, CallOutcome, CircuitBreaker};
use crate::rejection::Rejected;

/// Decides whether a completed call counts as a failure for the breaker.
pub trait FailureClassifier<T, E>: Clone {
    /// True when `result` should count against the dependency.
    fn is_failure(&self, result: &Result<T, E>) -> bool;
}

impl<T, E, F> FailureClassifier<T, E> for F
where
    F: Fn(&Result<T, E>) -> bool + Clone,
{
    fn is_failure(&self, result: &Result<T, E>) -> bool {
        self(result)
    }
}

/// Wraps services in `breaker`; `classify` says which results are failures.
#[derive(Debug, Clone)]
pub struct BreakerLayer<C> {
    breaker: Arc<CircuitBreaker>,
    clock: Arc<dyn Clock>,
    classify: C,
}

impl<C> BreakerLayer<C> {
    /// A layer sharing `breaker` between every service it wraps.
    pub fn new(breaker: Arc<CircuitBreaker>, clock: Arc<dyn Clock>, classify: C) -> Self {
        Self {
            breaker,
            clock,
            classify,
        }
    }
}

impl<S, C: Clone> Layer<S> for BreakerLayer<C> {
    type Service = BreakerService<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        BreakerService {
            inner,
            breaker: self.breaker.clone(),
            clock: self.clock.clone(),
            classify: self.classify.clone(),
        }
    }
}

/// A service behind a circuit breaker.
#[derive(Debug, Clone)]
pub struct BreakerService<S, C> {
    inner: S,
    breaker: Arc<CircuitBreaker>,
    clock: Arc<dyn Clock>,
    classify: C,
}

impl<S, C, Req> Service<Req> for BreakerService<S, C>
where
    S: Service<Req>,
    S::Error: Into<BoxError>,
    C: FailureClassifier<S::Response, S::Error>,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = BreakerFuture<S::Future, C>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        let started_ms = self.clock.now_ms();
        match self.breaker.try_acquire(started_ms) {
            Ok(admission) => BreakerFuture::Admitted {
                call: self.inner.call(req),
                admission,
                started_ms,
                breaker: self.breaker.clone(),
                clock: self.clock.clone(),
                classify: self.classify.clone(),
            },
            Err(rejected) => BreakerFuture::Refused {
                rejected: Some(rejected),
            },
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of a call through a breaker.
    #[project = BreakerProj]
    pub enum BreakerFuture<F, C> {
        /// Admitted: its outcome is recorded when it completes.
        Admitted {
            #[pin]
            call: F,
            admission: Admission,
            started_ms: i64,
            breaker: Arc<CircuitBreaker>,
            clock: Arc<dyn Clock>,
            classify: C,
        },
        /// Refused by the open breaker.
        Refused { rejected: Option<Rejected> },
    }
}

impl<F, C, T, E> Future for BreakerFuture<F, C>
where
    F: Future<Output = Result<T, E>>,
    E: Into<BoxError>,
    C: FailureClassifier<T, E>,
{
    type Output = Result<T, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            BreakerProj::Admitted {
                call,
                admission,
                started_ms,
                breaker,
                clock,
                classify,
            } => {
                let result = match call.poll(cx) {
                    Poll::Ready(r) => r,
                    Poll::Pending => return Poll::Pending,
                };
                let now = clock.now_ms();
                let outcome = CallOutcome {
                    failed: classify.is_failure(&result),
                    duration: Duration::from_millis((now - *started_ms).max(0) as u64),
                };
                breaker.record(*admission, outcome, now);
                Poll::Ready(result.map_err(Into::into))
            }
            BreakerProj::Refused { rejected } => Poll::Ready(Err(match rejected.take() {
                Some(r) => Box::new(r),
                None => "breaker future polled after completion".into(),
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::rejection;
    use crate::{BreakerConfig, BreakerState, LogObserver};
    use taishan_core::ManualClock;
    use tower::{service_fn, ServiceExt};

    #[tokio::test]
    async fn failing_calls_open_it_and_refusals_are_rejections() {
        let breaker = Arc::new(CircuitBreaker::new(
            "bank-a",
            BreakerConfig {
                min_calls: 4,
                ..Default::default()
            },
            Arc::new(LogObserver),
        ));
        let clock = Arc::new(ManualClock::at(0));
        let layer = BreakerLayer::new(
            breaker.clone(),
            clock.clone(),
            |r: &Result<u16, BoxError>| matches!(r, Ok(code) if *code >= 500) || r.is_err(),
        );
        let svc = layer.layer(service_fn(
            |code: u16| async move { Ok::<_, BoxError>(code) },
        ));
        for _ in 0..4 {
            assert_eq!(svc.clone().oneshot(503).await.unwrap(), 503);
        }
        assert_eq!(breaker.state(), BreakerState::Open);
        let err = svc.clone().oneshot(200).await.unwrap_err();
        assert!(matches!(
            rejection(&err),
            Some(Rejected::BreakerOpen { .. })
        ));
        clock.advance(Duration::from_secs(5));
        for _ in 0..3 {
            assert_eq!(svc.clone().oneshot(200).await.unwrap(), 200);
        }
        assert_eq!(breaker.state(), BreakerState::Closed);
    }
}
