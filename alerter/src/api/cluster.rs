//! `/api/taishan/v1/cluster/state`: what replicas share (see [`crate::cluster`]). `GET`
//! answers this replica's whole state for a peer's pull; `POST` takes a peer's changes.
//! Served only on a replica with peers, and only to a caller holding the peers' secret
//! (the edge lets the route through: peers carry no user credential of their own).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::Json;
use serde_json::{json, Value};

use super::ApiError;
use crate::service::Alerter;
use crate::state::StateEvent;

/// 401 unless the request carries the peers' secret.
fn peer_only(alerter: &Alerter, headers: &HeaderMap) -> Result<(), ApiError> {
    let authorization = headers.get(header::AUTHORIZATION).map(|v| v.as_bytes());
    match alerter.is_peer(authorization) {
        true => Ok(()),
        false => Err(ApiError::unauthorized(
            "the cluster route is for this alerter's peers: send the shared peer secret",
        )),
    }
}

/// This replica's notification log, silences and acknowledgements.
pub async fn state(
    State(alerter): State<Arc<Alerter>>,
    headers: HeaderMap,
) -> Result<Json<Vec<StateEvent>>, ApiError> {
    peer_only(&alerter, &headers)?;
    Ok(Json(alerter.state_snapshot()))
}

/// A peer's changes; how many were new here (changes that fail the checks a posted change
/// passes are left out and counted).
pub async fn merge(
    State(alerter): State<Arc<Alerter>>,
    headers: HeaderMap,
    raw: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    peer_only(&alerter, &headers)?;
    let events: Vec<StateEvent> = serde_json::from_slice(&raw)
        .map_err(|e| ApiError::bad_request(format!("the state changes: {e}")))?;
    let merged = alerter.merge_state(events);
    Ok(Json(
        json!({"status": "success", "data": {"taken": merged.taken, "refused": merged.refused}}),
    ))
}
