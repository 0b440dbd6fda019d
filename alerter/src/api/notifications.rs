//! `GET /api/taishan/v1/notifications`: every delivery attempt kept (time, receiver,
//! integration, group, status, error, duration), newest first, for the person asking why a
//! page did or did not arrive. Taishan's own path beside Alertmanager's API.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::ApiError;
use crate::service::Alerter;

/// The filters.
#[derive(Debug, Deserialize)]
pub struct AttemptQuery {
    /// Only this receiver's attempts.
    receiver: Option<String>,
    /// Only failed attempts.
    #[serde(default)]
    failed: bool,
    /// At most this many (default 100, at most 10,000).
    limit: Option<usize>,
}

/// The attempts, newest first.
pub async fn attempts(
    State(alerter): State<Arc<Alerter>>,
    Query(q): Query<AttemptQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if limit == 0 || limit > 10_000 {
        return Err(ApiError::bad_request(format!(
            "limit must be 1 to 10000, got {limit}"
        )));
    }
    let mut all = alerter.log().attempts();
    all.reverse();
    let kept: Vec<_> = all
        .into_iter()
        .filter(|a| q.receiver.as_ref().is_none_or(|r| &a.receiver == r))
        .filter(|a| !q.failed || a.error.is_some())
        .take(limit)
        .collect();
    Ok(Json(
        json!({"status": "success", "data": {"attempts": kept}}),
    ))
}
