//! `/api/v2/silences` and `/api/v2/silence/{id}`, in Alertmanager's shapes.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::ApiError;
use crate::matcher::{all_match, parse_matchers, MatchOp, Matcher};
use crate::service::Alerter;
use crate::silences::{new_silence_id, Silence, SilenceError, SilenceState};
use crate::timefmt::{api_time, parse_time};

/// A matcher as the API writes it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiMatcher {
    name: String,
    value: String,
    is_regex: bool,
    #[serde(default = "yes")]
    is_equal: bool,
}

fn yes() -> bool {
    true
}

/// A silence as posted.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostableSilence {
    #[serde(default)]
    id: String,
    matchers: Vec<ApiMatcher>,
    starts_at: String,
    ends_at: String,
    created_by: String,
    comment: String,
}

fn op(m: &ApiMatcher) -> MatchOp {
    match (m.is_regex, m.is_equal) {
        (false, true) => MatchOp::Equal,
        (false, false) => MatchOp::NotEqual,
        (true, true) => MatchOp::Regex,
        (true, false) => MatchOp::NotRegex,
    }
}

fn to_silence(p: PostableSilence) -> Result<Silence, ApiError> {
    let time = |field: &str, t: &str| {
        parse_time(t)
            .ok_or_else(|| ApiError::bad_request(format!("{field} {t:?} is not an RFC 3339 time")))
    };
    let matchers = p
        .matchers
        .iter()
        .map(|m| Matcher::new(&m.name, op(m), &m.value))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(Silence {
        id: p.id,
        matchers,
        starts_at_ms: time("startsAt", &p.starts_at)?,
        ends_at_ms: time("endsAt", &p.ends_at)?,
        updated_at_ms: 0,
        created_by: p.created_by,
        comment: p.comment,
    })
}

/// The silence as the API shows it (`gettableSilence`).
pub fn gettable(s: &Silence, now_ms: i64) -> Value {
    json!({
        "id": s.id,
        "status": {"state": s.state(now_ms)},
        "updatedAt": api_time(s.updated_at_ms),
        "comment": s.comment,
        "createdBy": s.created_by,
        "endsAt": api_time(s.ends_at_ms),
        "matchers": s.matchers.iter().map(|m| json!({
            "isEqual": !m.op.is_negative(),
            "isRegex": m.op.is_regex(),
            "name": m.name,
            "value": m.value,
        })).collect::<Vec<_>>(),
        "startsAt": api_time(s.starts_at_ms),
    })
}

impl From<SilenceError> for ApiError {
    fn from(e: SilenceError) -> Self {
        let status = match e {
            SilenceError::NotFound(_) => StatusCode::NOT_FOUND,
            SilenceError::Full(_) => StatusCode::SERVICE_UNAVAILABLE,
            SilenceError::Invalid(_) | SilenceError::AlreadyExpired(_) => StatusCode::BAD_REQUEST,
        };
        ApiError {
            status,
            retry_after_s: matches!(e, SilenceError::Full(_)).then_some(60),
            message: e.to_string(),
        }
    }
}

/// `POST /api/v2/silences`: creates or updates; `{"silenceID": ...}`.
pub async fn post(
    State(alerter): State<Arc<Alerter>>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let posted: PostableSilence = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("the body is not a silence: {e}")))?;
    let silence = to_silence(posted)?;
    let id = alerter.silence(silence, new_silence_id)?;
    Ok(Json(json!({"silenceID": id})))
}

/// `GET /api/v2/silences`: every silence, active first, filtered by `filter` matchers.
pub async fn list(
    State(alerter): State<Arc<Alerter>>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let mut filter: Vec<Matcher> = Vec::new();
    for (k, v) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if k == "filter" {
            filter.extend(
                parse_matchers(&v)
                    .map_err(|e| ApiError::bad_request(format!("filter {v:?}: {e}")))?,
            );
        }
    }
    let now = alerter.clock().now_ms();
    let mut silences = alerter.silences().list();
    silences.retain(|s| {
        // A silence matches a filter when its equality matchers, read as labels, satisfy it.
        let as_labels = s
            .matchers
            .iter()
            .map(|m| (m.name.clone(), m.value.clone()))
            .collect();
        all_match(&filter, &as_labels)
    });
    silences.sort_by_key(|s| {
        let state = s.state(now);
        let order = match state {
            SilenceState::Active => 0,
            SilenceState::Pending => 1,
            SilenceState::Expired => 2,
        };
        let key = if state == SilenceState::Pending {
            s.starts_at_ms
        } else {
            s.ends_at_ms
        };
        (
            order,
            if state == SilenceState::Expired {
                -key
            } else {
                key
            },
        )
    });
    Ok(Json(Value::Array(
        silences.iter().map(|s| gettable(s, now)).collect(),
    )))
}

/// `GET /api/v2/silence/{id}`.
pub async fn get_one(
    State(alerter): State<Arc<Alerter>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let s = alerter
        .silences()
        .get(&id)
        .ok_or(SilenceError::NotFound(id))?;
    Ok(Json(gettable(&s, alerter.clock().now_ms())))
}

/// `DELETE /api/v2/silence/{id}`: expires it.
pub async fn delete(
    State(alerter): State<Arc<Alerter>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    alerter.expire_silence(&id)?;
    Ok(StatusCode::OK.into_response())
}
