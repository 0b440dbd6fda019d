//! The risk service's HTTP API.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post, put};
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};

use super::{Decision, DecisionRequest, Risk};
use crate::error::{ApiJson, ServiceError};
use crate::telemetry::{TraceCx, TracedRoutes};

/// `POST /decisions`, `GET /degrade`, `PUT /degrade`.
pub fn router(risk: Arc<Risk>) -> Router {
    let telemetry = risk.telemetry.clone();
    Router::new()
        .route("/decisions", post(decide))
        .route("/degrade", get(degrade_state))
        .route("/degrade", put(set_degrade))
        .traced(telemetry)
        .with_state(risk)
}

async fn decide(
    State(risk): State<Arc<Risk>>,
    Extension(TraceCx(cx)): Extension<TraceCx>,
    ApiJson(req): ApiJson<DecisionRequest>,
) -> Result<Json<Decision>, ServiceError> {
    Ok(Json(risk.decide(&cx, req).await?))
}

/// The degrade switch as the API shows it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DegradeState {
    degraded: bool,
    #[serde(default)]
    reason: String,
}

async fn degrade_state(State(risk): State<Arc<Risk>>) -> Json<DegradeState> {
    Json(DegradeState {
        degraded: risk.degrade.is_degraded(),
        reason: risk.degrade.reason(),
    })
}

async fn set_degrade(
    State(risk): State<Arc<Risk>>,
    ApiJson(req): ApiJson<DegradeState>,
) -> Result<Json<DegradeState>, ServiceError> {
    if req.reason.trim().is_empty() {
        return Err(ServiceError::BadRequest(
            "reason: say why the switch changes (it is logged and audited)".into(),
        ));
    }
    risk.degrade
        .set(req.degraded, req.reason.clone(), risk.clock.now_ms());
    Ok(Json(DegradeState {
        degraded: risk.degrade.is_degraded(),
        reason: risk.degrade.reason(),
    }))
}
