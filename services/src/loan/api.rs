//! The loan service's HTTP API.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::{json, Value};

use super::{
    ApplicationOutcome, ApplicationRequest, CreditLine, Drawdown, DrawdownRequest, Loans,
    Repayment, RepaymentRequest,
};
use crate::error::{ApiJson, ServiceError};
use crate::payment::PaymentNotice;
use crate::telemetry::{TraceCx, TracedRoutes};

/// `POST /applications`, `POST /drawdowns`, `GET /drawdowns/{id}`, `POST /repayments`,
/// `GET /customers/{id}/line`, `GET /customers/{id}/owing`, `POST /payment-notices`.
pub fn router(loans: Arc<Loans>) -> Router {
    let telemetry = loans.telemetry().clone();
    Router::new()
        .route("/applications", post(apply))
        .route("/drawdowns", post(drawdown))
        .route("/drawdowns/{id}", get(one_drawdown))
        .route("/repayments", post(repay))
        .route("/customers/{id}/line", get(line))
        .route("/customers/{id}/owing", get(owing))
        .route("/payment-notices", post(notice))
        .traced(telemetry)
        .with_state(loans)
}

async fn apply(
    State(loans): State<Arc<Loans>>,
    Extension(TraceCx(cx)): Extension<TraceCx>,
    ApiJson(req): ApiJson<ApplicationRequest>,
) -> Result<(StatusCode, Json<ApplicationOutcome>), ServiceError> {
    Ok((StatusCode::CREATED, Json(loans.apply(&cx, req).await?)))
}

async fn drawdown(
    State(loans): State<Arc<Loans>>,
    Extension(TraceCx(cx)): Extension<TraceCx>,
    ApiJson(req): ApiJson<DrawdownRequest>,
) -> Result<(StatusCode, Json<Drawdown>), ServiceError> {
    Ok((StatusCode::CREATED, Json(loans.drawdown(&cx, req).await?)))
}

async fn one_drawdown(
    State(loans): State<Arc<Loans>>,
    Path(id): Path<String>,
) -> Result<Json<Drawdown>, ServiceError> {
    Ok(Json(loans.get_drawdown(&id)?))
}

async fn repay(
    State(loans): State<Arc<Loans>>,
    Extension(TraceCx(cx)): Extension<TraceCx>,
    ApiJson(req): ApiJson<RepaymentRequest>,
) -> Result<(StatusCode, Json<Repayment>), ServiceError> {
    Ok((StatusCode::CREATED, Json(loans.repay(&cx, req).await?)))
}

async fn line(
    State(loans): State<Arc<Loans>>,
    Path(id): Path<String>,
) -> Result<Json<CreditLine>, ServiceError> {
    Ok(Json(loans.line(&id)?))
}

async fn owing(
    State(loans): State<Arc<Loans>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ServiceError> {
    Ok(Json(json!({ "drawdowns": loans.owing(&id)? })))
}

async fn notice(
    State(loans): State<Arc<Loans>>,
    Extension(TraceCx(cx)): Extension<TraceCx>,
    ApiJson(n): ApiJson<PaymentNotice>,
) -> Result<Json<Value>, ServiceError> {
    loans.notice(&cx, n).await?;
    Ok(Json(json!({ "status": "applied" })))
}
