//! `GET /api/v1/analyzer/rca?alertname=NAME[&at=TIME]`: the likely root causes of an alert,
//! ranked over the service graph (see `crate::rca`).

use std::sync::Arc;

use crate::rca::{collect, rank_for, Ranked, Window};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use taishan_core::{Clock, TenantId};
use taishan_query::{Engine, QueryGate, QueryValue};
use taishan_rules::RuleManager;

use super::rca_subject::{labels_of_alert, Subject};

/// What the route needs.
#[derive(Clone)]
pub struct RcaState {
    pub engine: Engine,
    pub gate: QueryGate,
    pub rules: Arc<RuleManager>,
    pub clock: Arc<dyn Clock>,
}

/// The route.
pub fn routes(state: RcaState) -> Router {
    Router::new()
        .route("/api/v1/analyzer/rca", get(rca))
        .with_state(state)
}

#[derive(serde::Deserialize)]
struct Params {
    alertname: Option<String>,
    /// When the incident began: RFC 3339 or Unix seconds; default: the alert's activeAt.
    at: Option<String>,
}

fn error(status: StatusCode, message: String) -> Response {
    let body = json!({"status": "error", "errorType": "bad_data", "error": message});
    (status, Json(body)).into_response()
}

async fn rca(State(s): State<RcaState>, headers: HeaderMap, Query(p): Query<Params>) -> Response {
    let now = s.clock.now_ms();
    let tenant = match taishan_query::tenant(&headers) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    // The rules evaluate the default tenant: another tenant's incident is found by `at`.
    let alert = p
        .alertname
        .as_deref()
        .filter(|_| tenant == TenantId::default_tenant())
        .and_then(|n| find_alert(&s.rules, n));
    let at_ms = match (&p.at, &alert) {
        (Some(text), _) => match parse_time(text) {
            Some(t) => t,
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("at: not RFC 3339 or Unix seconds: {text:?}"),
                )
            }
        },
        (None, Some(a)) => a.1,
        (None, None) => {
            let which = p.alertname.as_deref().unwrap_or("");
            return error(
                StatusCode::NOT_FOUND,
                format!("no active alert named {which:?}; give `at` to look at another time"),
            );
        }
    };
    let window = Window::around(at_ms, (at_ms + 60_000).min(now));
    let turn = match s.gate.enter(&tenant, s.engine.limits().timeout).await {
        Ok(turn) => turn,
        Err(busy) => return busy.into_response(),
    };
    let engine = s.engine.clone();
    let name = p.alertname.clone().unwrap_or_default();
    let rules = s.rules.clone();
    let found = tokio::task::spawn_blocking(move || {
        let _turn = turn;
        let labels = labels_of_alert(&engine, &tenant, &name, window.end_ms);
        let subject = Subject::of_alert(&rules, labels);
        rank_in(&engine, &tenant, &window, &subject)
    })
    .await;
    match found {
        Ok(Ok(Found {
            focus,
            ranking,
            edges,
            problems,
        })) => Json(json!({
            "status": "success",
            "data": {
                "alert": alert.map(|a| a.0),
                "at": at_ms as f64 / 1000.0,
                "window": {"start": window.start_ms as f64 / 1000.0, "split": window.split_ms as f64 / 1000.0, "end": window.end_ms as f64 / 1000.0},
                "focus": focus,
                "ranking": ranking.into_iter().take(10).collect::<Vec<_>>(),
                "edges": edges,
                "problems": problems,
            }
        }))
        .into_response(),
        Ok(Err(e)) => error(StatusCode::UNPROCESSABLE_ENTITY, e),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// A ranking with what it was drawn from.
pub struct Found {
    /// The services the alert is about (suspects off their call paths are discounted).
    pub focus: Vec<String>,
    pub ranking: Vec<Ranked>,
    pub edges: Vec<(String, String)>,
    /// Queries that failed (the ranking is drawn without them).
    pub problems: Vec<String>,
}

/// The likely root causes within `window` of an alert about `subject`, from the query
/// engine (blocking: it runs the window's range queries).
pub fn rank_in(
    engine: &Engine,
    tenant: &TenantId,
    window: &Window,
    subject: &Subject,
) -> Result<Found, String> {
    let (scene, problems) = collect(window, &mut |query| {
        let out = engine
            .range(
                tenant,
                query,
                window.start_ms,
                window.end_ms,
                window.step_ms,
            )
            .map_err(|e| e.to_string())?;
        match out.value {
            QueryValue::Matrix(series) => Ok(series
                .into_iter()
                .map(|s| {
                    let points = s
                        .samples
                        .iter()
                        .map(|p| (p.timestamp_ms, p.value))
                        .collect();
                    (s.labels, points)
                })
                .collect()),
            _ => Err("not a range answer".into()),
        }
    })?;
    let focus = subject.focus_in(&scene);
    Ok(Found {
        ranking: rank_for(&scene, &focus),
        focus,
        edges: scene.edges,
        problems,
    })
}

/// The earliest active alert named `name`: its JSON and its activeAt (ms).
fn find_alert(rules: &RuleManager, name: &str) -> Option<(Value, i64)> {
    let mut best: Option<(Value, i64)> = None;
    for slot in rules.groups() {
        let view = slot.view();
        for rule in view.json["rules"].as_array().into_iter().flatten() {
            for a in rule["alerts"].as_array().into_iter().flatten() {
                if a["labels"]["alertname"] != name {
                    continue;
                }
                let Some(at) = a["activeAt"].as_str().and_then(parse_time) else {
                    continue;
                };
                if best.as_ref().is_none_or(|b| at < b.1) {
                    best = Some((a.clone(), at));
                }
            }
        }
    }
    best
}

fn parse_time(text: &str) -> Option<i64> {
    if let Ok(seconds) = text.parse::<f64>() {
        return seconds.is_finite().then_some((seconds * 1000.0) as i64);
    }
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp_millis())
}
