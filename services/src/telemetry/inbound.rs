//! A server span around every request a service receives, continuing the caller's trace.

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{FutureExt, SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};
use opentelemetry_http::HeaderExtractor;
use opentelemetry_sdk::propagation::TraceContextPropagator;

use super::ServiceTelemetry;

/// The trace context of the request being handled, for handlers to pass to their outbound
/// calls, database work and log records.
#[derive(Debug, Clone)]
pub struct TraceCx(pub Context);

/// Routes whose every request is traced.
pub trait TracedRoutes {
    /// Wraps the routes added so far in [`trace_inbound`]; call it after the other route
    /// layers, so the span covers what they refuse too. The faults drills arm against the
    /// service ([`ServiceTelemetry::with_faults`]) sit inside the span: an injected error or
    /// delay is traced and counted as the service's own, as a real one would be.
    fn traced(self, telemetry: Arc<ServiceTelemetry>) -> Self;
}

impl<S: Clone + Send + Sync + 'static> TracedRoutes for Router<S> {
    fn traced(self, telemetry: Arc<ServiceTelemetry>) -> Self {
        let routes = match telemetry.faults() {
            Some(set) => self.route_layer(taishan_chaos::FaultLayer::new(
                set.clone(),
                telemetry.service(),
            )),
            None => self,
        };
        routes.route_layer(middleware::from_fn_with_state(telemetry, trace_inbound))
    }
}

/// Axum middleware (`route_layer`): one `SpanKind::Server` span per request, named
/// `METHOD /route`, with the status code and an error status on 5xx.
pub async fn trace_inbound(
    State(telemetry): State<Arc<ServiceTelemetry>>,
    mut req: Request,
    next: Next,
) -> Response {
    let parent = TraceContextPropagator::new().extract(&HeaderExtractor(req.headers()));
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| req.uri().path().to_owned());
    let method = req.method().as_str().to_owned();
    let tracer = telemetry.tracer();
    let span = tracer
        .span_builder(format!("{method} {route}"))
        .with_kind(SpanKind::Server)
        .with_attributes([
            KeyValue::new("http.request.method", method),
            KeyValue::new("http.route", route),
        ])
        .start_with_context(tracer, &parent);
    let cx = parent.with_span(span);
    req.extensions_mut().insert(TraceCx(cx.clone()));
    let response = next.run(req).with_context(cx.clone()).await;
    let span = cx.span();
    let status = response.status();
    span.set_attribute(KeyValue::new(
        "http.response.status_code",
        i64::from(status.as_u16()),
    ));
    if status.is_server_error() {
        span.set_status(Status::error(status.to_string()));
    }
    span.end();
    response
}
