//! The tower layer the services consult on every request: a request in an armed fault's
//! scope is delayed, answered with an error, or held until it times out; every other
//! request goes straight through (one atomic load when nothing is armed).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response, StatusCode};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use crate::faults::Injection;
use crate::scope::RequestInfo;
use crate::set::FaultSet;

/// Finds the bank channel a request is about, from its path.
pub type ChannelOf = fn(&str) -> Option<&str>;

/// Wraps a service's routes so the faults armed for `service` reach them.
#[derive(Clone, Debug)]
pub struct FaultLayer {
    set: FaultSet,
    service: Arc<str>,
    channel_of: Option<ChannelOf>,
}

impl FaultLayer {
    /// The faults of `set` that are scoped to `service` (or to every service).
    pub fn new(set: FaultSet, service: &str) -> Self {
        Self {
            set,
            service: service.into(),
            channel_of: None,
        }
    }

    /// Also reads the bank channel a request is about from its path, for channel scopes.
    pub fn with_channel(mut self, channel_of: ChannelOf) -> Self {
        self.channel_of = Some(channel_of);
        self
    }
}

impl<S> Layer<S> for FaultLayer {
    type Service = FaultService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        FaultService {
            inner,
            layer: self.clone(),
        }
    }
}

/// A service behind [`FaultLayer`].
#[derive(Clone, Debug)]
pub struct FaultService<S> {
    inner: S,
    layer: FaultLayer,
}

type Faulted<R, E> = Pin<Box<dyn Future<Output = Result<R, E>> + Send>>;

pin_project! {
    /// The response: the service's own, or the fault's.
    #[project = FaultFutureProj]
    pub enum FaultFuture<F, R, E> {
        /// No fault: the service's future, untouched.
        Clean { #[pin] inner: F },
        /// A fault decided what happens.
        Faulted { inner: Faulted<R, E> },
    }
}

impl<F, R, E> Future for FaultFuture<F, R, E>
where
    F: Future<Output = Result<R, E>>,
{
    type Output = Result<R, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            FaultFutureProj::Clean { inner } => inner.poll(cx),
            FaultFutureProj::Faulted { inner } => inner.as_mut().poll(cx),
        }
    }
}

fn respond<B: From<String>>(status: u16, message: String) -> Response<B> {
    let mut r = Response::new(B::from(message));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    r
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for FaultService<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqB: Send + 'static,
    ResB: From<String> + Send + 'static,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = FaultFuture<S::Future, Response<ResB>, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqB>) -> Self::Future {
        let path = req.uri().path();
        let info = RequestInfo {
            service: &self.layer.service,
            method: req.method().as_str(),
            path,
            channel: self.layer.channel_of.and_then(|f| f(path)),
        };
        let Some(injection) = self.layer.set.decide(&info) else {
            return FaultFuture::Clean {
                inner: self.inner.call(req),
            };
        };
        let inner: Faulted<Response<ResB>, S::Error> = match injection {
            Injection::Respond { status, message } => {
                Box::pin(async move { Ok(respond(status, message)) })
            }
            Injection::Hold(d) => Box::pin(async move {
                tokio::time::sleep(d).await;
                Ok(respond(504, "injected fault: no answer in time".into()))
            }),
            Injection::Delay(d) => {
                // The service that was made ready serves this request, after the delay.
                let clone = self.inner.clone();
                let mut ready = std::mem::replace(&mut self.inner, clone);
                Box::pin(async move {
                    tokio::time::sleep(d).await;
                    ready.call(req).await
                })
            }
        };
        FaultFuture::Faulted { inner }
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::time::Duration;

    use taishan_core::ManualClock;
    use tower::{service_fn, ServiceExt};

    use super::*;
    use crate::{FaultSpec, Scope};

    fn set() -> FaultSet {
        FaultSet::new(Arc::new(ManualClock::at(1_000_000)), 1)
    }

    fn arm(set: &FaultSet, spec: &str, scope: Scope) {
        let spec: FaultSpec = serde_json::from_str(spec).unwrap();
        set.arm(spec, scope, Duration::from_secs(60), "test")
            .unwrap();
    }

    async fn get(set: &FaultSet, service: &str, path: &str) -> (u16, String) {
        let ok = service_fn(|_: Request<()>| async {
            Ok::<_, Infallible>(Response::new("served".to_string()))
        });
        let svc = FaultLayer::new(set.clone(), service)
            .with_channel(|p| p.strip_prefix("/channels/")?.split('/').next())
            .layer(ok);
        let r = svc
            .oneshot(Request::get(path).body(()).unwrap())
            .await
            .unwrap();
        (r.status().as_u16(), r.into_body())
    }

    #[tokio::test(start_paused = true)]
    async fn faults_reach_their_scope_and_nothing_else() {
        let set = set();
        assert_eq!(
            get(&set, "payment", "/payments").await,
            (200, "served".into())
        );
        let bank_a = Scope {
            channel: "bank-a".into(),
            ..Scope::service("banks")
        };
        arm(
            &set,
            r#"{"kind": "error", "status": 502, "message": "bank down"}"#,
            bank_a,
        );
        assert_eq!(
            get(&set, "banks", "/channels/bank-a/transfers").await,
            (502, "bank down".into())
        );
        assert_eq!(
            get(&set, "banks", "/channels/bank-b/transfers").await.0,
            200
        );
        assert_eq!(
            get(&set, "payment", "/channels/bank-a/transfers").await.0,
            200
        );
        set.disarm_all();
        assert_eq!(
            get(&set, "banks", "/channels/bank-a/transfers").await.0,
            200,
            "reverted"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn latency_delays_and_a_timeout_holds_then_answers_504() {
        let set = set();
        arm(
            &set,
            r#"{"kind": "latency", "delay": "250ms"}"#,
            Scope::service("ledger"),
        );
        let started = tokio::time::Instant::now();
        assert_eq!(get(&set, "ledger", "/entries").await.0, 200);
        assert_eq!(started.elapsed(), Duration::from_millis(250));
        set.disarm_all();
        arm(
            &set,
            r#"{"kind": "timeout", "after": "5s"}"#,
            Scope::service("risk"),
        );
        let started = tokio::time::Instant::now();
        assert_eq!(get(&set, "risk", "/decisions").await.0, 504);
        assert_eq!(started.elapsed(), Duration::from_secs(5));
    }
}
