//! The ledger's HTTP API.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::book::{self, ReferenceFlow};
use super::{JournalEntry, Ledger, Posted};
use crate::error::{ApiJson, ServiceError};
use crate::telemetry::{TraceCx, TracedRoutes};

/// `POST /entries`, `GET /accounts`, `GET /accounts/{name}`, `GET /entries?reference=`,
/// `POST /flows`, `GET /references?from_ms=&to_ms=`, `GET /trial-balance`.
pub fn router(ledger: Arc<Ledger>) -> Router {
    let telemetry = ledger.telemetry.clone();
    Router::new()
        .route("/entries", post(post_entry).get(entries))
        .route("/accounts", get(accounts))
        .route("/accounts/{name}", get(account))
        .route("/flows", post(flows))
        .route("/references", get(references))
        .route("/trial-balance", get(trial_balance))
        .traced(telemetry)
        .with_state(ledger)
}

async fn post_entry(
    State(ledger): State<Arc<Ledger>>,
    Extension(TraceCx(cx)): Extension<TraceCx>,
    ApiJson(entry): ApiJson<JournalEntry>,
) -> Result<(StatusCode, Json<Posted>), ServiceError> {
    let posted = ledger.post(&cx, entry).await?;
    let status = match posted {
        Posted::Posted(_) => StatusCode::CREATED,
        Posted::AlreadyPosted(_) => StatusCode::OK,
    };
    Ok((status, Json(posted)))
}

async fn accounts(State(ledger): State<Arc<Ledger>>) -> Result<Json<Value>, ServiceError> {
    let all = ledger.db().read(book::balances)?;
    Ok(Json(json!({ "accounts": all })))
}

async fn account(
    State(ledger): State<Arc<Ledger>>,
    Path(name): Path<String>,
) -> Result<Json<book::AccountBalance>, ServiceError> {
    super::accounts::classify(&name)?;
    let all = ledger.db().read(book::balances)?;
    all.into_iter()
        .find(|a| a.name == name)
        .map(Json)
        .ok_or_else(|| ServiceError::NotFound(format!("account {name:?} has no entries")))
}

#[derive(Debug, Deserialize)]
struct ReferenceQuery {
    reference: String,
}

async fn entries(
    State(ledger): State<Arc<Ledger>>,
    Query(q): Query<ReferenceQuery>,
) -> Result<Json<Value>, ServiceError> {
    let found = ledger.db().read(|c| book::entries_for(c, &q.reference))?;
    Ok(Json(json!({ "entries": found })))
}

/// The most references one `/flows` call may ask about.
const MAX_REFERENCES: usize = 10_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FlowsRequest {
    references: Vec<String>,
}

async fn flows(
    State(ledger): State<Arc<Ledger>>,
    Extension(TraceCx(cx)): Extension<TraceCx>,
    ApiJson(req): ApiJson<FlowsRequest>,
) -> Result<Json<BTreeMap<String, ReferenceFlow>>, ServiceError> {
    if req.references.len() > MAX_REFERENCES {
        return Err(ServiceError::BadRequest(format!(
            "references: at most {MAX_REFERENCES} per request, got {}",
            req.references.len()
        )));
    }
    let found = ledger
        .db()
        .run(ledger.telemetry(), &cx, "read flows", move |c| {
            book::flows_for(c, &req.references)
        })
        .await?;
    Ok(Json(found.into_iter().collect()))
}

#[derive(Debug, Deserialize)]
struct WindowQuery {
    from_ms: i64,
    to_ms: i64,
}

async fn references(
    State(ledger): State<Arc<Ledger>>,
    Query(q): Query<WindowQuery>,
) -> Result<Json<Vec<String>>, ServiceError> {
    if q.from_ms > q.to_ms {
        return Err(ServiceError::BadRequest(
            "from_ms: must not be after to_ms".into(),
        ));
    }
    Ok(Json(ledger.db().read(|c| {
        book::references_posted(c, q.from_ms, q.to_ms)
    })?))
}

async fn trial_balance(
    State(ledger): State<Arc<Ledger>>,
) -> Result<Json<book::TrialBalance>, ServiceError> {
    Ok(Json(ledger.trial_balance()?))
}
