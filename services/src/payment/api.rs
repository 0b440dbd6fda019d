//! The payment service's HTTP API.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;

use super::{Payment, PaymentFilter, PaymentRequest, Payments, ResultOutcome};
use crate::bank::{BankCallback, BankStatus};
use crate::error::{ApiJson, ServiceError};
use crate::money::Money;
use crate::telemetry::{TraceCx, TracedRoutes};

/// `POST /payments`, `GET /payments/{id}`, `GET /payments?created_from_ms=...`,
/// `POST /callbacks/{channel}`.
pub fn router(payments: Arc<Payments>) -> Router {
    let telemetry = payments.telemetry().clone();
    Router::new()
        .route("/payments", post(create).get(list))
        .route("/payments/{id}", get(one))
        .route("/callbacks/{channel}", post(callback))
        .traced(telemetry)
        .with_state(payments)
}

async fn create(
    State(payments): State<Arc<Payments>>,
    Extension(TraceCx(cx)): Extension<TraceCx>,
    ApiJson(req): ApiJson<PaymentRequest>,
) -> Result<(StatusCode, Json<Payment>), ServiceError> {
    let p = payments.create(&cx, req).await?;
    Ok((StatusCode::CREATED, Json(p)))
}

async fn one(
    State(payments): State<Arc<Payments>>,
    Path(id): Path<String>,
) -> Result<Json<Payment>, ServiceError> {
    Ok(Json(payments.get(&id)?))
}

async fn list(
    State(payments): State<Arc<Payments>>,
    Query(filter): Query<PaymentFilter>,
) -> Result<Json<Vec<Payment>>, ServiceError> {
    Ok(Json(payments.list(&filter)?))
}

/// A bank's result callback, as the banks send it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CallbackBody {
    channel: String,
    reference: String,
    status: BankStatus,
    amount: Money,
}

async fn callback(
    State(payments): State<Arc<Payments>>,
    Extension(TraceCx(cx)): Extension<TraceCx>,
    Path(channel): Path<String>,
    ApiJson(body): ApiJson<CallbackBody>,
) -> Result<Json<ResultOutcome>, ServiceError> {
    if body.channel != channel {
        return Err(ServiceError::BadRequest(format!(
            "channel: the body says {:?}, the path {channel:?}",
            body.channel
        )));
    }
    let result = BankCallback {
        channel: body.channel,
        reference: body.reference,
        status: body.status,
        amount: body.amount,
    };
    let (_, outcome) = payments.apply_result(&cx, result, "callback").await?;
    Ok(Json(outcome))
}
