//! `GET /api/taishan/v1/history`: the alert history, newest first, filtered by alert
//! (fingerprint or alertname), service, team, person, kind and time.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::ApiError;
use crate::history::{EventKind, HistoryQuery};
use crate::service::Alerter;
use crate::timefmt::parse_time;

/// The filters as the query string gives them.
#[derive(Debug, Deserialize)]
pub struct HistoryParams {
    alert: Option<String>,
    service: Option<String>,
    team: Option<String>,
    person: Option<String>,
    kind: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<usize>,
}

/// The rows.
pub async fn history(
    State(alerter): State<Arc<Alerter>>,
    Query(p): Query<HistoryParams>,
) -> Result<Json<Value>, ApiError> {
    let time = |name: &str, v: &Option<String>| -> Result<Option<i64>, ApiError> {
        v.as_ref()
            .map(|t| {
                parse_time(t).ok_or_else(|| {
                    ApiError::bad_request(format!("{name} {t:?} is not an RFC 3339 time"))
                })
            })
            .transpose()
    };
    let kind = p
        .kind
        .as_ref()
        .map(|k| {
            EventKind::parse(k).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "kind {k:?}: one of firing, resolved, notified, failed, paged, escalated, acknowledged, resolved_by_hand"
                ))
            })
        })
        .transpose()?;
    let limit = p.limit.unwrap_or(1000);
    if limit == 0 || limit > 100_000 {
        return Err(ApiError::bad_request(format!(
            "limit must be 1 to 100000, got {limit}"
        )));
    }
    let q = HistoryQuery {
        alert: p.alert,
        service: p.service,
        team: p.team,
        person: p.person,
        kind,
        since_ms: time("since", &p.since)?,
        until_ms: time("until", &p.until)?,
        limit,
    };
    let rows = tokio::task::spawn_blocking(move || alerter.history(&q))
        .await
        .map_err(|e| ApiError::internal(format!("reading the history: {e}")))?
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(Json(json!({"status": "success", "data": {"events": rows}})))
}
