//! `GET /api/v1/analyzer/forecast?query=EXPR&horizon=6h[&step=5m][&history=7d]`: a seasonal
//! forecast with its 95% interval for each series of a query (see
//! `crate::forecast`).

use std::sync::Arc;
use std::time::Duration;

use crate::forecast::{seasonal_forecast, ForecastConfig};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use taishan_core::Clock;
use taishan_query::{Engine, QueryGate, QueryValue};

/// Most series one forecast request answers.
const MAX_SERIES: usize = 50;

/// What the route needs.
#[derive(Clone)]
pub struct ForecastState {
    pub engine: Engine,
    pub gate: QueryGate,
    pub clock: Arc<dyn Clock>,
}

/// The route.
pub fn routes(state: ForecastState) -> Router {
    Router::new()
        .route("/api/v1/analyzer/forecast", get(forecast))
        .with_state(state)
}

#[derive(serde::Deserialize)]
struct Params {
    query: Option<String>,
    horizon: Option<String>,
    step: Option<String>,
    history: Option<String>,
}

fn bad(message: String) -> Response {
    let body = json!({"status": "error", "errorType": "bad_data", "error": message});
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

fn duration(name: &str, text: Option<&str>, default: &str) -> Result<Duration, String> {
    let text = text.unwrap_or(default);
    taishan_core::duration::parse(text)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("{name}: not a positive duration: {text:?} (e.g. 6h)"))
}

async fn forecast(
    State(s): State<ForecastState>,
    headers: HeaderMap,
    Query(p): Query<Params>,
) -> Response {
    let tenant = match taishan_query::tenant(&headers) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let Some(query) = p.query.clone().filter(|q| !q.trim().is_empty()) else {
        return bad("query: required (a PromQL expression)".into());
    };
    let parsed = (|| {
        Ok::<_, String>((
            duration("horizon", p.horizon.as_deref(), "6h")?,
            duration("step", p.step.as_deref(), "5m")?,
            duration("history", p.history.as_deref(), "7d")?,
        ))
    })();
    let (horizon, step, history) = match parsed {
        Ok(v) => v,
        Err(e) => return bad(e),
    };
    if horizon.as_millis() / step.as_millis() > 2_000 {
        return bad("horizon/step: more than 2,000 points; lengthen the step".into());
    }
    let now = s.clock.now_ms();
    let (step_ms, start) = (step.as_millis() as i64, now - history.as_millis() as i64);
    let turn = match s.gate.enter(&tenant, s.engine.limits().timeout).await {
        Ok(turn) => turn,
        Err(busy) => return busy.into_response(),
    };
    let engine = s.engine.clone();
    let answer = tokio::task::spawn_blocking(move || {
        let _turn = turn;
        engine.range(&tenant, &query, start, now, step_ms)
    })
    .await;
    let series = match answer {
        Ok(Ok(out)) => match out.value {
            QueryValue::Matrix(m) => m,
            _ => return bad("query: must give an instant vector".into()),
        },
        Ok(Err(e)) => return bad(format!("query: {e}")),
        Err(e) => {
            let body = json!({"status": "error", "errorType": "internal", "error": e.to_string()});
            return (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response();
        }
    };
    if series.len() > MAX_SERIES {
        return bad(format!(
            "query: {} series; at most {MAX_SERIES} (aggregate them first)",
            series.len()
        ));
    }
    let mut data = Vec::new();
    for s in series {
        let points: Vec<(i64, f64)> = s
            .samples
            .iter()
            .map(|p| (p.timestamp_ms, p.value))
            .collect();
        let labels: std::collections::BTreeMap<String, String> = s
            .labels
            .iter()
            .map(|l| (l.name.to_string(), l.value.to_string()))
            .collect();
        match seasonal_forecast(&points, horizon.as_millis() as i64, step_ms, &ForecastConfig::default()) {
            Ok(f) => data.push(json!({
                "metric": labels,
                "forecast": f.iter().map(|p| json!([p.time as f64 / 1000.0, p.value, p.lower, p.upper])).collect::<Vec<_>>(),
            })),
            Err(e) => data.push(json!({"metric": labels, "error": e.to_string()})),
        }
    }
    Json(json!({"status": "success", "data": data})).into_response()
}
