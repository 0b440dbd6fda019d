//! The clearing service's HTTP API.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::routing::post;
use axum::{Extension, Json, Router};
use serde::Deserialize;

use super::{Clearing, Settlement};
use crate::error::{ApiJson, ServiceError};
use crate::telemetry::{TraceCx, TracedRoutes};

/// `POST /runs` (`{"from_ms":..,"to_ms":..}`), `GET /runs?from_ms=&to_ms=`.
pub fn router(clearing: Arc<Clearing>) -> Router {
    let telemetry = clearing.telemetry().clone();
    Router::new()
        .route("/runs", post(run).get(find))
        .traced(telemetry)
        .with_state(clearing)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Period {
    from_ms: i64,
    to_ms: i64,
}

async fn run(
    State(clearing): State<Arc<Clearing>>,
    Extension(TraceCx(cx)): Extension<TraceCx>,
    ApiJson(p): ApiJson<Period>,
) -> Result<Json<Settlement>, ServiceError> {
    Ok(Json(clearing.run(&cx, p.from_ms, p.to_ms).await?))
}

async fn find(
    State(clearing): State<Arc<Clearing>>,
    Query(p): Query<Period>,
) -> Result<Json<Settlement>, ServiceError> {
    clearing
        .find(p.from_ms, p.to_ms)?
        .map(Json)
        .ok_or_else(|| ServiceError::NotFound("that period has not been cleared".into()))
}
