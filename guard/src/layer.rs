//! The guards as tower layers: each kind's layer lives beside it (`kinds/<kind>/layer.rs`)
//! and is re-exported here; what they share is here.
//!
//! Refusals surface as a boxed [`Rejected`] in the layer's `tower::BoxError` (as tower's own
//! limit layers do), so layers stack without nesting error types; callers downcast to tell a
//! refusal from a failure of the wrapped service. Each layer reads the clock once per call.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

pub use crate::kinds::breaker::layer::{
    BreakerFuture, BreakerLayer, BreakerService, FailureClassifier,
};
pub use crate::kinds::concurrency::layer::{ConcurrencyLimitLayer, ConcurrencyLimitService};
pub use crate::kinds::degrade::layer::{DegradeFuture, DegradeLayer, DegradeService};
pub use crate::kinds::rate_limit::layer::{KeyOf, RateLimitLayer, RateLimitService, SharedKey};
pub use tower::BoxError;

use crate::kinds::concurrency::ConcurrencyPermit;
use crate::rejection::Rejected;

/// The refusal in `error`, if a guard refused the call.
pub fn rejection(error: &BoxError) -> Option<&Rejected> {
    error.downcast_ref::<Rejected>()
}

pin_project_lite::pin_project! {
    /// The future of a call a guard either let through (holding its slot, if any, until the
    /// call completes) or refused.
    #[project = GuardedProj]
    pub enum GuardedFuture<F> {
        /// The call was admitted.
        Admitted {
            #[pin]
            call: F,
            permit: Option<ConcurrencyPermit>,
        },
        /// The call was refused.
        Refused {
            rejected: Option<Rejected>,
        },
    }
}

impl<F, T, E> Future for GuardedFuture<F>
where
    F: Future<Output = Result<T, E>>,
    E: Into<BoxError>,
{
    type Output = Result<T, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            GuardedProj::Admitted { call, permit } => match call.poll(cx) {
                Poll::Ready(result) => {
                    permit.take();
                    Poll::Ready(result.map_err(Into::into))
                }
                Poll::Pending => Poll::Pending,
            },
            GuardedProj::Refused { rejected } => Poll::Ready(Err(match rejected.take() {
                Some(r) => Box::new(r),
                None => "guarded future polled after completion".into(),
            })),
        }
    }
}
