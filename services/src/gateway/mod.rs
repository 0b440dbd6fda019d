//! `gateway`: the entry point. Checks the demo's API keys, gives every request an id,
//! limits each key's rate (a `taishan-guard` token bucket per key, as a tower layer), and
//! routes to the loan service.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::error_handling::HandleErrorLayer;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use opentelemetry::trace::TraceContextExt;
use opentelemetry::KeyValue;
use serde_json::json;
use taishan_core::Clock;
use taishan_guard::layer::{rejection, BoxError, RateLimitLayer};
use taishan_guard::{Guards, KeyedRateLimiter, RateLimitConfig};
use tower::ServiceBuilder;

use crate::error::ServiceError;
use crate::telemetry::{GuardTelemetry, ServiceTelemetry, TraceCx, TracedClient, TracedRoutes};

/// The header carrying the caller's API key.
pub const API_KEY_HEADER: &str = "x-api-key";
/// The header carrying the request id (given, or made up by the gateway).
pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// The API keys the demo accepts.
pub const DEMO_API_KEYS: &[&str] = &["demo-mobile-app", "demo-partner-portal"];

/// The gateway's routes and limits.
#[derive(Debug, Clone)]
pub struct GatewaySettings {
    /// The loan service.
    pub loan_url: String,
    /// Accepted API keys.
    pub api_keys: Vec<String>,
    /// Each key's rate.
    pub rate_per_key: RateLimitConfig,
}

impl GatewaySettings {
    /// The demo keys, `rate` requests/s each with bursts of twice that.
    pub fn new(loan_url: String, rate: f64) -> Self {
        Self {
            loan_url,
            api_keys: DEMO_API_KEYS.iter().map(|k| k.to_string()).collect(),
            rate_per_key: RateLimitConfig {
                rate,
                burst: Some((rate * 2.0).ceil().clamp(1.0, u32::MAX as f64) as u32),
            },
        }
    }
}

/// The gateway's state.
#[derive(Debug)]
pub struct Gateway {
    telemetry: Arc<ServiceTelemetry>,
    client: TracedClient,
    settings: GatewaySettings,
    guards: Arc<Guards>,
    limiter: Arc<KeyedRateLimiter>,
    clock: Arc<dyn Clock>,
}

impl Gateway {
    /// A gateway in front of the loan service.
    pub fn new(
        settings: GatewaySettings,
        telemetry: Arc<ServiceTelemetry>,
        clock: Arc<dyn Clock>,
    ) -> Arc<Self> {
        let observer = GuardTelemetry::new(telemetry.clone());
        let guards = Arc::new(Guards::new(observer.clone(), clock.clone()));
        let limiter = guards.keyed_rate_limiter(
            "api-key-rate",
            settings.rate_per_key.clone(),
            settings.api_keys.len().max(1) * 4,
        );
        observer.observe(guards.clone());
        Arc::new(Self {
            client: TracedClient::new(telemetry.clone(), Duration::from_secs(10)),
            telemetry,
            settings,
            guards,
            limiter,
            clock,
        })
    }

    /// The gateway's guards.
    pub fn guards(&self) -> &Arc<Guards> {
        &self.guards
    }
}

/// `POST /api/applications`, `POST /api/drawdowns`, `GET /api/drawdowns/{id}`,
/// `POST /api/repayments`, `GET /api/customers/{id}/line`, `GET /api/customers/{id}/owing`.
pub fn router(gateway: Arc<Gateway>) -> Router {
    let rate_limit = ServiceBuilder::new()
        .layer(HandleErrorLayer::new(refused))
        .layer(RateLimitLayer::per_key(
            gateway.limiter.clone(),
            gateway.clock.clone(),
            api_key_of,
        ));
    Router::new()
        .route("/api/applications", post(forward))
        .route("/api/drawdowns", post(forward))
        .route("/api/drawdowns/{id}", get(forward))
        .route("/api/repayments", post(forward))
        .route("/api/customers/{id}/line", get(forward))
        .route("/api/customers/{id}/owing", get(forward))
        .route_layer(rate_limit)
        .route_layer(middleware::from_fn_with_state(
            gateway.clone(),
            authenticate,
        ))
        .traced(gateway.telemetry.clone())
        .with_state(gateway)
}

fn api_key_of(req: &Request) -> Option<String> {
    req.headers()
        .get(API_KEY_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// A guard's refusal as HTTP: 429 with `Retry-After`.
async fn refused(error: BoxError) -> Response {
    match rejection(&error) {
        Some(r) => {
            let secs = r.retry_after().as_secs_f64().ceil().max(1.0) as u64;
            let mut response = (
                StatusCode::TOO_MANY_REQUESTS,
                Json(json!({"error": "rate_limited", "reason": r.to_string()})),
            )
                .into_response();
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            response
        }
        None => ServiceError::Internal(error.to_string()).into_response(),
    }
}

/// Refuses unknown API keys (401) and gives the request an id.
async fn authenticate(
    State(gateway): State<Arc<Gateway>>,
    mut req: Request,
    next: Next,
) -> Response {
    let key = api_key_of(&req);
    let known = key
        .as_deref()
        .is_some_and(|k| gateway.settings.api_keys.iter().any(|a| a == k));
    if !known {
        let reason = match key {
            None => format!("missing {API_KEY_HEADER} header"),
            Some(_) => format!("unknown key in {API_KEY_HEADER}"),
        };
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "unauthorized", "reason": reason})),
        )
            .into_response();
    }
    let id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 100)
        .map(str::to_owned)
        .unwrap_or_else(|| format!("req-{:016x}", rand::random::<u64>()));
    if let Some(TraceCx(cx)) = req.extensions().get::<TraceCx>() {
        cx.span()
            .set_attribute(KeyValue::new("request.id", id.clone()));
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        req.headers_mut().insert(REQUEST_ID_HEADER, v.clone());
        let mut response = next.run(req).await;
        response.headers_mut().insert(REQUEST_ID_HEADER, v);
        return response;
    }
    next.run(req).await
}

/// The most a request body to the gateway may hold.
const MAX_BODY: usize = 64 * 1024;

async fn forward(
    State(gateway): State<Arc<Gateway>>,
    Extension(TraceCx(cx)): Extension<TraceCx>,
    matched: MatchedPath,
    req: Request,
) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().trim_start_matches("/api").to_string();
    let body = match to_bytes(req.into_body(), MAX_BODY).await {
        Ok(b) => b,
        Err(e) => {
            return ServiceError::BadRequest(format!("body: {e} (at most {MAX_BODY} bytes)"))
                .into_response()
        }
    };
    let route: &'static str = match (method.clone(), matched.as_str()) {
        (Method::POST, "/api/applications") => "POST /applications",
        (Method::POST, "/api/drawdowns") => "POST /drawdowns",
        (Method::POST, "/api/repayments") => "POST /repayments",
        (_, "/api/drawdowns/{id}") => "GET /drawdowns/{id}",
        (_, "/api/customers/{id}/line") => "GET /customers/{id}/line",
        _ => "GET /customers/{id}/owing",
    };
    let url = format!("{}{path}", gateway.settings.loan_url);
    let body = (method == Method::POST).then(|| body.to_vec());
    match gateway
        .client
        .forward(&cx, "loan", route, method, &url, body)
        .await
    {
        Ok((status, bytes)) => Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(bytes))
            .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response()),
        Err(e) => ServiceError::Upstream(e.to_string()).into_response(),
    }
}
