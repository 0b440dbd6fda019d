//! `/api/taishan/v1/cluster/state`: what replicas share (see [`crate::cluster`]). `GET`
//! answers this replica's whole state for a peer's pull; `POST` takes a peer's changes.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use super::ApiError;
use crate::service::Alerter;
use crate::state::StateEvent;

/// This replica's notification log, silences and acknowledgements.
pub async fn state(State(alerter): State<Arc<Alerter>>) -> Json<Vec<StateEvent>> {
    Json(alerter.state_snapshot())
}

/// A peer's changes; how many were new here.
pub async fn merge(
    State(alerter): State<Arc<Alerter>>,
    raw: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let events: Vec<StateEvent> = serde_json::from_slice(&raw)
        .map_err(|e| ApiError::bad_request(format!("the state changes: {e}")))?;
    let taken = alerter.merge_state(events);
    Ok(Json(json!({"status": "success", "data": {"taken": taken}})))
}
