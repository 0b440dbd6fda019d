//! The fault API, over the demo services' fault set:
//!
//! | endpoint | what |
//! |---|---|
//! | `GET /api/v1/chaos/faults` | the faults armed now, and the kinds there are |
//! | `POST /api/v1/chaos/faults` | arm one: `{"fault": {"kind": "error", ...}, "scope": {"service": "risk", "percent": 50}, "lease": "30s", "by": "who"}` |
//! | `POST /api/v1/chaos/faults/{id}/renew` | extend its lease: `{"lease": "30s"}` |
//! | `DELETE /api/v1/chaos/faults/{id}` | disarm it |
//! | `POST /api/v1/chaos/abort` | the kill switch: disarm every fault at once |
//!
//! A fault whose lease is not renewed reverts by itself when the lease runs out.

use std::time::Duration;

use super::{answer, error};
use crate::{FaultError, FaultSet, FaultSpec, Scope, FAULTS};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{delete, get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::json;

/// Longest lease the API grants: a forgotten fault reverts within this.
const MAX_LEASE: Duration = Duration::from_secs(3600);

/// The routes over `set`.
pub fn routes(set: FaultSet) -> Router {
    Router::new()
        .route("/api/v1/chaos/faults", get(list).post(arm))
        .route("/api/v1/chaos/faults/{id}/renew", post(renew))
        .route("/api/v1/chaos/faults/{id}", delete(disarm))
        .route("/api/v1/chaos/abort", post(abort))
        .with_state(set)
}

fn refuse(e: FaultError) -> Response {
    let status = match e {
        FaultError::Invalid(_) => StatusCode::BAD_REQUEST,
        FaultError::Unknown(_) => StatusCode::NOT_FOUND,
        FaultError::Limit(_) => StatusCode::CONFLICT,
    };
    error(status, e.to_string())
}

async fn list(State(set): State<FaultSet>) -> Response {
    let kinds: Vec<_> = FAULTS
        .iter()
        .map(|k| json!({"kind": k.name, "what": k.what}))
        .collect();
    answer(
        StatusCode::OK,
        json!({"faults": set.active(), "kinds": kinds}),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ArmBody {
    fault: FaultSpec,
    #[serde(default)]
    scope: Scope,
    #[serde(with = "humantime_serde")]
    lease: Duration,
    by: String,
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8], expected: &str) -> Result<T, FaultError> {
    serde_json::from_slice(body)
        .map_err(|e| FaultError::Invalid(format!("the body: {e}; expected {expected}")))
}

async fn arm(State(set): State<FaultSet>, body: axum::body::Bytes) -> Response {
    let expected = r#"{"fault": {"kind": ...}, "scope": {...}, "lease": "30s", "by": "who"}"#;
    let b: ArmBody = match parse(&body, expected) {
        Ok(b) => b,
        Err(e) => return refuse(e),
    };
    if b.by.trim().is_empty() {
        return refuse(FaultError::Invalid(
            "\"by\" must name who arms the fault".into(),
        ));
    }
    if b.lease > MAX_LEASE {
        return refuse(FaultError::Invalid(
            "the lease is at most 1h: renew it".into(),
        ));
    }
    match set.arm(b.fault, b.scope, b.lease, &b.by) {
        Ok(armed) => answer(StatusCode::CREATED, json!(armed)),
        Err(e) => refuse(e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RenewBody {
    #[serde(with = "humantime_serde")]
    lease: Duration,
}

async fn renew(
    State(set): State<FaultSet>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let b: RenewBody = match parse(&body, r#"{"lease": "30s"}"#) {
        Ok(b) => b,
        Err(e) => return refuse(e),
    };
    match set.renew(&id, b.lease.min(MAX_LEASE)) {
        Ok(()) => answer(StatusCode::OK, json!({"id": id})),
        Err(e) => refuse(e),
    }
}

async fn disarm(State(set): State<FaultSet>, Path(id): Path<String>) -> Response {
    match set.disarm(&id) {
        Ok(gone) => answer(StatusCode::OK, json!(gone)),
        Err(e) => refuse(e),
    }
}

async fn abort(State(set): State<FaultSet>) -> Response {
    answer(StatusCode::OK, json!({"disarmed": set.disarm_all()}))
}
