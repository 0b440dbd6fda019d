//! The reconciliation service's HTTP API.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;

use super::{Reconciliation, Report};
use crate::error::{ApiJson, ServiceError};
use crate::telemetry::{TraceCx, TracedRoutes};

/// `POST /runs` (`{"from_ms":..,"to_ms":..}`), `GET /runs/latest`.
pub fn router(recon: Arc<Reconciliation>) -> Router {
    let telemetry = recon.telemetry().clone();
    Router::new()
        .route("/runs", post(run))
        .route("/runs/latest", get(latest))
        .traced(telemetry)
        .with_state(recon)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunRequest {
    from_ms: i64,
    to_ms: i64,
}

async fn run(
    State(recon): State<Arc<Reconciliation>>,
    Extension(TraceCx(cx)): Extension<TraceCx>,
    ApiJson(req): ApiJson<RunRequest>,
) -> Result<Json<Report>, ServiceError> {
    Ok(Json(recon.run(&cx, req.from_ms, req.to_ms).await?))
}

async fn latest(State(recon): State<Arc<Reconciliation>>) -> Result<Json<Report>, ServiceError> {
    recon
        .latest()
        .map(Json)
        .ok_or_else(|| ServiceError::NotFound("no reconciliation has run yet".into()))
}
