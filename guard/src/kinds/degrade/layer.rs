//! A degrade switch choosing between a service and its fallback.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tower::util::Oneshot;
use tower::{Layer, Service, ServiceExt};

use crate::kinds::degrade::DegradeSwitch;

/// Sends calls to `fallback` while the switch is on.
#[derive(Debug, Clone)]
pub struct DegradeLayer<Fb> {
    switch: Arc<DegradeSwitch>,
    fallback: Fb,
}

impl<Fb> DegradeLayer<Fb> {
    /// A layer sending calls to `fallback` while `switch` is on.
    pub fn new(switch: Arc<DegradeSwitch>, fallback: Fb) -> Self {
        Self { switch, fallback }
    }
}

impl<S, Fb: Clone> Layer<S> for DegradeLayer<Fb> {
    type Service = DegradeService<S, Fb>;

    fn layer(&self, inner: S) -> Self::Service {
        DegradeService {
            inner,
            switch: self.switch.clone(),
            fallback: self.fallback.clone(),
        }
    }
}

/// A service with a fallback behind a switch.
#[derive(Debug, Clone)]
pub struct DegradeService<S, Fb> {
    inner: S,
    switch: Arc<DegradeSwitch>,
    fallback: Fb,
}

impl<S, Fb, Req> Service<Req> for DegradeService<S, Fb>
where
    S: Service<Req>,
    Fb: Service<Req, Response = S::Response, Error = S::Error> + Clone,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = DegradeFuture<S::Future, Oneshot<Fb, Req>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        if self.switch.is_degraded() {
            // The fallback is cloned per call so its readiness is its own affair.
            DegradeFuture::Fallback {
                call: self.fallback.clone().oneshot(req),
            }
        } else {
            DegradeFuture::Full {
                call: self.inner.call(req),
            }
        }
    }
}

pin_project_lite::pin_project! {
    /// The call, to the full service or to the fallback.
    #[project = DegradeProj]
    pub enum DegradeFuture<A, B> {
        /// The full service.
        Full { #[pin] call: A },
        /// The fallback.
        Fallback { #[pin] call: B },
    }
}

impl<A, B, T> Future for DegradeFuture<A, B>
where
    A: Future<Output = T>,
    B: Future<Output = T>,
{
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match self.project() {
            DegradeProj::Full { call } => call.poll(cx),
            DegradeProj::Fallback { call } => call.poll(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LogObserver;
    use tower::service_fn;

    #[tokio::test]
    async fn the_switch_routes_to_the_fallback() {
        let switch = Arc::new(DegradeSwitch::new("risk-model", Arc::new(LogObserver)));
        let full = service_fn(|x: u32| async move { Ok::<_, std::convert::Infallible>(x * 2) });
        let fallback = service_fn(|_: u32| async move { Ok::<_, std::convert::Infallible>(0) });
        let svc = DegradeLayer::new(switch.clone(), fallback).layer(full);
        assert_eq!(svc.clone().oneshot(21).await.unwrap(), 42);
        switch.set(true, "test", 0);
        assert_eq!(svc.clone().oneshot(21).await.unwrap(), 0);
    }
}
