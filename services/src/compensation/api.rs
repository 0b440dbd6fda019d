//! The compensation worker's HTTP API: its backlog, its dead letters, a sweep on demand.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};

use super::{Backlog, Compensation, Sweep};
use crate::error::ServiceError;
use crate::payment::OutboxItem;
use crate::telemetry::TracedRoutes;

/// `GET /backlog`, `GET /dead-letters`, `POST /dead-letters/{id}/retry`, `POST /sweep`.
pub fn router(worker: Arc<Compensation>) -> Router {
    let telemetry = worker.telemetry().clone();
    Router::new()
        .route("/backlog", get(backlog))
        .route("/dead-letters", get(dead_letters))
        .route("/dead-letters/{id}/retry", post(retry))
        .route("/sweep", post(sweep))
        .traced(telemetry)
        .with_state(worker)
}

async fn backlog(State(w): State<Arc<Compensation>>) -> Result<Json<Backlog>, ServiceError> {
    Ok(Json(w.backlog()?))
}

async fn dead_letters(
    State(w): State<Arc<Compensation>>,
) -> Result<Json<Vec<OutboxItem>>, ServiceError> {
    Ok(Json(w.dead_letters()?))
}

async fn retry(
    State(w): State<Arc<Compensation>>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ServiceError> {
    w.retry_dead_letter(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn sweep(State(w): State<Arc<Compensation>>) -> Result<Json<Sweep>, ServiceError> {
    Ok(Json(w.sweep().await?))
}
