//! `/api/v1/rules` and `/api/v1/alerts` in Prometheus's shapes, so Grafana's alert list and
//! `amtool`-style tooling read Taishan's rules as they read Prometheus's. Each tenant sees its
//! own groups (`X-Scope-OrgID`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};
use taishan_query::{success, tenant, ApiError};

use crate::alert::{Alert, AlertState};
use crate::file::RuleKind;
use crate::group::{Group, Rule};
use crate::manager::RuleManager;
use taishan_template::go_fmt::format_e_shortest;

/// The routes, over `manager`.
pub fn rules_routes(manager: Arc<RuleManager>) -> Router {
    Router::new()
        .route("/api/v1/rules", get(rules))
        .route("/api/v1/alerts", get(alerts))
        .with_state(manager)
}

/// RFC 3339 time of a millisecond timestamp; Prometheus's zero time when unset.
fn time(ms: i64) -> String {
    if ms <= 0 {
        return "0001-01-01T00:00:00Z".into();
    }
    let t = UNIX_EPOCH + Duration::from_millis(ms as u64);
    humantime::format_rfc3339_millis(t).to_string()
}

fn alert_json(a: &Alert) -> Value {
    json!({
        "labels": crate::labelset::to_map(&a.labels),
        "annotations": a.annotations,
        "state": a.state.as_str(),
        "activeAt": time(a.active_at_ms),
        "value": format_e_shortest(a.value),
    })
}

fn active(rule: &crate::alerting::AlertingRule) -> Vec<&Alert> {
    let mut v: Vec<&Alert> = rule
        .alerts()
        .filter(|a| a.state != AlertState::Inactive)
        .collect();
    v.sort_by(|a, b| a.labels.cmp(&b.labels));
    v
}

#[derive(Deserialize, Default)]
struct RulesParams {
    #[serde(rename = "type")]
    kind: Option<String>,
}

async fn rules(
    State(manager): State<Arc<RuleManager>>,
    headers: HeaderMap,
    Query(params): Query<RulesParams>,
) -> Result<Response, ApiError> {
    let tenant = tenant(&headers)?;
    let only = match params.kind.as_deref() {
        None | Some("") => None,
        Some("alert") => Some("alerting"),
        Some("record") => Some("recording"),
        Some(other) => {
            return Err(ApiError::bad_data(format!(
                "unsupported type {other:?}: use alert or record"
            )))
        }
    };
    let mut groups = Vec::new();
    for slot in manager.groups() {
        let view = slot.view();
        if view.tenant != tenant {
            continue;
        }
        let mut g = view.json.clone();
        if let (Some(kind), Some(rules)) = (only, g["rules"].as_array_mut()) {
            rules.retain(|r| r["type"] == kind);
        }
        groups.push(g);
    }
    Ok(success(json!({ "groups": groups })))
}

/// A group's `/api/v1/rules` entry, in Prometheus's shape.
pub(crate) fn group_json(g: &Group) -> Value {
    let mut rules = Vec::new();
    for (spec, rule, status) in g.rules() {
        let health = match (&status.last_error, status.last_eval_ms) {
            (Some(_), _) => "err",
            (None, 0) => "unknown",
            (None, _) => "ok",
        };
        let labels: BTreeMap<&str, &str> = spec
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.text.as_str()))
            .collect();
        let common = |mut v: Value| {
            v["name"] = json!(spec.name());
            v["query"] = json!(spec.expr);
            v["labels"] = json!(labels);
            v["health"] = json!(health);
            v["lastError"] = json!(status.last_error.clone().unwrap_or_default());
            v["evaluationTime"] = json!(status.eval_seconds);
            v["lastEvaluation"] = json!(time(status.last_eval_ms));
            v
        };
        match (rule, &spec.kind) {
            (
                Rule::Alerting(a),
                RuleKind::Alerting {
                    hold,
                    keep_firing_for,
                    annotations,
                    ..
                },
            ) => {
                let ann: BTreeMap<&str, &str> = annotations
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.text.as_str()))
                    .collect();
                rules.push(common(json!({
                    "type": "alerting",
                    "state": a.state().as_str(),
                    "duration": hold.as_secs_f64(),
                    "keepFiringFor": keep_firing_for.as_secs_f64(),
                    "annotations": ann,
                    "alerts": active(a).into_iter().map(alert_json).collect::<Vec<_>>(),
                })));
            }
            (Rule::Recording(_), _) => {
                rules.push(common(json!({ "type": "recording" })));
            }
            _ => {}
        }
    }
    let last = g.last_run();
    json!({
        "name": g.name,
        "file": g.file,
        "interval": g.interval.as_secs_f64(),
        "limit": g.limit,
        "rules": rules,
        "evaluationTime": last.map_or(0.0, |r| r.seconds),
        "lastEvaluation": time(last.map_or(0, |r| r.at_ms)),
    })
}

async fn alerts(
    State(manager): State<Arc<RuleManager>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let tenant = tenant(&headers)?;
    let mut out = Vec::new();
    for slot in manager.groups() {
        let view = slot.view();
        if view.tenant != tenant {
            continue;
        }
        for rule in view.json["rules"].as_array().into_iter().flatten() {
            out.extend(rule["alerts"].as_array().into_iter().flatten().cloned());
        }
    }
    Ok(success(json!({ "alerts": out })))
}
