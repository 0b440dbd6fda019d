//! The bank channels' HTTP API, as a payment service (or a drill) sees it.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;
use taishan_chaos::ChannelProfile;

use super::{Acceptance, BankChannels, StatementLine, StatementTamper, Transfer, TransferRequest};
use crate::error::{ApiJson, ServiceError};

/// `POST /channels/{c}/transfers`, `GET /channels/{c}/transfers/{ref}`,
/// `GET /channels/{c}/statement?from_ms=&to_ms=`, `POST /channels/{c}/statement/{ref}`
/// (tamper), `GET|PATCH /channels/{c}/faults`.
pub fn router(banks: Arc<BankChannels>) -> Router {
    Router::new()
        .route("/channels/{channel}/transfers", post(submit))
        .route("/channels/{channel}/transfers/{reference}", get(transfer))
        .route("/channels/{channel}/statement", get(statement))
        .route("/channels/{channel}/statement/{reference}", post(tamper))
        .route("/channels/{channel}/faults", get(faults).patch(set_faults))
        .with_state(banks)
}

async fn submit(
    State(banks): State<Arc<BankChannels>>,
    Path(channel): Path<String>,
    ApiJson(req): ApiJson<TransferRequest>,
) -> Result<(StatusCode, Json<Acceptance>), ServiceError> {
    let a = banks.submit(&channel, req).await?;
    Ok((StatusCode::ACCEPTED, Json(a)))
}

async fn transfer(
    State(banks): State<Arc<BankChannels>>,
    Path((channel, reference)): Path<(String, String)>,
) -> Result<Json<Transfer>, ServiceError> {
    Ok(Json(banks.transfer(&channel, &reference)?))
}

#[derive(Debug, Deserialize)]
struct Window {
    from_ms: i64,
    to_ms: i64,
}

async fn statement(
    State(banks): State<Arc<BankChannels>>,
    Path(channel): Path<String>,
    Query(w): Query<Window>,
) -> Result<Json<Vec<StatementLine>>, ServiceError> {
    Ok(Json(banks.statement(&channel, w.from_ms, w.to_ms)?))
}

async fn tamper(
    State(banks): State<Arc<BankChannels>>,
    Path((channel, reference)): Path<(String, String)>,
    ApiJson(change): ApiJson<StatementTamper>,
) -> Result<StatusCode, ServiceError> {
    banks.tamper(&channel, &reference, &change).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn faults(
    State(banks): State<Arc<BankChannels>>,
    Path(channel): Path<String>,
) -> Result<Json<ChannelProfile>, ServiceError> {
    Ok(Json(banks.profile(&channel)?))
}

/// Merges the given fields into the channel's behaviour (`{"error_rate": 0.9}`).
async fn set_faults(
    State(banks): State<Arc<BankChannels>>,
    Path(channel): Path<String>,
    ApiJson(patch): ApiJson<Value>,
) -> Result<Json<ChannelProfile>, ServiceError> {
    let Value::Object(patch) = patch else {
        return Err(ServiceError::BadRequest(
            "body: must be an object of the fields to change".into(),
        ));
    };
    let mut current = serde_json::to_value(banks.profile(&channel)?)
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
    if let Value::Object(fields) = &mut current {
        fields.extend(patch);
    }
    let profile: ChannelProfile = serde_json::from_value(current)
        .map_err(|e| ServiceError::BadRequest(format!("faults: {e}")))?;
    banks.set_profile(&channel, profile.clone())?;
    Ok(Json(profile))
}
